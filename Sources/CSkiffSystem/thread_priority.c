#define _GNU_SOURCE
#include "CSkiffSystem.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Threads keep the priority the process was given.

   libdispatch, which runs Swift concurrency's global executor on Linux, gives every worker
   thread it starts the nice value of its queue's QoS class: setpriority(PRIO_PROCESS, 0, n)
   with n = 10 background, 2 utility, 0 default, -2 user-initiated, and -4 for its manager
   thread, which it starts in every process with a timer or signal source
   (swift-corelibs-libdispatch: _dispatch_worker_thread in src/queue.c, _dispatch_pp_to_nice
   in src/shims/priority.h). Under systemd that call
   - is killed with SIGSYS where the unit denies @resources (the site, backup and audit units);
   - fails with EACCES wherever it would raise the priority without CAP_SYS_NICE (the manager
     thread's -4 in every unit, every default worker's 0 under Nice=10), and libdispatch then
     logs "Failed to set thread priority for worker thread ... errno=13" for each thread;
   - and where it succeeds (root in a shell) it undoes `nice`: the work runs at 0 or -4.
   Skiff does not use QoS classes for scheduling, so it opts out: this definition takes the
   place of the C library's for the whole process (the executable's symbols come first in the
   dynamic linker's search, ahead of libc's), and a thread's request for itself (who == 0, how
   libdispatch asks) leaves the thread as it is and reports success, without a system call.
   Requests naming a thread or process (who != 0), as skiff_lower_priority makes, go to the
   kernel. glibc's own nice() calls the kernel directly and is not affected. */
int setpriority(__priority_which_t which, id_t who, int prio) {
    if (which == PRIO_PROCESS && who == 0) return 0;
    return (int)syscall(SYS_setpriority, (int)which, who, prio);
}

static int set_io_priority(pid_t tid, int io_class, int level) {
    /* IOPRIO_WHO_PROCESS = 1 (a thread id); priority = class << 13 | level (linux/ioprio.h). */
    return (int)syscall(SYS_ioprio_set, 1, tid, (io_class << 13) | (io_class == 2 ? level : 0));
}

int skiff_lower_priority(int nice, int io_class, int level) {
    /* Both priorities belong to a thread and are inherited by the threads it starts: apply them
       to every thread there is, and go over the list again until a pass finds no new thread
       (one started meanwhile by a thread not yet changed kept the old values). */
    int failure = 0;
    pid_t done[512];
    size_t count = 0;
    for (int pass = 0; pass < 8; pass++) {
        DIR *tasks = opendir("/proc/self/task");
        if (tasks == NULL) return -1;
        int found_new = 0;
        struct dirent *entry;
        while ((entry = readdir(tasks)) != NULL) {
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
            pid_t tid = (pid_t)atoi(entry->d_name);
            int seen = 0;
            for (size_t i = 0; i < count; i++) {
                if (done[i] == tid) { seen = 1; break; }
            }
            if (seen) continue;
            found_new = 1;
            if (count < sizeof done / sizeof done[0]) done[count++] = tid;
            errno = 0;
            int current = getpriority(PRIO_PROCESS, (id_t)tid);
            if (errno == ESRCH) continue; /* the thread ended meanwhile */
            if (errno == 0 && current < nice && syscall(SYS_setpriority, PRIO_PROCESS, tid, nice) != 0 && errno != ESRCH) failure = errno;
            if (io_class > 0 && set_io_priority(tid, io_class, level) != 0 && errno != ESRCH) failure = errno;
        }
        closedir(tasks);
        if (!found_new) break;
    }
    if (failure != 0) {
        errno = failure;
        return -1;
    }
    return 0;
}
