/*
 * The guest's view of /proc/self: exe, maps, auxv, cmdline show the guest program, not ember.
 */
#ifndef EMBER_LINUX_PROC_H
#define EMBER_LINUX_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Returned when the path is not one we emulate: the caller passes the call to the host. */
#define LINUX_PROC_NOT_OURS (-0x10001)

/* open/openat of a path (dirfd already resolved when absolute): an fd, -errno, or LINUX_PROC_NOT_OURS. */
int linux_proc_open(int dirfd, const char *path, int flags, mode_t mode);
/* readlink/readlinkat: the length written, -errno, or LINUX_PROC_NOT_OURS. */
long linux_proc_readlink(int dirfd, const char *path, char *buf, size_t size);

#endif
