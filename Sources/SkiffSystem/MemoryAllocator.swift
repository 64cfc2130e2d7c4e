import CSkiffSystem

/// Process-wide tuning of glibc's allocator for Skiff's buffers.
package enum MemoryAllocator {
    /// By default glibc serves allocations over 128 KiB (and, once freed, up to 32 MiB) with
    /// fresh mmap(2) regions that fault in page by page: every ~1 MiB object encoded then
    /// paid about 30% more than the crypto and compression it holds (measured with
    /// Tools/microbench). Serving everything up to 6 MiB (above the largest object) from the
    /// heap reuses warm memory; larger buffers (read windows) still get their own mappings,
    /// returned when freed, so they cannot fragment the heap; free heap beyond 8 MiB is
    /// returned; and four arenas (instead of eight per core) keep peak memory low.
    /// Executables call this once at start.
    package static func configureForLargeBuffers() {
        skiff_tune_allocator(6 << 20, 8 << 20, 4)
    }

    /// Hands free heap memory back to the system, for long-running processes after a burst.
    package static func releaseFreeMemory() {
        skiff_release_free_memory()
    }
}
