/*
 * Multiboot v1 (specification 0.6.96): the header in the kernel's first 8 KiB, ELF loading (libelf) or
 * the a.out kludge's load addresses, modules from -initrd (comma-separated), and the multiboot
 * information structure with the memory map. Entry: flat 32-bit protected mode, paging off,
 * EAX = 0x2BADB002, EBX = the information structure.
 */
#include "system/pc/boot/boot-internal.h"

#include <gelf.h>
#include <libelf.h>
#include <string.h>

#define MB_HEADER_MAGIC   0x1badb002u
#define MB_BOOT_MAGIC     0x2badb002u
#define MB_SEARCH_LIMIT   8192

/* Header flags: bits 0..15 are requirements a loader must honour or refuse the kernel over. */
enum {
    MBH_PAGE_ALIGN = 1u << 0,     /* modules page aligned: we always do */
    MBH_MEMORY_INFO = 1u << 1,    /* mem_* and mmap: we always give them */
    MBH_VIDEO_MODE = 1u << 2,     /* a preferred video mode: there is no display, so no video info */
    MBH_AOUT_KLUDGE = 1u << 16,   /* the load addresses below are valid */
    MBH_KNOWN_REQUIRED = MBH_PAGE_ALIGN | MBH_MEMORY_INFO | MBH_VIDEO_MODE,
};

/* Information structure flags and offsets */
enum {
    MBI_MEM = 1u << 0, MBI_CMDLINE = 1u << 2, MBI_MODS = 1u << 3, MBI_MMAP = 1u << 6,
    MBI_LOADER_NAME = 1u << 9,
};
enum {
    MBI_FLAGS = 0, MBI_MEM_LOWER = 4, MBI_MEM_UPPER = 8, MBI_CMDLINE_PTR = 16, MBI_MODS_COUNT = 20,
    MBI_MODS_ADDR = 24, MBI_MMAP_LENGTH = 44, MBI_MMAP_ADDR = 48, MBI_LOADER_NAME_PTR = 64,
    MBI_SIZE = 88,
};
/* Layout of our information area (offsets from PC_BOOT_MB_INFO) */
enum { AREA_MMAP = 0x100, AREA_MODS = 0x400, AREA_MAX_MODS = 64, AREA_STRINGS = 0x800 };
#define AREA_SIZE (PC_BOOT_MB_INFO_END - PC_BOOT_MB_INFO)

long pc_boot_multiboot_header(const uint8_t *data, gsize len)
{
    gsize limit = MIN(len, (gsize)MB_SEARCH_LIMIT);
    for (gsize off = 0; off + 12 <= limit; off += 4) {
        uint32_t magic = pc_ld32(data + off), flags = pc_ld32(data + off + 4), sum = pc_ld32(data + off + 8);
        if (magic == MB_HEADER_MAGIC && (uint32_t)(magic + flags + sum) == 0) {
            return (long)off;
        }
    }
    return -1;
}

/*
 * Where a kernel may put itself: RAM below 4 GiB, away from what ember writes there (the boot structures
 * in low memory and the ACPI tables). Linked kernels often have a segment of headers just below 1 MiB.
 */
static bool mb_place_ok(Machine *m, uint64_t addr, uint64_t len)
{
    static const struct { uint64_t start, end; } ours[] = {
        { 0, PC_BOOT_CMDLINE + PC_BOOT_CMDLINE_MAX },
        { PC_BOOT_ACPI_BASE, PC_ACPI_RSDP_ADDR + 0x100 },
    };
    if (addr + len < addr || addr + len > m->ram_low || !machine_ram_ptr(m, addr, len)) {
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(ours); i++) {
        if (addr < ours[i].end && addr + len > ours[i].start) {
            return false;
        }
    }
    return true;
}

static bool mb_bad_place(const char *path, const char *what, uint64_t addr, uint64_t len, GError **err)
{
    g_set_error(err, PC_BOOT_ERROR, 0,
                "%s: %s at 0x%" PRIx64 "-0x%" PRIx64 " is not in guest RAM or overlaps the boot tables", path,
                what, addr, addr + len);
    return false;
}

