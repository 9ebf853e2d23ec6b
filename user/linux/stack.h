/*
 * The guest's initial stack: argc, argv, envp and the auxiliary vector laid out exactly as Linux lays them
 * out for an x86-64 process, on a stack of its own with a guard below it.
 */
#ifndef EMBER_LINUX_STACK_H
#define EMBER_LINUX_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "user/linux/elf-load.h"

#define LINUX_STACK_DEFAULT_SIZE (8ULL << 20)
#define LINUX_STACK_GUARD_SIZE (64ULL << 10)
/* The most auxv entries we ever write, AT_NULL included. */
#define LINUX_AUXV_MAX 32

typedef struct LinuxStackParams {
    char *const *argv;       /* NULL-terminated; argv[0] already overridden by -0 */
    char *const *envp;       /* NULL-terminated, after -E/-U */
    const char *execfn;      /* AT_EXECFN; NULL: the program as named to the loader (img->exec_name) */
    uint64_t stack_size;     /* -s; 0 for the default 8 MiB */
    uint32_t hwcap;          /* AT_HWCAP: CPUID.1:EDX of the guest model */
    uint32_t hwcap2;         /* AT_HWCAP2: 0, or HWCAP2_FSGSBASE (bit 1) when the guest may use it */
    uint64_t minsigstksz;    /* AT_MINSIGSTKSZ: the guest's signal frame size; 0 for 2048 */
} LinuxStackParams;

typedef struct LinuxStack {
    uint64_t sp;             /* the initial rsp: points at argc, 16-byte aligned */
    uint64_t base, top;      /* the stack [base, top); a PROT_NONE guard lies below base */
    uint64_t arg_start, arg_end, env_start, env_end;   /* the argv and envp strings (/proc/self/cmdline) */
    uint64_t auxv;           /* the auxiliary vector on the stack */
    uint64_t random;         /* the AT_RANDOM bytes */
    uint64_t execfn;         /* the AT_EXECFN string */
} LinuxStack;

/* Map the stack and build it for img. 0 or -errno (-E2BIG when the strings do not fit, as execve). */
int linux_stack_build(const LinuxElfImage *img, const LinuxStackParams *params, LinuxStack *out);

/*
 * The same with the usual parameters (AT_EXECFN = the path given to the loader, AT_HWCAP2 = 0): the initial rsp
 * in *sp; on failure -errno and a one-line message ("ember-x86_64: cannot set up the stack: ...").
 */
int linux_stack_setup(const LinuxElfImage *img, char **argv, char **envp, uint64_t stack_size, uint32_t hwcap,
                      uint64_t *sp, char *err, size_t err_size);

/* The auxv as last built, AT_NULL pair included (/proc/self/auxv); *bytes its size. NULL before one. */
const uint64_t *linux_stack_auxv(size_t *bytes);
/* The stack as last built; NULL before one. */
const LinuxStack *linux_stack_current(void);

#endif
