/*
 * -strace lines in strace's own format, driven by the argument kinds of table.def:
 *   12345 openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3
 *   12345 read(3, "root:x:0:0:root:/root:/bin/bash\n"..., 4096) = 1234
 *   12345 openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)
 * Arguments the call reads are formatted before it runs (execve or munmap may make them unreadable);
 * arguments it writes, after. The whole line is then written at once, so threads do not interleave.
 */
#ifndef EMBER_SYSCALLS_STRACE_H
#define EMBER_SYSCALLS_STRACE_H

#include <stddef.h>
#include <stdint.h>

#include "syscalls/syscalls.h"

#define STRACE_ARG_MAX 512       /* one formatted argument, truncated beyond this */
#define STRACE_LINE_MAX (6 * STRACE_ARG_MAX + 128)

/* The result to print as "= ?": the call does not return (exit_group) or its result is not known. */
#define STRACE_NO_RETURN ((long)0x8000000000000000UL)

typedef struct StraceCall {
    long nr;
    long args[6];
    const SyscallInfo *info;     /* NULL for an unknown number: printed as syscall_N(args...) */
    uint8_t kind[6];             /* the table's kinds; formatters may refine later ones (fcntl's argument) */
    int shown;                   /* arguments printed: some kinds hide arguments the call ignores */
    char text[6][STRACE_ARG_MAX];
} StraceCall;

/* Formats the arguments the call reads. */
void strace_enter(StraceCall *call, long nr, const long args[6]);
/* Formats the arguments it wrote and the whole line, "pid name(args) = result\n"; returns its length. */
size_t strace_exit(StraceCall *call, int pid, long ret, char *line, size_t size);
/* For calls that do not return when they succeed (execve): the line before the call,
   "pid execve(args) <unfinished ...>\n", and if it does return, "pid <... execve resumed>) = -1 ENOENT (...)\n". */
size_t strace_unfinished(StraceCall *call, int pid, char *line, size_t size);
size_t strace_resumed(StraceCall *call, int pid, long ret, char *line, size_t size);

/* Names for tests and other printers ("--- SIGSEGV ---"): "SIGINT", "ENOENT"; unknown values print
   their number. buf must hold 32 bytes; the result is buf or a constant string. */
const char *strace_signal_name(int sig, char *buf);
const char *strace_errno_name(int err, char *buf);

#endif
