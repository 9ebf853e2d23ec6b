/*
 * The architectural register state of one x86 vCPU as the machine sees it: what the boot code sets
 * (each boot path's entry state) and what accelerators load and report. It mirrors the fields of KVM's
 * kvm_regs/kvm_sregs so the KVM accelerator maps it one to one; the TCG accelerator copies it into its
 * CPUX86State. Neither the machine nor the boot code know which accelerator runs.
 */
#ifndef EMBER_PC_X86_STATE_H
#define EMBER_PC_X86_STATE_H

#include <stdbool.h>
#include <stdint.h>

/* A segment register with its hidden part (the descriptor cache). */
typedef struct X86Segment {
    uint64_t base;
    uint32_t limit;          /* in bytes, already scaled by G */
    uint16_t selector;
    uint8_t type;            /* descriptor type field (4 bits) */
    uint8_t present, dpl, db, s, l, g, avl;
    bool unusable;           /* a null selector loaded in protected mode */
} X86Segment;

typedef struct X86DescTable {
    uint64_t base;
    uint16_t limit;
} X86DescTable;

enum { X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI };

typedef struct X86VcpuState {
    uint64_t gpr[16];        /* RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15 (hardware order) */
    uint64_t rip, rflags;
    X86Segment es, cs, ss, ds, fs, gs, tr, ldt;
    X86DescTable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer;
    uint64_t apic_base;      /* IA32_APIC_BASE */
} X86VcpuState;

/* CR0, CR4 and EFER bits the boot paths use */
#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_WP (1ull << 16)
#define X86_CR0_AM (1ull << 18)
#define X86_CR0_CD (1ull << 30)
#define X86_CR0_NW (1ull << 29)
#define X86_CR0_PG (1ull << 31)
#define X86_CR4_PAE (1ull << 5)
#define X86_CR4_PGE (1ull << 7)
#define X86_CR4_OSFXSR (1ull << 9)
#define X86_EFER_SCE (1ull << 0)
#define X86_EFER_LME (1ull << 8)
#define X86_EFER_LMA (1ull << 10)
#define X86_EFER_NXE (1ull << 11)

/* The state after RESET/INIT (Intel SDM vol. 3, table 9-1): real mode at F000:FFF0. */
void x86_state_reset(X86VcpuState *s, int apic_id, bool bsp);

#endif
