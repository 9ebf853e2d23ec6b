/*
 * File syscalls that take a path which may name the guest's /proc/self (or /proc/<our pid>, thread-self):
 * proc.c answers for the files it emulates (exe, maps, auxv, cmdline...); everything else, and every other
 * path, goes to the host unchanged.
 *
 * Only absolute paths under /proc/ are offered to proc.c: relative ones would cost a dirfd or cwd lookup
 * on every open of every program, for the rare guest that chdirs into /proc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>

#include "syscalls/syscalls.h"
#include "user/linux/proc.h"
#include "user/linux/sys-families.h"
#include "user/linux/syscall.h"

/*
 * Copies the guest's path if it is an absolute /proc/ path (guest memory is read through syscall_peek, so
 * a bad pointer is left for the host call to answer with -EFAULT). Returns false for every other path.
 */
static bool proc_path(long addr, char path[PATH_MAX])
{
    static const char prefix[] = "/proc/";
    if (syscall_peek(path, (uint64_t)addr, sizeof prefix - 1) != sizeof prefix - 1 ||
        memcmp(path, prefix, sizeof prefix - 1) != 0)
        return false;
    size_t got = sizeof prefix - 1;
    while (got < PATH_MAX) {
        size_t chunk = 4096 - (((uint64_t)addr + got) & 4095);
        if (chunk > PATH_MAX - got)
            chunk = PATH_MAX - got;
        size_t n = syscall_peek(path + got, (uint64_t)addr + got, chunk);
        if (memchr(path + got, 0, n))
            return true;
        got += n;
        if (n < chunk)
            return false;
    }
    return false;                        /* longer than PATH_MAX: the host says ENAMETOOLONG */
}

static long open_common(long nr, int dirfd, const long args[6], int path_arg, int flags, mode_t mode)
{
    char path[PATH_MAX];
    if (proc_path(args[path_arg], path)) {
        int fd = linux_proc_open(dirfd, path, flags, mode);
        if (fd != LINUX_PROC_NOT_OURS)
            return fd;
    }
    return linux_syscall_pass(nr, args);
}

static long sys_open(CPUX86State *env, const long a[6])
{
    (void)env;
    return open_common(SYS_open, AT_FDCWD, a, 0, (int)a[1], (mode_t)a[2]);
}

static long sys_openat(CPUX86State *env, const long a[6])
{
    (void)env;
    return open_common(SYS_openat, (int)a[0], a, 1, (int)a[2], (mode_t)a[3]);
}

/* openat2's resolve flags are not applied to the emulated files: they are not links or mount points. */
static long sys_openat2(CPUX86State *env, const long a[6])
{
    (void)env;
    struct open_how how;
    if ((size_t)a[3] < sizeof how || syscall_peek(&how, (uint64_t)a[2], sizeof how) != sizeof how)
        return linux_syscall_pass(SYS_openat2, a);
    return open_common(SYS_openat2, (int)a[0], a, 1, (int)how.flags, (mode_t)how.mode);
}

static long readlink_common(long nr, int dirfd, const long args[6], int path_arg)
{
    char path[PATH_MAX];
    if (proc_path(args[path_arg], path)) {
        long n = linux_proc_readlink(dirfd, path, (char *)args[path_arg + 1], (size_t)args[path_arg + 2]);
        if (n != LINUX_PROC_NOT_OURS)
            return n;
    }
    return linux_syscall_pass(nr, args);
}

static long sys_readlink(CPUX86State *env, const long a[6])
{
    (void)env;
    return readlink_common(SYS_readlink, AT_FDCWD, a, 0);
}

static long sys_readlinkat(CPUX86State *env, const long a[6])
{
    (void)env;
    return readlink_common(SYS_readlinkat, (int)a[0], a, 1);
}

/*
 * stat and access follow links: when the path is a link proc.c emulates (/proc/self/exe), they look at
 * its target (the guest program) instead of the host's link (ember). `follow` is false for the
 * AT_SYMLINK_NOFOLLOW forms, which see the link itself either way.
 */
static long follow_common(long nr, int dirfd, long args[6], int path_arg, bool follow)
{
    char path[PATH_MAX], target[PATH_MAX];
    if (follow && proc_path(args[path_arg], path)) {
        long n = linux_proc_readlink(dirfd, path, target, sizeof target - 1);
        if (n >= 0) {
            target[n] = 0;
            args[path_arg] = (long)target;
            return linux_syscall_pass(nr, args);
        }
    }
    return linux_syscall_pass(nr, args);
}

static long sys_stat(CPUX86State *env, const long a[6])
{
    (void)env;
    long args[6] = { a[0], a[1], a[2], a[3], a[4], a[5] };
    return follow_common(SYS_stat, AT_FDCWD, args, 0, true);
}

static long sys_newfstatat(CPUX86State *env, const long a[6])
{
    (void)env;
    long args[6] = { a[0], a[1], a[2], a[3], a[4], a[5] };
    return follow_common(SYS_newfstatat, (int)a[0], args, 1, !(a[3] & AT_SYMLINK_NOFOLLOW));
}

static long sys_statx(CPUX86State *env, const long a[6])
{
    (void)env;
    long args[6] = { a[0], a[1], a[2], a[3], a[4], a[5] };
    return follow_common(SYS_statx, (int)a[0], args, 1, !(a[2] & AT_SYMLINK_NOFOLLOW));
}

static long sys_access(CPUX86State *env, const long a[6])
{
    (void)env;
    long args[6] = { a[0], a[1], a[2], a[3], a[4], a[5] };
    return follow_common(SYS_access, AT_FDCWD, args, 0, true);
}

static long sys_faccessat(CPUX86State *env, const long a[6])
{
    (void)env;
    long args[6] = { a[0], a[1], a[2], a[3], a[4], a[5] };
    return follow_common(SYS_faccessat, (int)a[0], args, 1, true);
}

static long sys_faccessat2(CPUX86State *env, const long a[6])
{
    (void)env;
    long args[6] = { a[0], a[1], a[2], a[3], a[4], a[5] };
    return follow_common(SYS_faccessat2, (int)a[0], args, 1, !(a[3] & AT_SYMLINK_NOFOLLOW));
}

void linux_sys_files_register(void)
{
    linux_syscall_register(SYS_open, sys_open);
    linux_syscall_register(SYS_openat, sys_openat);
    linux_syscall_register(SYS_openat2, sys_openat2);
    linux_syscall_register(SYS_readlink, sys_readlink);
    linux_syscall_register(SYS_readlinkat, sys_readlinkat);
    linux_syscall_register(SYS_stat, sys_stat);
    linux_syscall_register(SYS_newfstatat, sys_newfstatat);
    linux_syscall_register(SYS_statx, sys_statx);
    linux_syscall_register(SYS_access, sys_access);
    linux_syscall_register(SYS_faccessat, sys_faccessat);
    linux_syscall_register(SYS_faccessat2, sys_faccessat2);
}
