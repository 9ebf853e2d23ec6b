/*
 * The system half of the x86 CPU: what a kernel sees and user mode never needs. It hangs off
 * CPUX86State.sys, which is NULL for a CPU created for user mode, so every system-only path starts by
 * testing that (or the X86_TBFLAG_SYS translation flag).
 *
 * Files: sys-translate.c (block keys, code fetch and decoding in the current mode), sys-insn.c (the
 * emitters of system instructions), sys-ctl.c (their helpers: control registers, descriptor tables,
 * far transfers, SYSCALL/SYSRET...), sys-seg.c (descriptors, segment loads, mode flags), sys-mmu.c (page
 * walk, soft-MMU glue), sys-excp.c (exception/interrupt delivery, IRET), sys-msr.c (RDMSR/WRMSR, CPUID
 * for a system CPU), sys-io.c (port and string I/O, CLI/STI).
 */
#ifndef EMBER_X86_SYS_H
#define EMBER_X86_SYS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/target-x86/translate.h"
#include "core/tcg/softmmu.h"

/* Segment attributes as in a descriptor's bits 40..55 (the VMX access-rights layout). */
#define SEG_ATTR_TYPE 0x000f
#define SEG_ATTR_S (1u << 4)
#define SEG_ATTR_DPL_SHIFT 5
#define SEG_ATTR_P (1u << 7)
#define SEG_ATTR_L (1u << 13)
#define SEG_ATTR_DB (1u << 14)
#define SEG_ATTR_G (1u << 15)
#define SEG_ATTR_UNUSABLE (1u << 16)

typedef struct X86SegCache {
    uint64_t base;
    uint32_t limit;
    uint32_t attr;
    uint16_t sel;
} X86SegCache;

/* What the machine provides to the CPU (system/pc fills it; core never includes system headers). */
typedef struct X86SysCallbacks {
    uint32_t (*io_read)(void *owner, uint16_t port, unsigned size);
    void (*io_write)(void *owner, uint16_t port, uint32_t value, unsigned size);
    uint64_t (*get_apic_base)(void *owner);
    bool (*set_apic_base)(void *owner, uint64_t value);
    uint8_t (*get_tpr)(void *owner);
    void (*set_tpr)(void *owner, uint8_t cr8);
    /* A maskable interrupt is waiting (HLT with IF=1 does not sleep then). */
    bool (*interrupt_pending)(void *owner);
} X86SysCallbacks;

#define X86_MISC_ENABLE_FAST_STRINGS (1ull << 0)   /* IA32_MISC_ENABLE bit 0 */
#define X86_NB_MTRR_VAR 8
#define X86_NB_MTRR_FIXED 11

typedef struct X86SysState {
    uint64_t cr0, cr2, cr3, cr4, efer;
    uint32_t seg_limit[X86_NB_SEGS];
    uint32_t seg_attr[X86_NB_SEGS];
    X86SegCache ldtr, tr;
    uint64_t gdt_base, idt_base;
    uint32_t gdt_limit, idt_limit;
    int cpl;
    /* MSRs */
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base, tsc_aux;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t pat, mtrr_def_type, mtrr_fixed[X86_NB_MTRR_FIXED], mtrr_var[X86_NB_MTRR_VAR * 2];
    uint64_t misc_enable;
    uint64_t dr[8];
    uint32_t apic_id;
    /* Events */
    bool halted;
    bool nmi_blocked;                /* from NMI delivery until the next IRET */
    bool soft_int;                   /* the pending env->exception comes from INT n / INT3 / INTO */
    uint64_t irq_shadow_pc;          /* interrupts stay blocked while RIP equals this (STI, MOV SS) */
    bool irq_shadow;
    /* The owner (system/pc's Vcpu) and its services; these stay last (x86_sys_reset keeps them) */
    void *owner;
    const X86SysCallbacks *cb;
    SoftMMU mmu;
} X86SysState;

static inline X86SysState *x86_sys(CPUX86State *env) { return env->sys; }

/* Translation flags derived from the state (sys-seg.c): call after any change of CS, SS, CR0, EFER. */
void x86_sys_update_hflags(CPUX86State *env);
static inline bool x86_sys_long_mode(const CPUX86State *env) { return env->sys->efer & (1ull << 10); }
static inline bool x86_sys_code64(const CPUX86State *env)
{
    return !(env->cs_flags & (X86_TBFLAG_CODE32 | X86_TBFLAG_CODE16));
}

/* Create / free the system state of env (sys-mmu.c sets up its soft-MMU; mem ops go in env->tcg.mem). */
void x86_sys_init(CPUX86State *env, const X86SysCallbacks *cb, const SoftMMUPhys *phys, void *owner);
void x86_sys_free(CPUX86State *env);
/* The state after RESET (real mode at F000:FFF0 is the caller's choice through x86-state). */
void x86_sys_reset(CPUX86State *env);

/* --- segments (sys-seg.c) --- */
void x86_sys_set_seg(CPUX86State *env, int seg, uint16_t sel, uint64_t base, uint32_t limit, uint32_t attr);
/* A segment-register load with the checks of the current mode; faults #GP/#NP/#SS(selector). */
void x86_sys_load_seg(CPUX86State *env, int seg, uint16_t sel);
/* Read the 8-byte descriptor for sel from the GDT/LDT (raises #GP(sel) when out of the table). */
uint64_t x86_sys_read_desc(CPUX86State *env, uint16_t sel, uint64_t *hi_for_system);
uint64_t x86_desc_base(uint64_t d);
uint32_t x86_desc_limit(uint64_t d);
static inline uint32_t x86_desc_attr(uint64_t d) { return (uint32_t)(d >> 40) & 0xf0ff; }