/* The a.out kludge: the header's own addresses say what part of the file goes where. */
static bool mb_load_kludge(Machine *m, const char *path, const uint8_t *data, gsize len, long hdr,
                           uint32_t *entry, uint64_t *end, GError **err)
{
    if ((gsize)hdr + 32 > len) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: truncated multiboot header", path);
        return false;
    }
    const uint8_t *h = data + hdr;
    uint32_t header_addr = pc_ld32(h + 12), load_addr = pc_ld32(h + 16), load_end = pc_ld32(h + 20);
    uint32_t bss_end = pc_ld32(h + 24);
    if (load_addr > header_addr || header_addr - load_addr > (uint64_t)hdr) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: multiboot load_addr 0x%x does not match the header's place", path,
                    load_addr);
        return false;
    }
    uint64_t file_off = (uint64_t)hdr - (header_addr - load_addr);
    uint64_t size = load_end ? (uint64_t)load_end - load_addr : len - file_off;
    if (load_end && (load_end < load_addr || size > len - file_off)) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: multiboot load_end_addr 0x%x lies beyond the file", path, load_end);
        return false;
    }
    uint64_t mem_end = (uint64_t)load_addr + size;
    if (bss_end) {
        if (bss_end < mem_end) {
            g_set_error(err, PC_BOOT_ERROR, 0, "%s: multiboot bss_end_addr 0x%x is below the loaded image", path,
                        bss_end);
            return false;
        }
        mem_end = bss_end;
    }
    if (!mb_place_ok(m, load_addr, mem_end - load_addr)) {
        return mb_bad_place(path, "the kernel", load_addr, mem_end - load_addr, err);
    }
    pc_boot_ram_write(m, load_addr, data + file_off, size);
    pc_boot_ram_zero(m, load_addr + size, mem_end - load_addr - size);
    *entry = pc_ld32(h + 28);
    *end = mem_end;
    return true;
}

/* An ELF kernel: its PT_LOAD segments at their physical addresses, bss zeroed. */
static bool mb_load_elf(Machine *m, const char *path, const uint8_t *data, gsize len, uint32_t *entry,
                        uint64_t *end, GError **err)
{
    if (elf_version(EV_CURRENT) == EV_NONE) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: libelf is unusable: %s", path, elf_errmsg(-1));
        return false;
    }
    Elf *elf = elf_memory((char *)data, len);
    GElf_Ehdr eh;
    size_t nph = 0;
    bool ok = false;
    if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &nph) != 0) {
        g_set_error(err, PC_BOOT_ERROR, 0,
                    "%s: multiboot kernel is not ELF and its header has no load addresses (flag 16)", path);
        goto out;
    }
    if (eh.e_machine != EM_386 && eh.e_machine != EM_X86_64) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: ELF multiboot kernel for machine %u, not x86", path, eh.e_machine);
        goto out;
    }
    uint64_t entry_phys = eh.e_entry, max_end = 0;
    int loaded = 0;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || ph.p_memsz == 0) {
            continue;
        }
        if (ph.p_filesz > ph.p_memsz || ph.p_offset > len || ph.p_filesz > len - ph.p_offset) {
            g_set_error(err, PC_BOOT_ERROR, 0, "%s: ELF segment %zu lies beyond the file", path, i);
            goto out;
        }
        if (!mb_place_ok(m, ph.p_paddr, ph.p_memsz)) {
            mb_bad_place(path, "an ELF segment", ph.p_paddr, ph.p_memsz, err);
            goto out;
        }
        pc_boot_ram_write(m, ph.p_paddr, data + ph.p_offset, ph.p_filesz);
        pc_boot_ram_zero(m, ph.p_paddr + ph.p_filesz, ph.p_memsz - ph.p_filesz);
        /* A kernel linked at a virtual address enters at the physical place of its entry point. */
        if (eh.e_entry >= ph.p_vaddr && eh.e_entry - ph.p_vaddr < ph.p_memsz) {
            entry_phys = eh.e_entry - ph.p_vaddr + ph.p_paddr;
        }
        max_end = MAX(max_end, ph.p_paddr + ph.p_memsz);
        loaded++;
    }
    if (!loaded) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: ELF multiboot kernel has nothing to load", path);
        goto out;
    }
    if (entry_phys > 0xffffffffull) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: entry point 0x%" PRIx64 " is above 4 GiB", path,
                    entry_phys);
        goto out;
    }
    *entry = (uint32_t)entry_phys;
    *end = max_end;
    ok = true;
out:
    if (elf) {
        elf_end(elf);
    }
    return ok;
}

/* Strings go into the information area's string space; 0 when full. */
static uint32_t mb_add_string(uint8_t *area, size_t *used, const char *s)
{
    size_t n = strlen(s) + 1;
    if (*used + n > AREA_SIZE) {
        return 0;
    }
    memcpy(area + *used, s, n);
    uint32_t addr = (uint32_t)(PC_BOOT_MB_INFO + *used);
    *used += n;
    return addr;
}

