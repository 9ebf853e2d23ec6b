/*
 * Opening and validating an ELF file before anything is mapped. Every way a file can be unfit gets its own
 * one-line message, because the user's first question is "why won't it run".
 */
#define _GNU_SOURCE
#include "user/linux/elf-file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "user/linux/guest-mem.h"

/* Linux refuses program header tables larger than this (binfmt_elf's ELF_MIN_ALIGN-independent limit). */
#define ELF_MAX_PHDR_BYTES 65536u

int linux_elf_error(char *err, size_t err_size, const ElfFile *f, int errnum, const char *fmt, ...)
{
    char problem[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof(problem), fmt, ap);
    va_end(ap);
    if (err && err_size && f->owner)
        snprintf(err, err_size, "ember-x86_64: %s: interpreter %s: %s", f->owner, f->path, problem);
    else if (err && err_size)
        snprintf(err, err_size, "ember-x86_64: %s: %s", f->path, problem);
    return -errnum;
}


static const char *machine_name(unsigned machine)
{
    static const struct { unsigned id; const char *name; } names[] = {
        { EM_386, "Intel 80386" },  { EM_ARM, "ARM" },          { EM_AARCH64, "AArch64" },
        { EM_PPC, "PowerPC" },      { EM_PPC64, "PowerPC64" },   { EM_S390, "IBM S/390" },
        { EM_MIPS, "MIPS" },        { EM_SPARC, "SPARC" },       { EM_SPARCV9, "SPARC v9" },
        { EM_IA_64, "IA-64" },      { EM_RISCV, "RISC-V" },      { EM_LOONGARCH, "LoongArch" },
        { EM_68K, "Motorola 68000" }, { EM_SH, "SuperH" },       { EM_ALPHA, "Alpha" },
        { EM_PARISC, "PA-RISC" },   { EM_BPF, "BPF" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        if (names[i].id == machine)
            return names[i].name;
    return NULL;
}

static int check_ident(ElfFile *f, char *err, size_t n)
{
    unsigned char ident[EI_NIDENT];
    if ((uint64_t)f->st.st_size < EI_NIDENT || pread(f->fd, ident, EI_NIDENT, 0) != EI_NIDENT ||
        memcmp(ident, ELFMAG, SELFMAG) != 0)
        return linux_elf_error(err, n, f, ENOEXEC, "not an ELF file");
    if (ident[EI_CLASS] == ELFCLASS32)
        return linux_elf_error(err, n, f, ENOEXEC, "32-bit ELF (ELFCLASS32), not x86-64");
    if (ident[EI_CLASS] != ELFCLASS64)
        return linux_elf_error(err, n, f, ENOEXEC, "bad ELF class %u", ident[EI_CLASS]);
    if (ident[EI_DATA] == ELFDATA2MSB)
        return linux_elf_error(err, n, f, ENOEXEC, "big-endian ELF, not x86-64");
    if (ident[EI_DATA] != ELFDATA2LSB)
        return linux_elf_error(err, n, f, ENOEXEC, "bad ELF data encoding %u", ident[EI_DATA]);
    if (ident[EI_VERSION] != EV_CURRENT)
        return linux_elf_error(err, n, f, ENOEXEC, "bad ELF version %u", ident[EI_VERSION]);
    return 0;
}

static int check_header(ElfFile *f, char *err, size_t n)
{
    if ((uint64_t)f->st.st_size < sizeof(Elf64_Ehdr))
        return linux_elf_error(err, n, f, ENOEXEC, "truncated ELF header");
    f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
    if (!f->elf || elf_kind(f->elf) != ELF_K_ELF)
        return linux_elf_error(err, n, f, ENOEXEC, "cannot read ELF: %s", elf_errmsg(-1));
    if (!gelf_getehdr(f->elf, &f->ehdr))
        return linux_elf_error(err, n, f, ENOEXEC, "truncated ELF header (%s)", elf_errmsg(-1));
    const GElf_Ehdr *eh = &f->ehdr;
    if (eh->e_machine != EM_X86_64) {
        const char *name = machine_name(eh->e_machine);
        if (name)
            return linux_elf_error(err, n, f, ENOEXEC, "ELF for machine %s, not x86-64", name);
        return linux_elf_error(err, n, f, ENOEXEC, "ELF for machine %u, not x86-64", eh->e_machine);
    }
    if (eh->e_type == ET_REL)
        return linux_elf_error(err, n, f, ENOEXEC, "relocatable object (ET_REL), not an executable");
    if (eh->e_type == ET_CORE)
        return linux_elf_error(err, n, f, ENOEXEC, "core dump (ET_CORE), not an executable");
    if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
        return linux_elf_error(err, n, f, ENOEXEC, "ELF type %u, not an executable", eh->e_type);
    if (eh->e_phnum == 0)
        return linux_elf_error(err, n, f, ENOEXEC, "no program headers");
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return linux_elf_error(err, n, f, ENOEXEC, "bad program header size %u (expected %zu)", eh->e_phentsize,
                    sizeof(Elf64_Phdr));
    if (eh->e_phnum == PN_XNUM || (uint64_t)eh->e_phnum * eh->e_phentsize > ELF_MAX_PHDR_BYTES)
        return linux_elf_error(err, n, f, ENOEXEC, "too many program headers (%u)", eh->e_phnum);
    uint64_t table = (uint64_t)eh->e_phnum * eh->e_phentsize;
    if (eh->e_phoff > (uint64_t)f->st.st_size || table > (uint64_t)f->st.st_size - eh->e_phoff)
        return linux_elf_error(err, n, f, ENOEXEC, "truncated program headers");
    return 0;
}

static int check_interp(ElfFile *f, const GElf_Phdr *ph, char *err, size_t n)
{
    if (f->interp[0])
        return linux_elf_error(err, n, f, ENOEXEC, "more than one PT_INTERP");
    if (ph->p_filesz < 2 || ph->p_filesz > sizeof(f->interp) || ph->p_offset > (uint64_t)f->st.st_size ||
        ph->p_filesz > (uint64_t)f->st.st_size - ph->p_offset)
        return linux_elf_error(err, n, f, ENOEXEC, "bad interpreter path (PT_INTERP)");
    if (pread(f->fd, f->interp, ph->p_filesz, (off_t)ph->p_offset) != (ssize_t)ph->p_filesz ||
        f->interp[ph->p_filesz - 1] != '\0' || strlen(f->interp) != ph->p_filesz - 1) {
        f->interp[0] = '\0';
        return linux_elf_error(err, n, f, ENOEXEC, "bad interpreter path (PT_INTERP)");
    }
    return 0;
}

static int check_load(ElfFile *f, size_t i, uint64_t prev_end, char *err, size_t n)
{
    const GElf_Phdr *ph = &f->phdrs[i];
    uint64_t size = (uint64_t)f->st.st_size;
    if (ph->p_filesz > ph->p_memsz)
        return linux_elf_error(err, n, f, ENOEXEC, "segment %zu: file size larger than memory size", i);
    if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
        return linux_elf_error(err, n, f, ENOEXEC, "segment %zu: extends past the end of the file (truncated?)", i);
    if (ph->p_vaddr >= GUEST_ADDR_LIMIT || ph->p_memsz > GUEST_ADDR_LIMIT - ph->p_vaddr)
        return linux_elf_error(err, n, f, ENOEXEC, "segment %zu: address 0x%" PRIx64 " out of range", i, ph->p_vaddr);
    if (ph->p_align & (ph->p_align - 1))
        return linux_elf_error(err, n, f, ENOEXEC, "segment %zu: alignment 0x%" PRIx64 " is not a power of 2", i,
                    ph->p_align);
    if (ph->p_align > GUEST_PAGE_SIZE && (ph->p_vaddr - ph->p_offset) % ph->p_align)
        return linux_elf_error(err, n, f, ENOEXEC, "segment %zu: address and file offset differ modulo its alignment",
                    i);
    if (f->first_load >= 0 && ph->p_vaddr < prev_end)
        return linux_elf_error(err, n, f, ENOEXEC, "segments %d and %zu overlap or are out of order", f->last_load, i);
    return 0;
}

static int check_phdrs(ElfFile *f, char *err, size_t n)
{
    f->phnum = f->ehdr.e_phnum;
    f->phdrs = g_new0(GElf_Phdr, f->phnum);
    f->first_load = f->last_load = -1;
    uint64_t prev_end = 0;
    for (size_t i = 0; i < f->phnum; i++) {
        if (!gelf_getphdr(f->elf, (int)i, &f->phdrs[i]))
            return linux_elf_error(err, n, f, ENOEXEC, "truncated program headers (%s)", elf_errmsg(-1));
        const GElf_Phdr *ph = &f->phdrs[i];
        int ret = 0;
        if (ph->p_type == PT_LOAD) {
            ret = check_load(f, i, prev_end, err, n);
            if (f->first_load < 0)
                f->first_load = (int)i;
            f->last_load = (int)i;
            prev_end = ph->p_vaddr + ph->p_memsz;
        } else if (ph->p_type == PT_INTERP) {
            ret = check_interp(f, ph, err, n);
        }
        if (ret)
            return ret;
    }
    if (f->first_load < 0)
        return linux_elf_error(err, n, f, ENOEXEC, "no loadable segments");
    uint64_t lo, hi, align;
    linux_elf_span(f, &lo, &hi, &align);
    if (hi - lo == 0)
        return linux_elf_error(err, n, f, ENOEXEC, "loadable segments are empty");
    return 0;
}

int linux_elf_open(ElfFile *f, const char *path, const char *owner, char *err, size_t err_size)
{
    memset(f, 0, sizeof(*f));
    f->path = path;
    f->owner = owner;
    f->fd = -1;
    if (stat(path, &f->st) != 0)
        return linux_elf_error(err, err_size, f, errno, "%s", strerror(errno));
    if (S_ISDIR(f->st.st_mode))
        return linux_elf_error(err, err_size, f, EISDIR, "is a directory");
    if (!S_ISREG(f->st.st_mode))
        return linux_elf_error(err, err_size, f, EACCES, "not a regular file");
    if (access(path, X_OK) != 0)
        return linux_elf_error(err, err_size, f, EACCES, "permission denied (not executable)");
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0)
        return linux_elf_error(err, err_size, f, errno, "cannot open: %s", strerror(errno));
    if (fstat(f->fd, &f->st) != 0)
        return linux_elf_error(err, err_size, f, errno, "%s", strerror(errno));
    if (elf_version(EV_CURRENT) == EV_NONE)
        return linux_elf_error(err, err_size, f, ENOEXEC, "libelf: %s", elf_errmsg(-1));
    int ret = check_ident(f, err, err_size);
    if (ret == 0)
        ret = check_header(f, err, err_size);
    if (ret == 0)
        ret = check_phdrs(f, err, err_size);
    return ret;
}

void linux_elf_close(ElfFile *f)
{
    if (f->elf)
        elf_end(f->elf);
    if (f->fd >= 0)
        close(f->fd);
    g_free(f->phdrs);
    f->elf = NULL;
    f->fd = -1;
    f->phdrs = NULL;
}

void linux_elf_span(const ElfFile *f, uint64_t *lo, uint64_t *hi, uint64_t *align)
{
    *lo = UINT64_MAX;
    *hi = 0;
    *align = GUEST_PAGE_SIZE;
    for (size_t i = 0; i < f->phnum; i++) {
        const GElf_Phdr *ph = &f->phdrs[i];
        if (ph->p_type != PT_LOAD)
            continue;
        *lo = MIN(*lo, ph->p_vaddr & GUEST_PAGE_MASK);
        *hi = MAX(*hi, GUEST_PAGE_ALIGN(ph->p_vaddr + ph->p_memsz));
        *align = MAX(*align, ph->p_align);
    }
    if (*lo > *hi)
        *lo = *hi;
}
