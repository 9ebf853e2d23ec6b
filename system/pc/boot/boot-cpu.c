/*
 * The CPU states the kernels' entry points expect, and the memory they rely on: a GDT with flat
 * segments at the selectors Linux names (__BOOT_CS 0x10, __BOOT_DS 0x18), and for long mode page
 * tables that identity-map the first 4 GiB with 2 MiB pages.
 */
#include "system/pc/boot/boot-internal.h"

#include <string.h>

/* A descriptor: base, limit (20 bits, in 4 KiB units with G), access byte, flags nibble (G, D/B, L, AVL). */
static uint64_t gdt_entry(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 | (uint64_t)access << 40 |
           (uint64_t)((limit >> 16) & 0xf) << 48 | (uint64_t)(flags & 0xf) << 52 |
           (uint64_t)(base >> 24) << 56;
}

enum {
    ACC_CODE = 0x9b,   /* present, DPL 0, code, execute/read, accessed */
    ACC_DATA = 0x93,   /* present, DPL 0, data, read/write, accessed */
    FLG_G = 0x8, FLG_DB = 0x4, FLG_L = 0x2,
};

void pc_boot_write_gdt(Machine *m, bool code64)
{
    uint8_t gdt[32] = { 0 };
    pc_st64(gdt + PC_BOOT_SEL_CODE, gdt_entry(0, 0xfffff, ACC_CODE, code64 ? FLG_G | FLG_L : FLG_G | FLG_DB));
    pc_st64(gdt + PC_BOOT_SEL_DATA, gdt_entry(0, 0xfffff, ACC_DATA, FLG_G | FLG_DB));
    pc_boot_ram_write(m, PC_BOOT_GDT, gdt, sizeof(gdt));
}

/* The hidden part of a flat segment, matching what pc_boot_write_gdt wrote for its selector. */
static X86Segment flat_segment(uint16_t selector, uint8_t type, bool db, bool l)
{
    return (X86Segment){ .base = 0, .limit = 0xffffffff, .selector = selector, .type = type, .present = 1,
                         .dpl = 0, .db = db, .s = 1, .l = l, .g = 1 };
}

static void pc_boot_state_common(Machine *m, X86VcpuState *s, bool code64)
{
    /* Start from the reset state: TR, LDT, IDT and the APIC base stay as a real CPU leaves them. */
    x86_state_reset(s, 0, true);
    pc_boot_write_gdt(m, code64);
    s->gdt = (X86DescTable){ .base = PC_BOOT_GDT, .limit = 32 - 1 };
    s->cs = flat_segment(PC_BOOT_SEL_CODE, 0xb, !code64, code64);
    s->ds = s->es = s->ss = s->fs = s->gs = flat_segment(PC_BOOT_SEL_DATA, 0x3, true, false);
    s->rflags = 0x2;                                  /* interrupts off */
    s->cr0 = X86_CR0_PE | X86_CR0_ET;                 /* caches on (reset has CD/NW set) */
    s->gpr[X86_RDX] = 0;
    s->gpr[X86_RSP] = PC_BOOT_STACK_TOP;
}

void pc_boot_state_flat32(Machine *m, X86VcpuState *s, uint32_t entry)
{
    pc_boot_state_common(m, s, false);
    s->rip = entry;
}

void pc_boot_state_long64(Machine *m, X86VcpuState *s, uint64_t entry)
{
    enum { PTE_P = 1, PTE_RW = 2, PTE_PS = 0x80 };
    uint8_t page[4096];

    memset(page, 0, sizeof(page));
    pc_st64(page, PC_BOOT_PDPT | PTE_P | PTE_RW);
    pc_boot_ram_write(m, PC_BOOT_PML4, page, sizeof(page));

    memset(page, 0, sizeof(page));
    for (int i = 0; i < 4; i++) {
        pc_st64(page + 8 * i, (PC_BOOT_PD + 4096ull * i) | PTE_P | PTE_RW);
    }
    pc_boot_ram_write(m, PC_BOOT_PDPT, page, sizeof(page));

    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 512; j++) {
            uint64_t phys = ((uint64_t)i << 30) | ((uint64_t)j << 21);
            pc_st64(page + 8 * j, phys | PTE_P | PTE_RW | PTE_PS);
        }
        pc_boot_ram_write(m, PC_BOOT_PD + 4096ull * i, page, sizeof(page));
    }

    pc_boot_state_common(m, s, true);
    s->cr0 |= X86_CR0_PG;
    s->cr3 = PC_BOOT_PML4;
    s->cr4 = X86_CR4_PAE;
    s->efer = X86_EFER_LME | X86_EFER_LMA;
    s->rip = entry;
}
