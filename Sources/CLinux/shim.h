// Linux system calls that Swift's Glibc module leaves out, because glibc declares them only
// under _GNU_SOURCE, which that module is built without, or as variadic functions, which Swift
// cannot call.
#ifndef LAUNCH_WORKER_CLINUX_SHIM_H
#define LAUNCH_WORKER_CLINUX_SHIM_H

#include <sys/prctl.h>
#include <sys/types.h>

// Writes every dirty page and inode of the file system holding `fd` to disk (glibc 2.14+).
extern int syncfs(int fd);

// Fills `buffer` with `length` random bytes from the kernel's generator (glibc 2.25+); at most
// 256 bytes are always filled whole once the generator is seeded.
extern ssize_t getrandom(void *buffer, size_t length, unsigned int flags);

// Makes a pipe whose ends have `flags` (O_CLOEXEC) from the start (glibc 2.9+).
extern int pipe2(int fds[2], int flags);

// Asks the kernel to send `signal` to this process once the thread that started it ends
// (prctl(PR_SET_PDEATHSIG)); 0 on success, -1 with errno set otherwise.
static inline int clinux_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}

// Names the calling thread, as `ps -L`, `top -H` and profilers show it (prctl(PR_SET_NAME));
// Linux keeps the first 15 bytes. Foundation's `Thread.name` does not reach the OS thread.
static inline void clinux_name_this_thread(const char *name) {
    prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL);
}

#endif
