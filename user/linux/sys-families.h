/*
 * The syscall families: each file registers its handlers with linux_syscall_register from one function,
 * which linux_syscalls_init calls once at start-up.
 */
#ifndef EMBER_LINUX_SYS_FAMILIES_H
#define EMBER_LINUX_SYS_FAMILIES_H

#include "core/target-x86/cpu.h"

void linux_sys_files_register(void);     /* sys-files.c: paths that may name /proc/self */
void linux_sys_mem_register(void);       /* sys-mem.c: mmap, brk, mprotect... */
void linux_sys_mem_fork_lock(bool lock);  /* sys-mem.c: around a host fork (sys-thread.c) */
void linux_sys_signal_register(void);    /* sys-signal.c: rt_sigaction, sigreturn... */
void linux_sys_thread_register(void);    /* sys-thread.c: clone, exit, arch_prctl, execve... */
void linux_sys_proc_register(void);      /* sys-proc.c: processes */

/* Runs a syscall on the host with the guest's arguments, as the dispatcher does for PASS calls:
   if it fails with -EFAULT because an argument points into a page that holds translated code (and is
   write-protected for it), the page is released and the call retried once. */
long linux_syscall_pass(long nr, const long args[6]);

#endif
