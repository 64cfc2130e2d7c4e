#ifndef SKIFF_CSKIFFSYSTEM_H
#define SKIFF_CSKIFFSYSTEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Linux calls and constants that Swift's Glibc module does not import (they sit behind
   _GNU_SOURCE). Each returns what the underlying call returns and leaves errno set. */

/// renameat2(..., RENAME_NOREPLACE): atomic rename that fails with EEXIST instead of replacing.
int skiff_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
int skiff_syncfs(int fd);
/// open(directory, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode): an unnamed file on the
/// directory's filesystem, which vanishes unless linked into place.
int skiff_open_tmpfile(const char *directory, mode_t mode);
/// Gives the unnamed file `fd` the name `path` (linkat through /proc/self/fd), failing with
/// EEXIST rather than replacing an existing file.
int skiff_link_tmpfile(int fd, const char *path);
ssize_t skiff_llistxattr(const char *path, char *list, size_t size);
ssize_t skiff_lgetxattr(const char *path, const char *name, void *value, size_t size);
int skiff_lsetxattr(const char *path, const char *name, const void *value, size_t size);
int skiff_lremovexattr(const char *path, const char *name);
int skiff_fsetxattr(int fd, const char *name, const void *value, size_t size);
/// lseek with SEEK_DATA / SEEK_HOLE.
off_t skiff_seek_data(int fd, off_t offset);
off_t skiff_seek_hole(int fd, off_t offset);
/// Deallocates a range inside a file, keeping its size (FALLOC_FL_PUNCH_HOLE | KEEP_SIZE).
int skiff_punch_hole(int fd, off_t offset, off_t length);
int skiff_o_noatime(void);
long skiff_utime_omit(void);
/// Serves allocations up to `mmap_threshold` bytes from the heap (reused without page
/// faults), keeps up to `trim_threshold` free bytes before returning memory to the system,
/// and uses at most `arenas` malloc arenas.
void skiff_tune_allocator(int mmap_threshold, int trim_threshold, int arenas);
/// Returns free heap memory to the system (malloc_trim).
void skiff_release_free_memory(void);
uint64_t skiff_makedev(unsigned int major, unsigned int minor);
unsigned int skiff_major(uint64_t dev);
unsigned int skiff_minor(uint64_t dev);
/// Lowers the priority of every thread of this process, and so of the threads they start: the
/// nice value to at least `nice` (a thread already nicer keeps its value), and, when `io_class`
/// is not 0, the I/O scheduling class (1 realtime, 2 best-effort, 3 idle; `IOPriorityClass` in
/// SkiffSystem names them) and level (0-7, best-effort only), as renice(1) and ionice(1) do for
/// a process. Returns 0, or -1 with errno of the last failure. setpriority() on the calling thread itself (who == 0) does nothing in
/// this process: see thread_priority.c.
int skiff_lower_priority(int nice, int io_class, int level);

#endif
