/*
 * Helpers of the privileged and mode-changing instructions (emitted by sys-insn.c): control and debug
 * registers, descriptor-table registers, LLDT/LTR, segment loads, far JMP/CALL/RET (same privilege, and
 * RETF to an outer level), POPF, SYSCALL/SYSRET, SWAPGS, HLT, INVLPG, XSETBV; and the CPU's own stack
 * accesses that interrupt delivery shares.
 */
#include "core/target-x86/helpers.h"
#include "core/target-x86/sys.h"

#define CR0_PE (1ull << 0)
#define CR0_TS (1ull << 3)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_PGE (1ull << 7)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define FLAG_IOPL (3u << 12)
#define FLAG_NT (1u << 14)
#define FLAG_RF (1u << 16)
#define FLAG_VM (1u << 17)

/* --- the stack --- */

uint64_t x86_sys_sp_mask(const CPUX86State *env)
{
    if (x86_sys_code64(env)) {
        return ~0ull;
    }
    return (env->sys->seg_attr[R_SS] & SEG_ATTR_DB) ? 0xffffffffu : 0xffffu;
}

void x86_sys_set_rsp(CPUX86State *env, uint64_t rsp)
{
    uint64_t mask = x86_sys_sp_mask(env);
    if (mask == 0xffff) {
        env->regs[R_ESP] = (env->regs[R_ESP] & ~0xffffull) | (rsp & 0xffff);
    } else {
        env->regs[R_ESP] = rsp & mask;
    }
}

void x86_sys_push(CPUX86State *env, uint64_t value, unsigned bytes)
{
    uint64_t mask = x86_sys_sp_mask(env);
    uint64_t sp = (env->regs[R_ESP] - bytes) & mask;
    x86_sys_st(env, env->seg_base[R_SS] + sp, value, bytes, x86_sys_mmu_index(env));
    x86_sys_set_rsp(env, sp);
}

uint64_t x86_sys_stack_peek(CPUX86State *env, uint64_t offset, unsigned bytes)
{
    uint64_t mask = x86_sys_sp_mask(env);
    return x86_sys_ld(env, env->seg_base[R_SS] + ((env->regs[R_ESP] + offset) & mask), bytes,
                      x86_sys_mmu_index(env));
}

void x86_sys_load_eflags(CPUX86State *env, uint64_t value, unsigned bits)
{
    X86SysState *sys = env->sys;
    uint64_t mask = X86_ARITH_FLAGS | X86_TF | X86_DF | FLAG_NT | X86_AC | X86_ID;
    int iopl = (int)((x86_get_eflags(env) >> 12) & 3);
    if (!(sys->cr0 & CR0_PE) || sys->cpl == 0) {
        mask |= X86_IF | FLAG_IOPL;
    } else if (sys->cpl <= iopl) {
        mask |= X86_IF;
    }
    if (bits == 16) {
        mask &= 0xffff;
    }
    x86_set_eflags(env, value, mask);
}

/* --- control registers --- */

uint64_t x86_sys_read_cr(CPUX86State *env, int cr)
{
    X86SysState *sys = env->sys;
    switch (cr) {
    case 0: return sys->cr0;
    case 2: return sys->cr2;
    case 3: return sys->cr3;
    case 4: return sys->cr4;
    case 8: return sys->cb && sys->cb->get_tpr ? sys->cb->get_tpr(sys->owner) : 0;
    default: x86_raise_exception(env, EXCP_UD, 0, 0);
    }
}

