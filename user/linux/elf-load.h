/*
 * The ELF loader: maps an x86-64 program (static, static-pie or dynamic) and its interpreter into the guest
 * address space the way Linux's binfmt_elf does, and says where the guest starts.
 */
#ifndef EMBER_LINUX_ELF_LOAD_H
#define EMBER_LINUX_ELF_LOAD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where an ET_DYN main program goes when that range is free (where Linux puts PIEs without ASLR). */
#define LINUX_ELF_PIE_BASE 0x555555554000ULL
/* ... and when it is not (ember itself may be there): far from ember, its heap and the mmap area. */
#define LINUX_ELF_PIE_BASE_ALT 0x100000000000ULL
/* Free space wanted after a PIE at those bases, for its brk to grow into. */
#define LINUX_ELF_BRK_ROOM (1ULL << 30)

typedef struct LinuxElfImage {
    uint64_t entry;          /* where the guest starts: the interpreter's entry, else the program's */
    uint64_t prog_entry;     /* the program's own entry (AT_ENTRY) */
    uint64_t phdr;           /* the program headers in guest memory (AT_PHDR) */
    uint32_t phnum, phent;   /* AT_PHNUM, AT_PHENT */
    uint64_t load_bias;      /* added to the program's p_vaddr (0 for ET_EXEC) */
    uint64_t interp_base;    /* the interpreter's load address (AT_BASE), 0 when none */
    uint64_t interp_entry;
    uint64_t brk_start;      /* page-aligned end of the program's highest segment */
    uint64_t start_code, end_code, start_data, end_data;   /* as in /proc/pid/stat */
    uint64_t tls_vaddr, tls_memsz, tls_filesz, tls_align;  /* PT_TLS (0 when none), relocated */
    bool exec_stack;         /* PT_GNU_STACK asks for an executable stack */
    bool is_pie;             /* the program is ET_DYN */
    char exe_path[PATH_MAX]; /* absolute, resolved path of the program (/proc/self/exe) */
    char exec_name[PATH_MAX];   /* the path as given to the loader (AT_EXECFN, like execve's filename) */
    char interp_path[PATH_MAX]; /* the interpreter as opened (sysroot applied), "" when none */
} LinuxElfImage;

/*
 * Load `path` (and its PT_INTERP, looked up under `sysroot` first when sysroot is not NULL). 0, or a
 * negative errno with a one-line message in err, e.g. "ember-x86_64: /tmp/x: not an ELF file". On
 * failure nothing stays mapped. On success the guest's brk starts at img->brk_start and the calling thread
 * is named after the program (PR_SET_NAME), as execve names the process.
 */
int linux_elf_load(const char *path, const char *sysroot, LinuxElfImage *img, char *err, size_t err_size);

/* The image of the last successful linux_elf_load (for /proc/self/exe); NULL before one. */
const LinuxElfImage *linux_elf_current(void);

#endif
