// Linux system calls that Swift's Glibc module leaves out, because glibc declares them only
// under _GNU_SOURCE, which that module is built without.
#ifndef LAUNCH_WORKER_CLINUX_SHIM_H
#define LAUNCH_WORKER_CLINUX_SHIM_H

// Writes every dirty page and inode of the file system holding `fd` to disk (glibc 2.14+).
extern int syncfs(int fd);

#endif