void x86_sys_write_cr(CPUX86State *env, int cr, uint64_t value)
{
    X86SysState *sys = env->sys;
    switch (cr) {
    case 0: {
        value |= 0x10;   /* ET is hardwired */
        if ((value >> 32) || ((value & CR0_PG) && !(value & CR0_PE))) {
            x86_raise_exception(env, EXCP_GP, 0, 0);
        }
        uint64_t changed = sys->cr0 ^ value;
        if ((value & CR0_PG) && !(sys->cr0 & CR0_PG) && (sys->efer & EFER_LME)) {
            if (!(sys->cr4 & CR4_PAE)) {
                x86_raise_exception(env, EXCP_GP, 0, 0);
            }
            sys->efer |= EFER_LMA;
        }
        if (!(value & CR0_PG)) {
            sys->efer &= ~EFER_LMA;
        }
        sys->cr0 = value;
        if (changed & (CR0_PG | CR0_WP | CR0_PE)) {
            x86_sys_tlb_flush(env);
        }
        if (!(value & CR0_PE)) {
            sys->cpl = 0;
        }
        x86_sys_update_hflags(env);
        break;
    }
    case 2:
        sys->cr2 = value;
        break;
    case 3:
        sys->cr3 = value;
        x86_sys_tlb_flush_nonglobal(env);
        break;
    case 4: {
        if ((sys->efer & EFER_LMA) && !(value & CR4_PAE)) {
            x86_raise_exception(env, EXCP_GP, 0, 0);
        }
        uint64_t changed = sys->cr4 ^ value;
        sys->cr4 = value;
        if (changed & (CR4_PSE | CR4_PAE | CR4_PGE | (1ull << 17) /* PCIDE */)) {
            x86_sys_tlb_flush(env);
        }
        break;
    }
    case 8:
        if (sys->cb && sys->cb->set_tpr) {
            sys->cb->set_tpr(sys->owner, (uint8_t)(value & 0xf));
        }
        break;
    default:
        x86_raise_exception(env, EXCP_UD, 0, 0);
    }
}

void helper_sys_write_cr(CPUX86State *env, uint32_t cr, uint64_t value)
{
    if (!x86_sys_code64(env)) {
        value &= 0xffffffffu;
    }
    x86_sys_write_cr(env, (int)cr, value);
}

uint64_t helper_sys_read_cr(CPUX86State *env, uint32_t cr)
{
    return x86_sys_read_cr(env, (int)cr);
}

uint64_t helper_sys_mov_dr(CPUX86State *env, uint32_t which, uint64_t value)
{
    int dr = (int)(which & 0xff);
    if (dr == 4 || dr == 5) {
        dr += 2;   /* aliases of DR6/DR7 (CR4.DE clear) */
    }
    if (dr > 7) {
        x86_raise_exception(env, EXCP_UD, 0, 0);
    }
    if (which & 0x100) {
        env->sys->dr[dr] = value;
        return 0;
    }
    if (dr == 6) {
        return env->sys->dr[6] | 0xffff0ff0u;
    }
    if (dr == 7) {
        return env->sys->dr[7] | 0x400;
    }
    return env->sys->dr[dr];
}

/* --- segments and descriptor tables --- */

void helper_sys_load_seg(CPUX86State *env, uint32_t seg, uint32_t sel)
{
    x86_sys_load_seg(env, (int)seg, (uint16_t)sel);
    if (seg == R_SS) {
        /* MOV SS / POP SS block interrupts for one instruction. */
        env->sys->irq_shadow = true;
        env->sys->irq_shadow_pc = env->tcg.insn_pc;
    }
}

void helper_sys_lgdt(CPUX86State *env, uint64_t addr, uint32_t which, uint32_t bits)
{
    int idx = x86_sys_mmu_index(env);
    uint32_t limit = (uint32_t)x86_sys_ld(env, addr, 2, idx);
    uint64_t base = bits == 64 ? x86_sys_ld(env, addr + 2, 8, idx) : x86_sys_ld(env, addr + 2, 4, idx);
    if (bits == 16) {
        base &= 0xffffff;
    }
    if (which == 0) {
        env->sys->gdt_base = base, env->sys->gdt_limit = limit;
    } else {
        env->sys->idt_base = base, env->sys->idt_limit = limit;
    }
}

