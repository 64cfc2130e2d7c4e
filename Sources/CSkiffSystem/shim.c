#define _GNU_SOURCE
#include "CSkiffSystem.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/fs.h>
#include <malloc.h>

int skiff_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE);
}

int skiff_syncfs(int fd) { return syncfs(fd); }

int skiff_open_tmpfile(const char *directory, mode_t mode) {
    return open(directory, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
}

int skiff_link_tmpfile(int fd, const char *path) {
    char source[64];
    snprintf(source, sizeof source, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, source, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

ssize_t skiff_llistxattr(const char *path, char *list, size_t size) { return llistxattr(path, list, size); }

ssize_t skiff_lgetxattr(const char *path, const char *name, void *value, size_t size) {
    return lgetxattr(path, name, value, size);
}

int skiff_lsetxattr(const char *path, const char *name, const void *value, size_t size) {
    return lsetxattr(path, name, value, size, 0);
}

int skiff_lremovexattr(const char *path, const char *name) { return lremovexattr(path, name); }

int skiff_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}

off_t skiff_seek_data(int fd, off_t offset) { return lseek(fd, offset, SEEK_DATA); }
off_t skiff_seek_hole(int fd, off_t offset) { return lseek(fd, offset, SEEK_HOLE); }

int skiff_punch_hole(int fd, off_t offset, off_t length) {
    return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
}

int skiff_o_noatime(void) { return O_NOATIME; }
long skiff_utime_omit(void) { return UTIME_OMIT; }

void skiff_tune_allocator(int mmap_threshold, int trim_threshold, int arenas) {
    mallopt(M_MMAP_THRESHOLD, mmap_threshold);
    mallopt(M_TRIM_THRESHOLD, trim_threshold);
    mallopt(M_ARENA_MAX, arenas);
}

void skiff_release_free_memory(void) { malloc_trim(0); }

uint64_t skiff_makedev(unsigned int major, unsigned int minor) { return makedev(major, minor); }
unsigned int skiff_major(uint64_t dev) { return major(dev); }
unsigned int skiff_minor(uint64_t dev) { return minor(dev); }
