/*
 * Mapping a validated ELF program and its interpreter, as Linux's binfmt_elf does: the whole span is
 * claimed first (so no segment lands on ember's own memory), each PT_LOAD is mapped from the file with its
 * rights, .bss is zero-filled (the tail of the last file page, then anonymous pages), and the holes
 * between segments are given back.
 */
#define _GNU_SOURCE
#include "user/linux/elf-load.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib.h>

#include "user/linux/elf-file.h"
#include "user/linux/guest-mem.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* An ET_DYN span is aligned to its largest p_align, up to this (a bigger one is not worth the space). */
#define ELF_MAX_BASE_ALIGN (1ULL << 30)

static LinuxElfImage current_image;
static bool have_current;

const LinuxElfImage *linux_elf_current(void) { return have_current ? &current_image : NULL; }

static int elf_prot(uint32_t flags)
{
    return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) | (flags & PF_X ? PROT_EXEC : 0);
}

static void *map_at(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off)
{
    return mmap((void *)(uintptr_t)addr, len, prot, flags, fd, (off_t)off);
}

/* Claim [addr, addr+len) if it is wholly free; the address, or 0 with *errnum set (EEXIST: something is there). */
static uint64_t claim_exact_err(uint64_t addr, uint64_t len, int *errnum)
{
    void *p = map_at(addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) {
        *errnum = errno;
        return 0;
    }
    if ((uintptr_t)p != addr) {   /* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
        munmap(p, len);
        *errnum = EEXIST;
        return 0;
    }
    return addr;
}

static uint64_t claim_exact(uint64_t addr, uint64_t len)
{
    int errnum;
    return claim_exact_err(addr, len, &errnum);
}

/* Claim len bytes aligned to align in the guest's top-down area (guest-mem.h), else wherever the kernel
   has room. */
static uint64_t claim_anywhere(uint64_t len, uint64_t align)
{
    uint64_t extra = align > GUEST_PAGE_SIZE ? align : 0;
    void *p = guest_mem_map_anywhere(len + extra, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    uint64_t start = (uintptr_t)p, base = (start + align - 1) & ~(align - 1);
    if (base > start)
        munmap(p, base - start);
    if (start + len + extra > base + len)
        munmap((void *)(uintptr_t)(base + len), start + len + extra - (base + len));
    return base;
}

static int read_full(int fd, uint64_t dest, uint64_t len, uint64_t off)
{
    while (len) {
        ssize_t got = pread(fd, (void *)(uintptr_t)dest, len, (off_t)off);
        if (got <= 0)
            return got < 0 ? -errno : -EIO;
        dest += got;
        off += got;
        len -= got;
    }
    return 0;
}

/* Map one PT_LOAD at its address plus bias. 0 or -errno. */
static int map_segment(const ElfFile *f, const GElf_Phdr *ph, uint64_t bias)
{
    uint64_t vaddr = ph->p_vaddr + bias;
    uint64_t start = vaddr & GUEST_PAGE_MASK;
    uint64_t file_end = vaddr + ph->p_filesz, mem_end = vaddr + ph->p_memsz;
    uint64_t file_pages_end = ph->p_filesz ? GUEST_PAGE_ALIGN(file_end) : start;
    uint64_t mem_pages_end = GUEST_PAGE_ALIGN(mem_end);
    int prot = elf_prot(ph->p_flags);
    /* Linux zeroes the rest of the last file page only when the segment has a .bss. */
    bool zero_tail = ph->p_memsz > ph->p_filesz && (file_end & ~GUEST_PAGE_MASK) && ph->p_filesz;

    if (ph->p_filesz) {
        uint64_t len = file_pages_end - start;
        bool congruent = (vaddr & ~GUEST_PAGE_MASK) == (ph->p_offset & ~GUEST_PAGE_MASK);
        if (congruent) {
            int map_prot = prot | (zero_tail ? PROT_WRITE : 0);
            if (map_at(start, len, map_prot, MAP_PRIVATE | MAP_FIXED, f->fd, ph->p_offset & GUEST_PAGE_MASK) ==
                MAP_FAILED)
                return -errno;
        } else {
            /* Offset and address disagree within the page: no mmap can place it, so copy it in. */
            if (map_at(start, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
                MAP_FAILED)
                return -errno;
            int ret = read_full(f->fd, vaddr, ph->p_filesz, ph->p_offset);
            if (ret)
                return ret;
        }
        if (zero_tail)
            memset((void *)(uintptr_t)file_end, 0, file_pages_end - file_end);
        if ((zero_tail || !congruent) && mprotect((void *)(uintptr_t)start, len, prot) != 0)
            return -errno;
        if (congruent) {
            guest_mem_record_fd(start, len, prot, false, f->fd, ph->p_offset & GUEST_PAGE_MASK);
        } else {
            GuestRegionInfo anon = { .kind = GUEST_REGION_ANON, .prot = prot };
            guest_mem_record(start, len, &anon);
        }
    }
    if (mem_pages_end > file_pages_end) {
        if (map_at(file_pages_end, mem_pages_end - file_pages_end, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                   -1, 0) == MAP_FAILED)
            return -errno;
        GuestRegionInfo anon = { .kind = GUEST_REGION_ANON, .prot = prot };
        guest_mem_record(file_pages_end, mem_pages_end - file_pages_end, &anon);
    }
    return 0;
}

typedef struct Mapped {
    uint64_t base, len;   /* the claimed span, to release on failure */
    uint64_t bias;
} Mapped;

static void unmap_image(const Mapped *m)
{
    if (m->len) {
        munmap((void *)(uintptr_t)m->base, m->len);
        guest_mem_forget(m->base, m->len);
    }
}

/*
 * Claim the span, map every PT_LOAD, give back the holes. An ET_EXEC goes exactly where it says; an ET_DYN
 * at `pref` (then `alt`) when they are free and not 0, else wherever the kernel has room.
 */
static int map_image(const ElfFile *f, uint64_t pref, uint64_t alt, Mapped *m, char *err, size_t n)
{
    uint64_t lo, hi, align;
    linux_elf_span(f, &lo, &hi, &align);
    align = MIN(align, ELF_MAX_BASE_ALIGN);
    uint64_t len = hi - lo, base = 0;
    memset(m, 0, sizeof(*m));
    if (f->ehdr.e_type == ET_EXEC) {
        int errnum = 0;
        base = claim_exact_err(lo, len, &errnum);
        if (!base && errnum == EEXIST)
            return linux_elf_error(err, n, f, ENOMEM,
                                   "segments at 0x%" PRIx64 "-0x%" PRIx64 " overlap memory already in use", lo, hi);
        if (!base && errnum == EPERM)
            return linux_elf_error(err, n, f, EPERM,
                                   "segments at 0x%" PRIx64 " lie below the lowest address the kernel allows "
                                   "(vm.mmap_min_addr)", lo);
        if (!base)
            return linux_elf_error(err, n, f, errnum, "cannot map segments at 0x%" PRIx64 "-0x%" PRIx64 ": %s", lo,
                                   hi, strerror(errnum));
    } else {
        /* At a preferred base, the brk room after the image must be free too: claim both, keep the image. */
        uint64_t tries[2] = { pref, alt };
        for (int i = 0; i < 2 && !base; i++) {
            uint64_t at = (tries[i] + align - 1) & ~(align - 1);
            uint64_t want = len + LINUX_ELF_BRK_ROOM;
            if (tries[i] && at < GUEST_ADDR_LIMIT && want <= GUEST_ADDR_LIMIT - at && (base = claim_exact(at, want)))
                munmap((void *)(uintptr_t)(base + len), LINUX_ELF_BRK_ROOM);
        }
        if (!base)
            base = claim_anywhere(len, align);
        if (!base) {
            return linux_elf_error(err, n, f, ENOMEM, "no room for 0x%" PRIx64 " bytes of segments", len);
        }
    }
    m->base = base;
    m->len = len;
    m->bias = base - lo;

    /* Pieces of the span that no segment covers are given back afterwards, as the kernel leaves them. */
    uint64_t covered_to = base;
    for (size_t i = 0; i < f->phnum; i++) {
        const GElf_Phdr *ph = &f->phdrs[i];
        if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
            continue;
        int ret = map_segment(f, ph, m->bias);
        if (ret) {
            linux_elf_error(err, n, f, -ret, "cannot map segment %zu at 0x%" PRIx64 ": %s", i,
                            ph->p_vaddr + m->bias, strerror(-ret));
            unmap_image(m);
            return ret;
        }
        uint64_t seg_start = (ph->p_vaddr + m->bias) & GUEST_PAGE_MASK;
        if (seg_start > covered_to)
            munmap((void *)(uintptr_t)covered_to, seg_start - covered_to);
        covered_to = MAX(covered_to, GUEST_PAGE_ALIGN(ph->p_vaddr + m->bias + ph->p_memsz));
    }
    return 0;
}

/* Where the program headers are in memory: PT_PHDR, else inside the PT_LOAD that holds them in the file. */
static uint64_t phdr_address(const ElfFile *f, uint64_t bias)
{
    for (size_t i = 0; i < f->phnum; i++)
        if (f->phdrs[i].p_type == PT_PHDR)
            return f->phdrs[i].p_vaddr + bias;
    uint64_t off = f->ehdr.e_phoff;
    for (size_t i = 0; i < f->phnum; i++) {
        const GElf_Phdr *ph = &f->phdrs[i];
        if (ph->p_type == PT_LOAD && off >= ph->p_offset && off - ph->p_offset < ph->p_filesz)
            return ph->p_vaddr + (off - ph->p_offset) + bias;
    }
    /* Not loaded at all: what older kernels passed anyway. */
    return (f->phdrs[f->first_load].p_vaddr & GUEST_PAGE_MASK) + bias + off;
}

static void describe_program(const ElfFile *f, uint64_t bias, LinuxElfImage *img)
{
    img->load_bias = bias;
    img->prog_entry = img->entry = f->ehdr.e_entry + bias;
    img->phdr = phdr_address(f, bias);
    img->phnum = (uint32_t)f->phnum;
    img->phent = f->ehdr.e_phentsize;
    img->is_pie = f->ehdr.e_type == ET_DYN;
    img->start_code = UINT64_MAX;
    uint64_t top = 0;
    for (size_t i = 0; i < f->phnum; i++) {
        const GElf_Phdr *ph = &f->phdrs[i];
        switch (ph->p_type) {
        case PT_LOAD:
            /* The same bookkeeping as binfmt_elf's start_code/end_code/start_data/end_data. */
            img->start_code = MIN(img->start_code, ph->p_vaddr + bias);
            img->start_data = MAX(img->start_data, ph->p_vaddr + bias);
            if (ph->p_flags & PF_X)
                img->end_code = MAX(img->end_code, ph->p_vaddr + ph->p_filesz + bias);
            img->end_data = MAX(img->end_data, ph->p_vaddr + ph->p_filesz + bias);
            top = MAX(top, ph->p_vaddr + ph->p_memsz + bias);
            break;
        case PT_TLS:
            img->tls_vaddr = ph->p_vaddr + bias;
            img->tls_memsz = ph->p_memsz;
            img->tls_filesz = ph->p_filesz;
            img->tls_align = ph->p_align;
            break;
        case PT_GNU_STACK:
            img->exec_stack = (ph->p_flags & PF_X) != 0;
            break;
        }
    }
    img->brk_start = GUEST_PAGE_ALIGN(top);
}

/* The interpreter's path: under the sysroot when one is given and the file is there. */
static void interp_location(const char *interp, const char *sysroot, char *out, size_t n)
{
    if (sysroot && sysroot[0]) {
        int len = snprintf(out, n, "%s/%s", sysroot, interp[0] == '/' ? interp + 1 : interp);
        if (len > 0 && (size_t)len < n && access(out, F_OK) == 0)
            return;
    }
    g_strlcpy(out, interp, n);
}

int linux_elf_load(const char *path, const char *sysroot, LinuxElfImage *img, char *err, size_t err_size)
{
    char dummy[1];
    if (!err || !err_size) {
        err = dummy;
        err_size = sizeof(dummy);
    }
    err[0] = '\0';
    memset(img, 0, sizeof(*img));
    ElfFile prog, interp;
    memset(&interp, 0, sizeof(interp));
    interp.fd = -1;
    Mapped prog_map = { 0 }, interp_map = { 0 };

    int ret = linux_elf_open(&prog, path, NULL, err, err_size);
    if (ret)
        goto out;
    if (prog.interp[0]) {
        /* Open (and so check) the interpreter before mapping anything. */
        interp_location(prog.interp, sysroot, img->interp_path, sizeof(img->interp_path));
        ret = linux_elf_open(&interp, img->interp_path, path, err, err_size);
        if (ret)
            goto out;
    }
    ret = map_image(&prog, LINUX_ELF_PIE_BASE, LINUX_ELF_PIE_BASE_ALT, &prog_map, err, err_size);
    if (ret)
        goto out;
    describe_program(&prog, prog_map.bias, img);
    if (prog.interp[0]) {
        ret = map_image(&interp, 0, 0, &interp_map, err, err_size);
        if (ret) {
            unmap_image(&prog_map);
            goto out;
        }
        img->interp_base = interp_map.base;
        img->interp_entry = img->entry = interp.ehdr.e_entry + interp_map.bias;
    }
    g_strlcpy(img->exec_name, path, sizeof(img->exec_name));
    if (!realpath(path, img->exe_path))
        snprintf(img->exe_path, sizeof(img->exe_path), "%s", path);
    current_image = *img;
    have_current = true;
    guest_mem_brk_init(img->brk_start);
    /* As execve does: the process is now called after the program (/proc/self/comm, stat, ps). */
    char *base = g_path_get_basename(path);
    prctl(PR_SET_NAME, base, 0, 0, 0);
    g_free(base);
out:
    linux_elf_close(&prog);
    linux_elf_close(&interp);
    return ret;
}