void helper_sys_sgdt(CPUX86State *env, uint64_t addr, uint32_t which)
{
    int idx = x86_sys_mmu_index(env);
    uint64_t base = which == 0 ? env->sys->gdt_base : env->sys->idt_base;
    uint32_t limit = which == 0 ? env->sys->gdt_limit : env->sys->idt_limit;
    unsigned n = x86_sys_code64(env) ? 8 : 4;
    /* Check both parts before writing either. */
    x86_sys_host_ptr(env, addr, 1, true);
    x86_sys_host_ptr(env, addr + 1 + n, 1, true);
    x86_sys_st(env, addr, limit, 2, idx);
    x86_sys_st(env, addr + 2, base, n, idx);
}

void helper_sys_lldt(CPUX86State *env, uint32_t sel)
{
    X86SysState *sys = env->sys;
    sel &= 0xffff;
    if (!(sel & ~3u)) {
        sys->ldtr = (X86SegCache){.sel = (uint16_t)sel, .attr = SEG_ATTR_UNUSABLE};
        return;
    }
    if (sel & 4) {
        x86_raise_exception(env, EXCP_GP, (int)(sel & 0xfffc), 0);
    }
    bool lma = sys->efer & EFER_LMA;
    uint64_t hi = 0;
    uint64_t d = x86_sys_read_desc(env, (uint16_t)sel, lma ? &hi : NULL);
    uint32_t attr = x86_desc_attr(d);
    if ((attr & SEG_ATTR_S) || (attr & 0xf) != 2) {
        x86_raise_exception(env, EXCP_GP, (int)(sel & 0xfffc), 0);
    }
    if (!(attr & SEG_ATTR_P)) {
        x86_raise_exception(env, EXCP_NP, (int)(sel & 0xfffc), 0);
    }
    sys->ldtr = (X86SegCache){.sel = (uint16_t)sel, .base = x86_desc_base(d) | (lma ? (hi & 0xffffffffu) << 32 : 0),
                              .limit = x86_desc_limit(d), .attr = attr};
}

void helper_sys_ltr(CPUX86State *env, uint32_t sel)
{
    X86SysState *sys = env->sys;
    sel &= 0xffff;
    if (!(sel & ~3u) || (sel & 4)) {
        x86_raise_exception(env, EXCP_GP, (int)(sel & 0xfffc), 0);
    }
    bool lma = sys->efer & EFER_LMA;
    uint64_t hi = 0;
    uint64_t d = x86_sys_read_desc(env, (uint16_t)sel, lma ? &hi : NULL);
    uint32_t attr = x86_desc_attr(d);
    unsigned type = attr & 0xf;
    if ((attr & SEG_ATTR_S) || (type != 9 && !(type == 1 && !lma))) {
        x86_raise_exception(env, EXCP_GP, (int)(sel & 0xfffc), 0);
    }
    if (!(attr & SEG_ATTR_P)) {
        x86_raise_exception(env, EXCP_NP, (int)(sel & 0xfffc), 0);
    }
    /* Mark it busy in the GDT. */
    uint64_t dhi = (uint64_t)x86_sys_ld(env, sys->gdt_base + (sel & ~7u) + 4, 4, X86_MMU_KERNEL);
    x86_sys_st(env, sys->gdt_base + (sel & ~7u) + 4, dhi | (2u << 8), 4, X86_MMU_KERNEL);
    sys->tr = (X86SegCache){.sel = (uint16_t)sel, .base = x86_desc_base(d) | (lma ? (hi & 0xffffffffu) << 32 : 0),
                            .limit = x86_desc_limit(d), .attr = attr | 2};
}

void x86_sys_load_cs_desc(CPUX86State *env, uint16_t sel, uint64_t desc, int cpl)
{
    env->sys->cpl = cpl;
    x86_sys_set_seg(env, R_CS, (uint16_t)((sel & ~3u) | (unsigned)cpl), x86_desc_base(desc), x86_desc_limit(desc),
                    x86_desc_attr(desc) | 1);
}

