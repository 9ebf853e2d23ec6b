/*
 * The Linux x86 boot protocol (Documentation/x86/boot.rst) as a 32/64-bit boot loader uses it: the
 * real-mode setup code is not run; ember builds the zero page itself, loads the protected-mode kernel
 * and enters it directly.
 *
 * Which entry: the 64-bit one (startup_64, load address + 0x200) whenever the kernel has it
 * (XLF_KERNEL_64). Long mode with identity-mapped page tables is also where the kernel's own 32-bit
 * entry would go next, so starting there skips a mode switch; with KVM it is one set of sregs either
 * way. Kernels without it get the 32-bit entry (flat segments, paging off).
 */
#include "system/pc/boot/boot-internal.h"

#include <string.h>

/* Setup header fields: offsets in the file's first sector(s) and in the zero page alike. */
enum {
    HDR_SETUP_SECTS = 0x1f1,
    HDR_BOOT_FLAG = 0x1fe,        /* 0xAA55 */
    HDR_JUMP = 0x200,             /* its second byte + 0x202 is the end of the header */
    HDR_MAGIC = 0x202,            /* "HdrS" */
    HDR_VERSION = 0x206,
    HDR_TYPE_OF_LOADER = 0x210,
    HDR_LOADFLAGS = 0x211,
    HDR_CODE32_START = 0x214,
    HDR_RAMDISK_IMAGE = 0x218,
    HDR_RAMDISK_SIZE = 0x21c,
    HDR_CMD_LINE_PTR = 0x228,
    HDR_INITRD_ADDR_MAX = 0x22c,
    HDR_KERNEL_ALIGNMENT = 0x230,
    HDR_RELOCATABLE = 0x234,
    HDR_XLOADFLAGS = 0x236,
    HDR_CMDLINE_SIZE = 0x238,
    HDR_PREF_ADDRESS = 0x258,
    HDR_INIT_SIZE = 0x260,
    HDR_LIMIT = 0x290,            /* where boot_params' next field starts: the header never goes past */
};

/* Other zero page fields (arch/x86 boot_params layout, Documentation/x86/zero-page.rst) */
enum {
    BP_ACPI_RSDP_ADDR = 0x070,
    BP_ALT_MEM_K = 0x1e0,
    BP_E820_ENTRIES = 0x1e8,
    BP_E820_TABLE = 0x2d0,        /* 128 entries of 20 bytes: addr, size, type */
    BP_SIZE = 0x1000,
};

enum { LOADED_HIGH = 1u << 0 };
enum { XLF_KERNEL_64 = 1u << 0 };
#define TYPE_OF_LOADER_UNDEFINED 0xff   /* "a boot loader without an assigned id" */
#define STARTUP_64_OFFSET 0x200

bool pc_boot_is_bzimage(const uint8_t *data, gsize len)
{
    return len >= HDR_LIMIT && pc_ld16(data + HDR_BOOT_FLAG) == 0xaa55 &&
           memcmp(data + HDR_MAGIC, "HdrS", 4) == 0;
}

/* The kernel image as the header describes it */
typedef struct LinuxImage {
    unsigned version;             /* 0x020f = 2.15 */
    uint64_t load;                /* where the protected-mode kernel goes */
    const uint8_t *kernel;        /* the protected-mode part of the file */
    uint64_t kernel_len;
    uint64_t mem_end;             /* end of RAM the kernel uses while it decompresses and starts */
    uint64_t initrd_max;          /* highest byte address an initrd may occupy */
    uint64_t cmdline_max;         /* bytes without the final NUL */
    bool entry64;
} LinuxImage;

static bool linux_parse(Machine *m, const char *path, const uint8_t *data, gsize len, LinuxImage *img,
                        GError **err)
{
    img->version = pc_ld16(data + HDR_VERSION);
    if (img->version < 0x206) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: kernel too old (boot protocol %u.%02u, ember needs 2.06 or later)",
                    path, img->version >> 8, img->version & 0xff);
        return false;
    }
    if (!(data[HDR_LOADFLAGS] & LOADED_HIGH)) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: not a bzImage (a zImage loads below 1 MiB)", path);
        return false;
    }
    unsigned setup_sects = data[HDR_SETUP_SECTS] ? data[HDR_SETUP_SECTS] : 4;
    uint64_t kernel_off = (uint64_t)(setup_sects + 1) * 512;
    if (kernel_off >= len) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: truncated bzImage (no protected-mode kernel after the setup code)",
                    path);
        return false;
    }
    img->kernel = data + kernel_off;
    img->kernel_len = len - kernel_off;

    /* A relocatable kernel (2.10+) says where it would like to be; otherwise code32_start is the place. */
    bool relocatable = img->version >= 0x20a && data[HDR_RELOCATABLE];
    uint64_t pref = img->version >= 0x20a ? pc_ld64(data + HDR_PREF_ADDRESS) : 0;
    img->load = relocatable && pref ? pref : pc_ld32(data + HDR_CODE32_START);
    if (img->load < PC_BOOT_BIOS_END) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: kernel load address 0x%" PRIx64 " is below 1 MiB",
                    path, img->load);
        return false;
    }
    uint64_t init_size = img->version >= 0x20a ? pc_ld32(data + HDR_INIT_SIZE) : 0;
    img->mem_end = img->load + MAX(img->kernel_len, init_size);
    if (img->mem_end > m->ram_low) {
        g_set_error(err, PC_BOOT_ERROR, 0,
                    "%s: the kernel needs RAM up to %" PRIu64 " MiB, the guest has %" PRIu64
                    " MiB below 4 GiB (use a larger -m)", path, (img->mem_end + (1 << 20) - 1) >> 20,
                    m->ram_low >> 20);
        return false;
    }
    img->initrd_max = pc_ld32(data + HDR_INITRD_ADDR_MAX);
    if (img->initrd_max == 0) {
        img->initrd_max = 0x37ffffff;   /* the protocol's limit for kernels that do not say */
    }
    img->cmdline_max = pc_ld32(data + HDR_CMDLINE_SIZE);
    img->entry64 = img->version >= 0x20c && (pc_ld16(data + HDR_XLOADFLAGS) & XLF_KERNEL_64);
    return true;
}

