import CSkiffSystem

/// Process-wide tuning of glibc's allocator for Skiff's buffers.
package enum MemoryAllocator {
    /// By default glibc serves allocations over 128 KiB (and, once freed, up to 32 MiB) with
    /// fresh mmap(2) regions that fault in page by page: every ~1 MiB object encoded then
    /// paid about 30% more than the crypto and compression it holds (measured with
    /// Tools/microbench). Serving them from the heap reuses warm memory.
    /// Executables call this once at start.
    package static func configureForLargeBuffers() {
        skiff_tune_allocator(64 << 20, 128 << 20)
    }

    /// Hands free heap memory back to the system, for long-running processes after a burst.
    package static func releaseFreeMemory() {
        skiff_release_free_memory()
    }
}