/* A code-segment descriptor for a far JMP/CALL/RET at the same privilege (or RET to an outer one). */
static uint64_t x86_sys_code_desc(CPUX86State *env, uint16_t sel, int *dpl_out)
{
    if (!(sel & ~3u)) {
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
    uint64_t d = x86_sys_read_desc(env, sel, NULL);
    uint32_t attr = x86_desc_attr(d);
    if (!(attr & SEG_ATTR_S) || !(attr & 8)) {
        /* System descriptors (call gates, TSS) are not supported here. */
        x86_raise_exception(env, EXCP_GP, sel & 0xfffc, 0);
    }
    if (!(attr & SEG_ATTR_P)) {
        x86_raise_exception(env, EXCP_NP, sel & 0xfffc, 0);
    }
    *dpl_out = (int)((attr >> SEG_ATTR_DPL_SHIFT) & 3);
    return d;
}

void helper_sys_ljmp(CPUX86State *env, uint32_t sel, uint64_t offset, uint32_t flags)
{
    X86SysState *sys = env->sys;
    bool call = flags & 1;
    unsigned bits = flags >> 1;
    unsigned bytes = bits / 8;
    uint64_t ret_ip = env->tcg.pc;
    uint16_t old_cs = env->seg_sel[R_CS];
    sel &= 0xffff;
    if (bits == 16) {
        offset &= 0xffff;
    }
    if (!(sys->cr0 & CR0_PE) || (x86_get_eflags(env) & FLAG_VM)) {
        if (call) {
            /* Both pushes are checked before either is committed by writing the lower one first. */
            uint64_t mask = x86_sys_sp_mask(env);
            uint64_t sp = env->regs[R_ESP];
            x86_sys_st(env, env->seg_base[R_SS] + ((sp - 2 * bytes) & mask), ret_ip, bytes, x86_sys_mmu_index(env));
            x86_sys_st(env, env->seg_base[R_SS] + ((sp - bytes) & mask), old_cs, bytes, x86_sys_mmu_index(env));
            x86_sys_set_rsp(env, sp - 2 * bytes);
        }
        x86_sys_set_seg(env, R_CS, (uint16_t)sel, (uint64_t)sel << 4, sys->seg_limit[R_CS], sys->seg_attr[R_CS]);
        env->tcg.pc = offset;
        return;
    }
    int dpl;
    uint64_t d = x86_sys_code_desc(env, (uint16_t)sel, &dpl);
    bool conforming = x86_desc_attr(d) & 4;
    int rpl = (int)(sel & 3);
    if (conforming ? dpl > sys->cpl : (rpl > sys->cpl || dpl != sys->cpl)) {
        x86_raise_exception(env, EXCP_GP, (int)(sel & 0xfffc), 0);
    }
    if (call) {
        uint64_t mask = x86_sys_sp_mask(env);
        uint64_t sp = env->regs[R_ESP];
        int idx = x86_sys_mmu_index(env);
        x86_sys_st(env, env->seg_base[R_SS] + ((sp - 2 * bytes) & mask), ret_ip, bytes, idx);
        x86_sys_st(env, env->seg_base[R_SS] + ((sp - bytes) & mask), old_cs, bytes, idx);
        x86_sys_set_rsp(env, sp - 2 * bytes);
    }
    x86_sys_load_cs_desc(env, (uint16_t)sel, d, sys->cpl);
    env->tcg.pc = x86_sys_code64(env) ? offset : (offset & 0xffffffffu);
}

void helper_sys_lret(CPUX86State *env, uint32_t bits, uint32_t release)
{
    X86SysState *sys = env->sys;
    unsigned bytes = bits / 8;
    uint64_t ip = x86_sys_stack_peek(env, 0, bytes);
    uint16_t sel = (uint16_t)x86_sys_stack_peek(env, bytes, bytes);
    if (!(sys->cr0 & CR0_PE) || (x86_get_eflags(env) & FLAG_VM)) {
        x86_sys_set_rsp(env, env->regs[R_ESP] + 2 * bytes + release);
        x86_sys_set_seg(env, R_CS, sel, (uint64_t)sel << 4, sys->seg_limit[R_CS], sys->seg_attr[R_CS]);
        env->tcg.pc = ip;
        return;
    }
    int dpl;
    uint64_t d = x86_sys_code_desc(env, sel, &dpl);
    int rpl = sel & 3;
    if (rpl < sys->cpl) {
        x86_raise_exception(env, EXCP_GP, sel & 0xfffc, 0);
    }
    if (rpl > sys->cpl) {
        /* Return to an outer level: SS:ESP follow. */
        uint64_t sp = x86_sys_stack_peek(env, 2 * bytes + release, bytes);
        uint16_t ss = (uint16_t)x86_sys_stack_peek(env, 3 * bytes + release, bytes);
        x86_sys_load_cs_desc(env, sel, d, rpl);
        x86_sys_load_seg(env, R_SS, ss);
        env->regs[R_ESP] = sp;
        x86_sys_set_rsp(env, sp + release);
    } else {
        x86_sys_set_rsp(env, env->regs[R_ESP] + 2 * bytes + release);
        x86_sys_load_cs_desc(env, sel, d, rpl);
    }
    env->tcg.pc = ip;
}

void helper_sys_popf(CPUX86State *env, uint64_t value, uint32_t bits)
{
    if ((x86_get_eflags(env) & FLAG_VM) && ((x86_get_eflags(env) >> 12) & 3) != 3) {
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
    x86_sys_load_eflags(env, value, bits);
}

/* --- fast system calls --- */

void helper_sys_syscall(CPUX86State *env, uint64_t next)
{
    X86SysState *sys = env->sys;
    if (!(sys->efer & EFER_SCE)) {
        x86_raise_exception(env, EXCP_UD, 0, 0);
    }
    uint16_t cs = (uint16_t)((sys->star >> 32) & 0xfffc);
    uint64_t flags = x86_get_eflags(env);
    sys->cpl = 0;
    if (sys->efer & EFER_LMA) {
        env->regs[R_ECX] = next;
        env->regs[R_R11] = flags & ~(uint64_t)FLAG_RF;
        bool from64 = x86_sys_code64(env);
        x86_sys_set_seg(env, R_SS, (uint16_t)(cs + 8), 0, 0xffffffffu, 0xc093);
        x86_sys_set_seg(env, R_CS, cs, 0, 0xffffffffu, 0xa09b);
        x86_set_eflags(env, flags & ~sys->sfmask & ~(uint64_t)FLAG_RF, ~0ull);
        env->tcg.pc = from64 ? sys->lstar : sys->cstar;
    } else {
        env->regs[R_ECX] = next & 0xffffffffu;
        x86_sys_set_seg(env, R_SS, (uint16_t)(cs + 8), 0, 0xffffffffu, 0xc093);
        x86_sys_set_seg(env, R_CS, cs, 0, 0xffffffffu, 0xc09b);
        x86_set_eflags(env, flags & ~(uint64_t)(X86_IF | FLAG_RF | FLAG_VM), ~0ull);
        env->tcg.pc = sys->star & 0xffffffffu;
    }
}

void helper_sys_sysret(CPUX86State *env, uint32_t bits)
{
    X86SysState *sys = env->sys;
    if (!(sys->efer & EFER_SCE)) {
        x86_raise_exception(env, EXCP_UD, 0, 0);
    }
    uint16_t base = (uint16_t)((sys->star >> 48) & 0xfffc);
    sys->cpl = 3;
    if (sys->efer & EFER_LMA) {
        uint64_t rip = env->regs[R_ECX];
        if (bits == 64) {
            if ((uint64_t)(((int64_t)rip << 16) >> 16) != rip) {
                sys->cpl = 0;
                x86_raise_exception(env, EXCP_GP, 0, 0);
            }
            x86_sys_set_seg(env, R_CS, (uint16_t)((base + 16) | 3), 0, 0xffffffffu, 0xa0fb);
        } else {
            x86_sys_set_seg(env, R_CS, (uint16_t)(base | 3), 0, 0xffffffffu, 0xc0fb);
            rip &= 0xffffffffu;
        }
        x86_set_eflags(env, (env->regs[R_R11] & 0x3c7fd7) | 2, ~0ull);
        env->tcg.pc = rip;
    } else {
        x86_sys_set_seg(env, R_CS, (uint16_t)(base | 3), 0, 0xffffffffu, 0xc0fb);
        x86_set_eflags(env, x86_get_eflags(env) | X86_IF, ~0ull);
        env->tcg.pc = env->regs[R_ECX] & 0xffffffffu;
    }
    x86_sys_set_seg(env, R_SS, (uint16_t)((base + 8) | 3), 0, 0xffffffffu, 0xc0f3);
}

void helper_sys_swapgs(CPUX86State *env)
{
    uint64_t t = env->seg_base[R_GS];
    env->seg_base[R_GS] = env->sys->kernel_gs_base;
    env->sys->kernel_gs_base = t;
}

/* --- the rest --- */

void helper_sys_hlt(CPUX86State *env, uint64_t next)
{
    env->tcg.pc = next;
    env->sys->halted = true;
}

void helper_sys_invlpg(CPUX86State *env, uint64_t addr)
{
    x86_sys_tlb_flush_page(env, addr);
}

void helper_sys_xsetbv(CPUX86State *env, uint32_t unused)
{
    (void)unused;
    uint64_t v = (env->regs[R_EDX] << 32) | (env->regs[R_EAX] & 0xffffffffu);
    if ((env->regs[R_ECX] & 0xffffffffu) != 0 || !(v & 1) || (v & ~7ull) || ((v & 4) && !(v & 2))) {
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
    env->xcr0 = v;
}

/*
 * LSL, LAR, VERR, VERW: look at a descriptor without loading it. ZF says whether it is visible at this CPL
 * (and readable / writable for VERR / VERW); the result (LSL: the limit, LAR: the access rights) has bit
 * 63 set when ZF is clear, so the emitter keeps the destination.
 */
uint64_t helper_sys_lsl_lar(CPUX86State *env, uint32_t sel, uint32_t which)
{
    X86SysState *sys = env->sys;
    const uint64_t fail = 1ull << 63;
    uint64_t result = fail;
    sel &= 0xffff;
    if (sel & ~3u) {
        uint64_t base = (sel & 4) ? sys->ldtr.base : sys->gdt_base;
        uint32_t limit = (sel & 4) ? sys->ldtr.limit : sys->gdt_limit;
        if ((sel & ~7u) + 7 <= limit) {
            uint64_t d = x86_sys_ld(env, base + (sel & ~7u), 8, X86_MMU_KERNEL);
            uint32_t attr = x86_desc_attr(d);
            int dpl = (attr >> SEG_ATTR_DPL_SHIFT) & 3;
            bool code = (attr & SEG_ATTR_S) && (attr & 8);
            bool conforming = code && (attr & 4);
            bool visible = conforming || (dpl >= sys->cpl && dpl >= (int)(sel & 3));
            bool ok;
            if (attr & SEG_ATTR_S) {
                ok = which == 2 ? (!code || (attr & 2)) : which == 3 ? (!code && (attr & 2)) : true;
            } else {
                /* System descriptors: LDT and TSS (and, for LAR, gates) are fine for LSL/LAR. */
                unsigned t = attr & 0xf;
                ok = which <= 1 && (t == 1 || t == 2 || t == 3 || t == 9 || t == 0xb ||
                                    (which == 1 && (t == 4 || t == 0xc || t == 5)));
            }
            if (visible && ok) {
                result = which == 0 ? x86_desc_limit(d) : which == 1 ? ((d >> 32) & 0x00f0ff00u) : 0;
            }
        }
    }
    x86_set_eflags(env, result & fail ? 0 : X86_ZF, X86_ZF);
    return result;
}