/* --- memory (sys-mmu.c): accesses as the CPU itself makes them (descriptor tables, stacks) --- */
enum { X86_MMU_KERNEL = 0, X86_MMU_USER = 1 };
int x86_sys_mmu_index(CPUX86State *env);
uint64_t x86_sys_ld(CPUX86State *env, uint64_t vaddr, unsigned size, int mmu_idx);
void x86_sys_st(CPUX86State *env, uint64_t vaddr, uint64_t value, unsigned size, int mmu_idx);
/* Instruction bytes at a linear address, up to len; returns how many could be fetched (faults only if
   none could and `fault` is set). */
size_t x86_sys_fetch_code(CPUX86State *env, uint64_t linear, uint8_t *buf, size_t len, bool fault);
/* The physical address of linear for a code fetch, or ~0 if the walk would fault (never raises). */
uint64_t x86_sys_code_paddr(CPUX86State *env, uint64_t linear);
/* Page-table changes: flush the TLB (CR3 write, CR0/CR4 paging bits) or one page (INVLPG). */
void x86_sys_tlb_flush(CPUX86State *env);
/* A CR3 write: global pages (PTE.G with CR4.PGE) stay. */
void x86_sys_tlb_flush_nonglobal(CPUX86State *env);
void x86_sys_tlb_flush_page(CPUX86State *env, uint64_t vaddr);
/* Byte ranges at the current CPL's rights (every page checked before anything is written). */
void x86_sys_read(CPUX86State *env, uint64_t vaddr, void *buf, uint64_t len);
void x86_sys_write(CPUX86State *env, uint64_t vaddr, const void *buf, uint64_t len);
/* Host-executed instructions (hostexec) and XSAVE-family images with a guest memory operand: run `fn` on
   a host pointer to the operand, or on a bounce buffer when it crosses a page or is not RAM. */
typedef uint64_t (*X86MemFn)(CPUX86State *env, void *mem, void *opaque);
uint64_t x86_sys_with_mem(CPUX86State *env, uint64_t vaddr, uint32_t len, bool read, bool write, X86MemFn fn,
                          void *opaque);
/* A host pointer for a helper's guest access of len bytes (NULL: crosses a page or MMIO; use a bounce). */
void *x86_sys_host_ptr(CPUX86State *env, uint64_t vaddr, uint64_t len, bool write);

/* --- the stack as the CPU itself uses it (sys-ctl.c): SS:RSP with the current stack width --- */
uint64_t x86_sys_sp_mask(const CPUX86State *env);
void x86_sys_push(CPUX86State *env, uint64_t value, unsigned bytes);
/* The value `offset` bytes above the stack pointer (nothing is changed: callers commit RSP later). */
uint64_t x86_sys_stack_peek(CPUX86State *env, uint64_t offset, unsigned bytes);
void x86_sys_set_rsp(CPUX86State *env, uint64_t rsp);
/* RFLAGS as IRET/POPF may load it at this CPL and IOPL (bits: 16, 32 or 64). */
void x86_sys_load_eflags(CPUX86State *env, uint64_t value, unsigned bits);

/* --- control registers (sys-ctl.c) --- */
void x86_sys_write_cr(CPUX86State *env, int cr, uint64_t value);
uint64_t x86_sys_read_cr(CPUX86State *env, int cr);

/* Load CS from a code descriptor (far transfers, interrupts, IRET): the selector's RPL becomes the CPL. */
void x86_sys_load_cs_desc(CPUX86State *env, uint16_t sel, uint64_t desc, int cpl);

/* --- exceptions and interrupts (sys-excp.c) --- */
typedef enum X86DeliverResult { X86_DELIVER_OK, X86_DELIVER_SHUTDOWN } X86DeliverResult;
/* Deliver vector through the IDT/IVT with the return address env->tcg.pc. `soft`: INT n (no error code,
   DPL check); `has_err`: push error_code. A fault during delivery becomes #DF, a third one a shutdown. */
X86DeliverResult x86_sys_deliver(CPUX86State *env, int vector, bool soft, int error_code);
/* Deliver the exception a block left in env->exception (TCG_EXIT_EXCEPTION). */
X86DeliverResult x86_sys_deliver_pending(CPUX86State *env);
bool x86_sys_interrupts_enabled(CPUX86State *env);   /* IF=1 and no interrupt shadow */

/* --- MSRs (sys-msr.c) --- */
bool x86_sys_rdmsr(CPUX86State *env, uint32_t msr, uint64_t *value);
bool x86_sys_wrmsr(CPUX86State *env, uint32_t msr, uint64_t value);
void x86_sys_cpuid(CPUX86State *env, uint32_t leaf, uint32_t sub, uint32_t out[4]);

/* --- the translator's hook (sys-insn.c): emit a system-mode instruction; false: not one of ours --- */
bool x86_sys_translate_insn(DisasContext *dc);

#endif
