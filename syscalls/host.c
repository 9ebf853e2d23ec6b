/*
 * The raw host syscall behind every PASS call. glibc's syscall(3) would turn the result into -1/errno and
 * lose results that are legitimately negative; guest and host share the x86-64 ABI, so the registers go
 * to the kernel exactly as the guest set them.
 */
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "syscalls/syscalls.h"

long syscall_host(long nr, const long args[6])
{
    register long r10 __asm__("r10") = args[3];
    register long r8 __asm__("r8") = args[4];
    register long r9 __asm__("r9") = args[5];
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(args[0]), "S"(args[1]), "d"(args[2]), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

size_t syscall_peek(void *dst, uint64_t addr, size_t len)
{
    if (len == 0)
        return 0;
    struct iovec local = { dst, len };
    struct iovec remote = { (void *)(uintptr_t)addr, len };
    long args[6] = { getpid(), (long)&local, 1, (long)&remote, 1, 0 };
    long got = syscall_host(SYS_process_vm_readv, args);
    return got > 0 ? (size_t)got : 0;
}