bool pc_boot_multiboot(Machine *m, const PcBootConfig *cfg, const uint8_t *data, gsize len, long hdr,
                       GError **err)
{
    const char *path = cfg->kernel;
    uint32_t flags = pc_ld32(data + hdr + 4);
    if (flags & 0xffff & ~MBH_KNOWN_REQUIRED) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: multiboot header requires features ember lacks (flags 0x%x)", path,
                    flags);
        return false;
    }
    uint32_t entry;
    uint64_t end;
    bool loaded = (flags & MBH_AOUT_KLUDGE) ? mb_load_kludge(m, path, data, len, hdr, &entry, &end, err)
                                            : mb_load_elf(m, path, data, len, &entry, &end, err);
    if (!loaded) {
        return false;
    }

    uint8_t *area = g_malloc0(AREA_SIZE);
    char *cmdline = NULL;
    size_t used = AREA_STRINGS;
    bool ok = false;
    uint32_t mbi_flags = MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME;

    /*
     * Modules: page aligned after the kernel (and never below 1 MiB, where the BIOS area is), in the
     * order given; each one's string names its file.
     */
    char **mods = cfg->initrd ? g_strsplit(cfg->initrd, ",", -1) : g_new0(char *, 1);
    uint64_t next = MAX((end + 0xfff) & ~0xfffull, PC_BOOT_BIOS_END);
    int count = 0;
    for (char **mod = mods; *mod; mod++) {
        if (!**mod) {
            continue;
        }
        uint64_t size;
        if (count == AREA_MAX_MODS) {
            g_set_error(err, PC_BOOT_ERROR, 0, "%s: more than %d modules", *mod, AREA_MAX_MODS);
            goto out;
        }
        if (!pc_boot_file_size(*mod, &size, err)) {
            goto out;
        }
        if (next + size > MIN(m->ram_low, 0x100000000ull)) {
            g_set_error(err, PC_BOOT_ERROR, 0, "%s: module does not fit in guest RAM (%" PRIu64
                        " bytes at 0x%" PRIx64 ": use a larger -m)", *mod, size, next);
            goto out;
        }
        if (!pc_boot_read_into_ram(m, *mod, next, size, err)) {
            goto out;
        }
        uint8_t *e = area + AREA_MODS + 16 * count;
        pc_st32(e, (uint32_t)next);
        pc_st32(e + 4, (uint32_t)(next + size));
        pc_st32(e + 8, mb_add_string(area, &used, *mod));
        next = (next + size + 0xfff) & ~0xfffull;
        count++;
    }
    pc_st32(area + MBI_MODS_COUNT, (uint32_t)count);
    pc_st32(area + MBI_MODS_ADDR, (uint32_t)(PC_BOOT_MB_INFO + AREA_MODS));

    /* The command line as boot loaders pass it: the kernel's name, then its arguments. */
    cmdline = cfg->append && *cfg->append ? g_strdup_printf("%s %s", path, cfg->append)
                                                            : g_strdup(path);
    uint32_t cmd_addr = mb_add_string(area, &used, cmdline);
    uint32_t name_addr = mb_add_string(area, &used, "ember");
    if (!cmd_addr || !name_addr) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: command line too long", path);
        goto out;
    }
    pc_st32(area + MBI_CMDLINE_PTR, cmd_addr);
    pc_st32(area + MBI_LOADER_NAME_PTR, name_addr);

    /* Memory: KiB below 640K and from 1 MiB to the first hole, and the full e820 map. */
    pc_st32(area + MBI_MEM_LOWER, (uint32_t)(PC_BOOT_EBDA >> 10));
    pc_st32(area + MBI_MEM_UPPER, (uint32_t)((MIN(m->ram_low, 0x100000000ull) - PC_BOOT_BIOS_END) >> 10));
    PcE820Entry e820[PC_E820_MAX];
    int n = pc_e820_build(m, e820);
    for (int i = 0; i < n; i++) {
        uint8_t *e = area + AREA_MMAP + 24 * i;
        pc_st32(e, 20);   /* the size field counts the bytes after itself */
        pc_st64(e + 4, e820[i].addr);
        pc_st64(e + 12, e820[i].size);
        pc_st32(e + 20, e820[i].type);
    }
    pc_st32(area + MBI_MMAP_LENGTH, (uint32_t)(24 * n));
    pc_st32(area + MBI_MMAP_ADDR, (uint32_t)(PC_BOOT_MB_INFO + AREA_MMAP));
    pc_st32(area + MBI_FLAGS, mbi_flags);
    pc_boot_ram_write(m, PC_BOOT_MB_INFO, area, AREA_SIZE);

    X86VcpuState *s = &m->vcpus[0].boot_state;
    pc_boot_state_flat32(m, s, entry);
    s->gpr[X86_RAX] = MB_BOOT_MAGIC;
    s->gpr[X86_RBX] = PC_BOOT_MB_INFO;
    ok = true;
out:
    g_strfreev(mods);
    g_free(cmdline);
    g_free(area);
    return ok;
}
