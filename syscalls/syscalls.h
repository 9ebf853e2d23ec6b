/*
 * The syscall table (table.def) expanded: number <-> name, mode, argument kinds; the raw host call that
 * PASS syscalls go through; and the guest memory their pointer arguments cover.
 */
#ifndef EMBER_SYSCALLS_H
#define EMBER_SYSCALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Flags of an argument kind (see kinds.def). */
#define SKF_OUT 1u
#define SKF_PTR 2u
#define SKF_LEN 4u

typedef enum SyscallKind {
#define SYSCALL_KIND(name, flags, size) SK_##name,
#include "syscalls/kinds.def"
#undef SYSCALL_KIND
    SK_COUNT
} SyscallKind;

typedef enum SyscallMode { SYSCALL_PASS, SYSCALL_EMUL, SYSCALL_NOSYS } SyscallMode;

typedef struct SyscallInfo {
    const char *name;            /* NULL for numbers the kernel does not define */
    uint16_t nr;
    uint8_t mode;                /* SyscallMode */
    uint8_t nargs;
    uint8_t kind[6];             /* SyscallKind */
} SyscallInfo;

/* Every valid number is below this; the dispatcher sizes its handler array with it. */
#define SYSCALL_NR_LIMIT 512

/* NULL when nr is not a syscall of the table. */
const SyscallInfo *syscall_info(long nr);
/* The number of a syscall by name, or -1. */
long syscall_lookup(const char *name);
/* Number of syscalls in the table (for tests). */
int syscall_count(void);

const char *syscall_kind_name(SyscallKind kind);
unsigned syscall_kind_flags(SyscallKind kind);
unsigned syscall_kind_size(SyscallKind kind);

/* True the first time it is asked about nr (thread-safe): "Unknown syscall N" is printed only once. */
bool syscall_unknown_first(long nr);

/* The host kernel's raw result (-errno on failure, never touching errno). */
long syscall_host(long nr, const long args[6]);

/* Copies up to len bytes of guest memory without faulting (the kernel checks the addresses); returns how
   many it could read, stopping at the first unreadable byte. */
size_t syscall_peek(void *dst, uint64_t addr, size_t len);

/* A guest memory range a pointer argument covers (for the -EFAULT retry on write-protected code pages). */
typedef struct SyscallRange {
    uint64_t addr;
    uint64_t len;                /* at least 1 */
} SyscallRange;

/* Fills at most `max` ranges for the pointer arguments of the call; returns how many. */
int syscall_pointer_ranges(const SyscallInfo *info, const long args[6], SyscallRange *out, int max);

#endif
