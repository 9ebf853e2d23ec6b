/*
 * What the boot paths (Linux, multiboot, ACPI) share: the low-memory layout of the structures ember
 * builds for the guest, the e820 map, the CPU entry states, and file and RAM helpers.
 */
#ifndef EMBER_PC_BOOT_INTERNAL_H
#define EMBER_PC_BOOT_INTERNAL_H

#include <glib.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>

#include "system/pc/boot/boot.h"
#include "system/pc/machine.h"

/*
 * Low memory (all below the EBDA at 0x9FC00, all RAM in the e820 map except the BIOS area):
 *   0x00400  BIOS data area: the EBDA segment and base memory size, which Linux reads
 *   0x00500  our GDT (selectors 0x10 code, 0x18 data, as Linux's boot protocol wants)
 *   0x07000  Linux's zero page (boot_params)
 *   0x09000  the 64-bit entry's page tables: PML4, PDPT, four page directories (4 GiB, 2 MiB pages)
 *   0x10000  multiboot information, its memory map, module list and strings
 *   0x20000  the command line
 * The kernels we load go at 1 MiB or above; their stacks are their own business.
 */
#define PC_BOOT_BDA          0x400ull
#define PC_BOOT_GDT          0x500ull
#define PC_BOOT_ZERO_PAGE    0x7000ull
#define PC_BOOT_STACK_TOP    0x7000ull        /* a harmless ESP/RSP below the zero page */
#define PC_BOOT_PML4         0x9000ull
#define PC_BOOT_PDPT         0xA000ull
#define PC_BOOT_PD           0xB000ull        /* four pages */
#define PC_BOOT_MB_INFO      0x10000ull
#define PC_BOOT_MB_INFO_END  0x20000ull
#define PC_BOOT_CMDLINE      0x20000ull
#define PC_BOOT_CMDLINE_MAX  0x10000ull       /* our own limit: the area up to 0x30000 */

#define PC_BOOT_SEL_CODE     0x10
#define PC_BOOT_SEL_DATA     0x18

/* The BIOS area: reserved in the e820 map; the ACPI tables live in it */
#define PC_BOOT_EBDA         0x9FC00ull
#define PC_BOOT_BIOS_END     0x100000ull
#define PC_BOOT_ACPI_BASE    0xE0000ull       /* tables from here, RSDP at PC_ACPI_RSDP_ADDR */

/* e820 */
enum { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3, E820_NVS = 4 };
#define PC_E820_MAX 8

typedef struct PcE820Entry {
    uint64_t addr, size;
    uint32_t type;
} PcE820Entry;

/* The machine's memory map as a BIOS would report it; returns the number of entries. */
int pc_e820_build(const Machine *m, PcE820Entry out[PC_E820_MAX]);

/* Entry states */
/* The GDT (null, null, flat code, flat data) at PC_BOOT_GDT; code64 picks a long-mode code segment. */
void pc_boot_write_gdt(Machine *m, bool code64);
/* Flat 4 GiB 32-bit protected mode, paging off, interrupts off, the GDT loaded. */
void pc_boot_state_flat32(Machine *m, X86VcpuState *s, uint32_t entry);
/* Long mode with the first 4 GiB identity-mapped (page tables written at PC_BOOT_PML4). */
void pc_boot_state_long64(Machine *m, X86VcpuState *s, uint64_t entry);

/* Files and RAM */
/* The whole file, or false with "FILE: reason". */
bool pc_boot_read_file(const char *path, uint8_t **data, gsize *len, GError **err);
/* The size of a file, or false with "FILE: reason". */
bool pc_boot_file_size(const char *path, uint64_t *size, GError **err);
/* Read a file straight into guest RAM at gpa (which must hold size bytes). */
bool pc_boot_read_into_ram(Machine *m, const char *path, uint64_t gpa, uint64_t size, GError **err);
/* Copy into guest RAM; false if [gpa, gpa+len) is not all RAM. */
bool pc_boot_ram_write(Machine *m, uint64_t gpa, const void *buf, uint64_t len);
bool pc_boot_ram_zero(Machine *m, uint64_t gpa, uint64_t len);

/* The two kinds of kernel; each returns false with err set on failure. */
bool pc_boot_is_bzimage(const uint8_t *data, gsize len);
bool pc_boot_linux(Machine *m, const PcBootConfig *cfg, const uint8_t *data, gsize len, GError **err);
/* Finds the multiboot header: its file offset, or -1. */
long pc_boot_multiboot_header(const uint8_t *data, gsize len);
bool pc_boot_multiboot(Machine *m, const PcBootConfig *cfg, const uint8_t *data, gsize len, long hdr,
                       GError **err);

/* Little-endian field access into byte buffers (the structures are all little-endian). */
static inline uint16_t pc_ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t pc_ld32(const uint8_t *p) { return pc_ld16(p) | (uint32_t)pc_ld16(p + 2) << 16; }
static inline uint64_t pc_ld64(const uint8_t *p) { return pc_ld32(p) | (uint64_t)pc_ld32(p + 4) << 32; }
static inline void pc_st16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void pc_st32(uint8_t *p, uint32_t v) { pc_st16(p, (uint16_t)v); pc_st16(p + 2, (uint16_t)(v >> 16)); }
static inline void pc_st64(uint8_t *p, uint64_t v) { pc_st32(p, (uint32_t)v); pc_st32(p + 4, (uint32_t)(v >> 32)); }

#endif