/*
 * The initrd goes as high as the kernel allows (initrd_addr_max) and RAM goes, page aligned, above
 * everything the kernel itself uses: the decompressor must not overwrite it.
 */
static bool linux_load_initrd(Machine *m, const char *path, const LinuxImage *img, uint8_t *bp, GError **err)
{
    uint64_t size;
    if (!pc_boot_file_size(path, &size, err)) {
        return false;
    }
    uint64_t top = MIN(img->initrd_max + 1, m->ram_low);
    uint64_t bottom = (img->mem_end + 0xfff) & ~0xfffull;
    if (size > top || ((top - size) & ~0xfffull) < bottom) {
        uint64_t room = top > bottom ? top - bottom : 0;
        g_set_error(err, PC_BOOT_ERROR, 0,
                    "%s: initrd does not fit (%" PRIu64 " bytes; %" PRIu64
                    " fit between the kernel and 0x%" PRIx64 ": use a larger -m)", path, size, room, top);
        return false;
    }
    uint64_t addr = (top - size) & ~0xfffull;
    if (!pc_boot_read_into_ram(m, path, addr, size, err)) {
        return false;
    }
    pc_st32(bp + HDR_RAMDISK_IMAGE, (uint32_t)addr);
    pc_st32(bp + HDR_RAMDISK_SIZE, (uint32_t)size);
    return true;
}

bool pc_boot_linux(Machine *m, const PcBootConfig *cfg, const uint8_t *data, gsize len, GError **err)
{
    const char *path = cfg->kernel;
    LinuxImage img;
    if (!linux_parse(m, path, data, len, &img, err)) {
        return false;
    }

    /* The zero page: the setup header copied in as the kernel wrote it, then our fields. */
    uint8_t bp[BP_SIZE] = { 0 };
    size_t hdr_end = MIN((size_t)HDR_JUMP + 2 + data[HDR_JUMP + 1], (size_t)HDR_LIMIT);
    memcpy(bp + HDR_SETUP_SECTS, data + HDR_SETUP_SECTS, hdr_end - HDR_SETUP_SECTS);
    bp[HDR_TYPE_OF_LOADER] = TYPE_OF_LOADER_UNDEFINED;

    const char *append = cfg->append ? cfg->append : "";
    size_t cmdlen = strlen(append);
    if (cmdlen > img.cmdline_max || cmdlen >= PC_BOOT_CMDLINE_MAX) {
        g_set_error(err, PC_BOOT_ERROR, 0, "%s: command line too long (%zu bytes, the kernel takes %" PRIu64 ")",
                    path, cmdlen, (uint64_t)MIN(img.cmdline_max, PC_BOOT_CMDLINE_MAX - 1));
        return false;
    }
    pc_boot_ram_write(m, PC_BOOT_CMDLINE, append, cmdlen + 1);
    pc_st32(bp + HDR_CMD_LINE_PTR, PC_BOOT_CMDLINE);

    if (cfg->initrd && !linux_load_initrd(m, cfg->initrd, &img, bp, err)) {
        return false;
    }

    PcE820Entry e820[PC_E820_MAX];
    int n = pc_e820_build(m, e820);
    for (int i = 0; i < n; i++) {
        uint8_t *e = bp + BP_E820_TABLE + 20 * i;
        pc_st64(e, e820[i].addr);
        pc_st64(e + 8, e820[i].size);
        pc_st32(e + 16, e820[i].type);
    }
    bp[BP_E820_ENTRIES] = (uint8_t)n;
    pc_st32(bp + BP_ALT_MEM_K, (uint32_t)MIN((m->ram_low - PC_BOOT_BIOS_END) >> 10, 0xffffffffull));
    if (img.version >= 0x20e) {
        pc_st64(bp + BP_ACPI_RSDP_ADDR, PC_ACPI_RSDP_ADDR);
    }
    pc_boot_ram_write(m, PC_BOOT_ZERO_PAGE, bp, sizeof(bp));
    pc_boot_ram_write(m, img.load, img.kernel, img.kernel_len);

    X86VcpuState *s = &m->vcpus[0].boot_state;
    if (img.entry64) {
        pc_boot_state_long64(m, s, img.load + STARTUP_64_OFFSET);
    } else {
        pc_boot_state_flat32(m, s, (uint32_t)img.load);
    }
    /* Both entries take the zero page in (R/E)SI; the 32-bit one also wants EBP, EDI, EBX zero. */
    s->gpr[X86_RSI] = PC_BOOT_ZERO_PAGE;
    s->gpr[X86_RBP] = s->gpr[X86_RDI] = s->gpr[X86_RBX] = 0;
    return true;
}
