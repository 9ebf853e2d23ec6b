/*
 * argv, envp and the auxiliary vector as the loader built them. Prints argv and envp verbatim and,
 * for auxv, the deterministic values (page size, platform, execfn, ids, clock ticks) and checks of
 * the address-valued entries against the program's own headers (they move with ASLR, so only their
 * relations are printed).
 */
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

extern char **environ;
extern const ElfW(Ehdr) __ehdr_start; /* the linker's symbol for our own ELF header */

static void check(const char *what, int ok)
{
    printf("%-34s %s\n", what, ok ? "ok" : "WRONG");
}

int main(int argc, char **argv, char **envp)
{
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=\"%s\"\n", i, argv[i]);
    check("argv[argc] == NULL", argv[argc] == NULL);
    check("envp == environ", envp == environ);
    int n = 0;
    for (char **e = envp; *e; e++, n++)
        printf("envp[%d]=\"%s\"\n", n, *e);

    /* auxv follows envp's terminating NULL on the initial stack. */
    ElfW(auxv_t) *av = (ElfW(auxv_t) *)(envp + n + 1);
    int count = 0, seen_null = 0;
    for (; count < 64; count++) {
        if (av[count].a_type == AT_NULL) {
            seen_null = 1;
            break;
        }
    }
    check("auxv follows envp, AT_NULL-ended", seen_null);
    check("auxv AT_PAGESZ matches getauxval", seen_null && getauxval(AT_PAGESZ) != 0);

    printf("AT_PAGESZ=%lu\n", getauxval(AT_PAGESZ));
    printf("sysconf(_SC_PAGESIZE)=%ld\n", sysconf(_SC_PAGESIZE));
    const char *plat = (const char *)getauxval(AT_PLATFORM);
    printf("AT_PLATFORM=%s\n", plat ? plat : "(null)");
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    printf("AT_EXECFN=%s\n", execfn ? execfn : "(null)");
    check("AT_EXECFN == argv[0] here", execfn && strcmp(execfn, argv[0]) == 0);
    printf("AT_CLKTCK=%lu\n", getauxval(AT_CLKTCK));
    printf("AT_SECURE=%lu\n", getauxval(AT_SECURE));
    printf("AT_UID=%lu AT_EUID=%lu AT_GID=%lu AT_EGID=%lu\n", getauxval(AT_UID), getauxval(AT_EUID),
           getauxval(AT_GID), getauxval(AT_EGID));
    check("AT_UID == getuid()", getauxval(AT_UID) == getuid());
    check("AT_EGID == getegid()", getauxval(AT_EGID) == getegid());

    /* Our own program headers: AT_PHDR points at them, wherever the image was placed. */
    uintptr_t base = (uintptr_t)&__ehdr_start;
    check("AT_PHDR == image + e_phoff", getauxval(AT_PHDR) == base + __ehdr_start.e_phoff);
    printf("AT_PHNUM=%lu (e_phnum=%u)\n", getauxval(AT_PHNUM), __ehdr_start.e_phnum);
    printf("AT_PHENT=%lu\n", getauxval(AT_PHENT));
    uintptr_t entry = __ehdr_start.e_type == ET_DYN ? base + __ehdr_start.e_entry : __ehdr_start.e_entry;
    check("AT_ENTRY == e_entry (+ load bias)", getauxval(AT_ENTRY) == entry);
    printf("e_type=%s\n", __ehdr_start.e_type == ET_DYN ? "ET_DYN" : "ET_EXEC");
    check("image base page-aligned", (base & 4095) == 0);

    /* AT_BASE is the interpreter's base: 0 for static programs, a page-aligned address otherwise. */
    uintptr_t at_base = getauxval(AT_BASE);
    int has_interp = 0;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(base + __ehdr_start.e_phoff);
    for (int i = 0; i < __ehdr_start.e_phnum; i++)
        if (ph[i].p_type == PT_INTERP)
            has_interp = 1;
    printf("PT_INTERP=%s\n", has_interp ? "yes" : "no");
    check("AT_BASE 0 iff no interpreter", has_interp ? (at_base != 0 && (at_base & 4095) == 0) : at_base == 0);

    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    int nonzero = 0;
    if (rnd)
        for (int i = 0; i < 16; i++)
            nonzero |= rnd[i];
    check("AT_RANDOM points at 16 bytes", rnd != NULL && nonzero);
    check("AT_SYSINFO_EHDR absent or ELF", getauxval(AT_SYSINFO_EHDR) == 0 ||
                                               memcmp((void *)getauxval(AT_SYSINFO_EHDR), ELFMAG, 4) == 0);
    check("AT_HWCAP present", getauxval(AT_HWCAP) != 0);

    /* The stack: argv sits just above argc, and the strings are above the pointer arrays. */
    check("argv strings above envp array", (uintptr_t)argv[0] > (uintptr_t)(envp + n));
    int local;
    check("stack below argv", (uintptr_t)&local < (uintptr_t)argv);
    return 0;
}
