/*
 * System-call dispatch for user mode. syscalls/table.def lists every x86-64 syscall once (number, name,
 * argument kinds, and whether the host can run it as is). Calls the host can run as is (guest addresses are
 * host addresses) go straight to the host; the others are emulated by handlers that their family's file
 * registers at start-up (memory, signals, threads and processes, /proc).
 */
#ifndef EMBER_LINUX_SYSCALL_H
#define EMBER_LINUX_SYSCALL_H

#include <stdbool.h>

#include "core/target-x86/cpu.h"

/* A handler gets the six argument registers (rdi, rsi, rdx, r10, r8, r9) and returns the result or -errno. */
typedef long (*LinuxSyscallFn)(CPUX86State *env, const long args[6]);

/* Returned by a handler that has set the whole register state itself (rt_sigreturn): rax is left alone. */
#define LINUX_SYSCALL_REGS_SET (-0x10000L)

void linux_syscall_register(int nr, LinuxSyscallFn fn);
/* The handler registered for nr, or NULL. */
LinuxSyscallFn linux_syscall_handler(int nr);

/* Register every family's handlers (called once from main). */
void linux_syscalls_init(void);

/* Run the syscall in env's registers (the loop calls this on TCG_EXIT_SYSCALL); writes rax. */
void linux_do_syscall(CPUX86State *env);

/* ember's own long-lived descriptors go at or above this (F_DUPFD): the guest's files get the numbers
   they would get natively. */
#define LINUX_HOST_FD_MIN 900

/* -strace on/off, and where it prints (stderr by default). */
void linux_strace_enable(int fd);   /* a negative fd turns it off */
bool linux_strace_enabled(void);
/* A line of our own in the -strace output ("--- SIGSEGV {...} ---"), prefixed with the pid. */
void linux_strace_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
