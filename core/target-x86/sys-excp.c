/*
 * Exception and interrupt delivery for a system CPU (Intel SDM vol. 3, chapter 6), and IRET.
 *
 * Delivery runs outside translated code, from the accelerator's loop (vcpu_run), with the return address
 * in env->tcg.pc: blocks leave with TCG_EXIT_EXCEPTION and the vector in env->exception, INT n leaves the
 * same way with sys->soft_int set. A fault while delivering (a bad gate, an unmapped stack) unwinds to
 * x86_sys_deliver's own landing point and becomes #DF; a fault while delivering #DF is a triple fault,
 * reported to the caller as a shutdown.
 *
 *  real mode:      the IVT at IDTR.base: FLAGS, CS, IP pushed (16 bits each)
 *  protected mode: 8-byte interrupt/trap gates (16- or 32-bit); a more privileged handler switches to the
 *                  TSS's SSn:ESPn and pushes the old SS:ESP first; task gates are not supported (#GP)
 *  long mode:      16-byte gates, IST stacks, RSP aligned to 16, SS:RSP always pushed, SS null on a
 *                  privilege change
 */
#include <setjmp.h>
#include <string.h>

#include "core/target-x86/helpers.h"
#include "core/target-x86/sys.h"

#define FLAG_NT (1u << 14)
#define FLAG_RF (1u << 16)
#define FLAG_VM (1u << 17)

static bool x86_has_error_code(int vector)
{
    return vector == EXCP_DF || (vector >= EXCP_TS && vector <= EXCP_PF) || vector == EXCP_AC || vector == 21;
}

static bool x86_contributory(int vector)
{
    return vector == EXCP_DE || (vector >= EXCP_TS && vector <= EXCP_GP);
}

bool x86_sys_interrupts_enabled(CPUX86State *env)
{
    return (env->eflags & X86_IF) != 0;
}

/* The flags pushed and then cleared by delivery (TF, NT, RF, VM always; IF for interrupt gates). */
static void x86_enter_handler_flags(CPUX86State *env, bool clear_if)
{
    uint64_t clear = X86_TF | FLAG_NT | FLAG_RF | FLAG_VM | (clear_if ? X86_IF : 0);
    x86_set_eflags(env, 0, clear);
}

static void x86_deliver_real(CPUX86State *env, int vector, uint64_t ret)
{
    X86SysState *sys = env->sys;
    if ((uint32_t)vector * 4 + 3 > sys->idt_limit) {
        x86_raise_exception(env, EXCP_GP, vector * 8 + 2, 0);
    }
    uint32_t ent = (uint32_t)x86_sys_ld(env, sys->idt_base + (uint64_t)vector * 4, 4, X86_MMU_KERNEL);
    uint64_t flags = x86_get_eflags(env);
    x86_sys_push(env, flags & 0xffff, 2);
    x86_sys_push(env, env->seg_sel[R_CS], 2);
    x86_sys_push(env, ret & 0xffff, 2);
    x86_enter_handler_flags(env, true);
    uint16_t cs = (uint16_t)(ent >> 16);
    x86_sys_set_seg(env, R_CS, cs, (uint64_t)cs << 4, sys->seg_limit[R_CS], sys->seg_attr[R_CS]);
    env->tcg.pc = ent & 0xffff;
}

/* The gate's target code segment; checks as for an interrupt (type, presence). */
static uint64_t x86_gate_code_desc(CPUX86State *env, uint16_t sel, int ext)
{
    if (!(sel & ~3u)) {
        x86_raise_exception(env, EXCP_GP, ext, 0);
    }
    uint64_t d = x86_sys_read_desc(env, sel, NULL);
    uint32_t attr = x86_desc_attr(d);
    if (!(attr & SEG_ATTR_S) || !(attr & 8)) {
        x86_raise_exception(env, EXCP_GP, (sel & 0xfffc) | ext, 0);
    }
    if (!(attr & SEG_ATTR_P)) {
        x86_raise_exception(env, EXCP_NP, (sel & 0xfffc) | ext, 0);
    }
    return d;
}

static void x86_deliver_long(CPUX86State *env, int vector, bool soft, bool has_err, int err, uint64_t ret)
{
    X86SysState *sys = env->sys;
    int ext = soft ? 0 : 1;
    int idt_err = vector * 8 + 2 + ext;
    if ((uint32_t)vector * 16 + 15 > sys->idt_limit) {
        x86_raise_exception(env, EXCP_GP, idt_err, 0);
    }
    uint64_t lo = x86_sys_ld(env, sys->idt_base + (uint64_t)vector * 16, 8, X86_MMU_KERNEL);
    uint64_t hi = x86_sys_ld(env, sys->idt_base + (uint64_t)vector * 16 + 8, 8, X86_MMU_KERNEL);
    unsigned type = (lo >> 40) & 0xf;
    int gate_dpl = (int)((lo >> 45) & 3);
    if (type != 0xe && type != 0xf) {
        x86_raise_exception(env, EXCP_GP, idt_err, 0);
    }
    if (soft && gate_dpl < sys->cpl) {
        x86_raise_exception(env, EXCP_GP, idt_err, 0);
    }
    if (!((lo >> 47) & 1)) {
        x86_raise_exception(env, EXCP_NP, idt_err, 0);
    }
    uint16_t sel = (uint16_t)(lo >> 16);
    uint64_t offset = (lo & 0xffff) | (((lo >> 48) & 0xffff) << 16) | ((hi & 0xffffffffu) << 32);
    unsigned ist = (lo >> 32) & 7;
    uint64_t d = x86_gate_code_desc(env, sel, ext);
    int dpl = (int)((x86_desc_attr(d) >> SEG_ATTR_DPL_SHIFT) & 3);
    if (!(x86_desc_attr(d) & SEG_ATTR_L) || dpl > sys->cpl) {
        x86_raise_exception(env, EXCP_GP, (sel & 0xfffc) | ext, 0);
    }
    if (x86_desc_attr(d) & 4) {
        dpl = sys->cpl;   /* conforming: stays at the current level */
    }
    uint64_t old_ss = env->seg_sel[R_SS], old_rsp = env->regs[R_ESP];
    uint64_t rsp = old_rsp;
    bool change = dpl < sys->cpl;
    if (ist || change) {
        uint64_t off = ist ? 0x24 + (uint64_t)(ist - 1) * 8 : 4 + (uint64_t)dpl * 8;
        if (off + 7 > sys->tr.limit) {
            x86_raise_exception(env, EXCP_TS, (sys->tr.sel & 0xfffc) | ext, 0);
        }
        rsp = x86_sys_ld(env, sys->tr.base + off, 8, X86_MMU_KERNEL);
    }
    rsp &= ~15ull;
    uint64_t frame[6];
    int n = 0;
    if (has_err) {
        frame[n++] = (uint64_t)(uint32_t)err;
    }
    frame[n++] = ret;
    frame[n++] = env->seg_sel[R_CS];
    frame[n++] = x86_get_eflags(env);
    frame[n++] = old_rsp;
    frame[n++] = old_ss;
    /* Written at the new CPL's rights: kernel stacks are supervisor pages. */
    int idx = dpl == 3 ? X86_MMU_USER : X86_MMU_KERNEL;
    uint64_t sp = rsp - (uint64_t)n * 8;
    for (int i = 0; i < n; i++) {
        x86_sys_st(env, sp + (uint64_t)i * 8, frame[i], 8, idx);
    }
    env->regs[R_ESP] = sp;
    if (change) {
        x86_sys_set_seg(env, R_SS, (uint16_t)dpl, 0, 0, SEG_ATTR_UNUSABLE | SEG_ATTR_DB | ((uint32_t)dpl << 5));
    }
    x86_sys_load_cs_desc(env, sel, d, dpl);
    x86_enter_handler_flags(env, type == 0xe);
    env->tcg.pc = offset;
}

static void x86_deliver_prot(CPUX86State *env, int vector, bool soft, bool has_err, int err, uint64_t ret)
{
    X86SysState *sys = env->sys;
    int ext = soft ? 0 : 1;
    int idt_err = vector * 8 + 2 + ext;
    if ((uint32_t)vector * 8 + 7 > sys->idt_limit) {
        x86_raise_exception(env, EXCP_GP, idt_err, 0);
    }
    uint64_t g = x86_sys_ld(env, sys->idt_base + (uint64_t)vector * 8, 8, X86_MMU_KERNEL);
    unsigned type = (g >> 40) & 0xf;
    int gate_dpl = (int)((g >> 45) & 3);
    if (type != 0xe && type != 0xf && type != 0x6 && type != 0x7) {
        x86_raise_exception(env, EXCP_GP, idt_err, 0);   /* task gates are not supported */
    }
    if (soft && gate_dpl < sys->cpl) {
        x86_raise_exception(env, EXCP_GP, idt_err, 0);
    }
    if (!((g >> 47) & 1)) {
        x86_raise_exception(env, EXCP_NP, idt_err, 0);
    }
    bool gate32 = type & 8;
    unsigned bytes = gate32 ? 4 : 2;
    uint16_t sel = (uint16_t)(g >> 16);
    uint32_t offset = (uint32_t)((g & 0xffff) | (((g >> 48) & 0xffff) << 16));
    if (!gate32) {
        offset &= 0xffff;
    }
    uint64_t d = x86_gate_code_desc(env, sel, ext);
    int dpl = (int)((x86_desc_attr(d) >> SEG_ATTR_DPL_SHIFT) & 3);
    if (dpl > sys->cpl) {
        x86_raise_exception(env, EXCP_GP, (sel & 0xfffc) | ext, 0);
    }
    if (x86_desc_attr(d) & 4) {
        dpl = sys->cpl;
    }
    uint64_t flags = x86_get_eflags(env);
    uint16_t old_ss = env->seg_sel[R_SS], old_cs = env->seg_sel[R_CS];
    uint32_t old_esp = (uint32_t)env->regs[R_ESP];
    if (dpl < sys->cpl) {
        /* Inner stack from the 32-bit TSS: ESPn at 4 + 8n, SSn at 8 + 8n. */
        uint64_t off = 4 + (uint64_t)dpl * 8;
        if (off + 5 > sys->tr.limit) {
            x86_raise_exception(env, EXCP_TS, (sys->tr.sel & 0xfffc) | ext, 0);
        }
        uint32_t esp = (uint32_t)x86_sys_ld(env, sys->tr.base + off, 4, X86_MMU_KERNEL);
        uint16_t ss = (uint16_t)x86_sys_ld(env, sys->tr.base + off + 4, 2, X86_MMU_KERNEL);
        if (!(ss & ~3u)) {
            x86_raise_exception(env, EXCP_TS, ext, 0);
        }
        uint64_t sd = x86_sys_read_desc(env, ss, NULL);
        sys->cpl = dpl;   /* the SS checks compare with the new CPL */
        x86_sys_set_seg(env, R_SS, ss, x86_desc_base(sd), x86_desc_limit(sd), x86_desc_attr(sd) | 1);
        env->regs[R_ESP] = esp;
        x86_sys_push(env, old_ss, bytes);
        x86_sys_push(env, old_esp, bytes);
    }
    x86_sys_push(env, flags, bytes);
    x86_sys_push(env, old_cs, bytes);
    x86_sys_push(env, ret, bytes);
    if (has_err) {
        x86_sys_push(env, (uint32_t)err, bytes);
    }
    x86_sys_load_cs_desc(env, sel, d, dpl);
    x86_enter_handler_flags(env, !(type & 1));
    env->tcg.pc = offset;
}

static void x86_deliver_once(CPUX86State *env, int vector, bool soft, bool has_err, int err, uint64_t ret)
{
    X86SysState *sys = env->sys;
    if (!(sys->cr0 & 1)) {
        x86_deliver_real(env, vector, ret);
    } else if (sys->efer & (1ull << 10)) {
        x86_deliver_long(env, vector, soft, has_err, err, ret);
    } else {
        x86_deliver_prot(env, vector, soft, has_err, err, ret);
    }
}

X86DeliverResult x86_sys_deliver(CPUX86State *env, int vector, bool soft, int error_code)
{
    X86SysState *sys = env->sys;
    volatile int vec = vector;
    volatile bool is_soft = soft;
    volatile int err = error_code;
    volatile bool has_err = !soft && x86_has_error_code(vector);
    const uint64_t ret = env->tcg.pc;
    /* Delivery may fault; restore the registers it may have changed half-way. */
    uint64_t saved_rsp = env->regs[R_ESP];
    int saved_cpl = sys->cpl;
    uint16_t ss_sel = env->seg_sel[R_SS];
    uint64_t ss_base = env->seg_base[R_SS];
    uint32_t ss_limit = sys->seg_limit[R_SS], ss_attr = sys->seg_attr[R_SS];
    for (;;) {
        env->tcg.insn_pc = ret;
        if (sigsetjmp(env->tcg.jmp_env, 0) == 0) {
            x86_deliver_once(env, vec, is_soft, has_err, err, ret);
            sys->halted = false;
            sys->soft_int = false;
            if (vec == 2) {
                sys->nmi_blocked = true;
            }
            return X86_DELIVER_OK;
        }
        env->regs[R_ESP] = saved_rsp;
        sys->cpl = saved_cpl;
        x86_sys_set_seg(env, R_SS, ss_sel, ss_base, ss_limit, ss_attr);
        env->tcg.pc = ret;
        int nv = env->exception;
        if (vec == EXCP_DF) {
            return X86_DELIVER_SHUTDOWN;
        }
        bool to_df = (x86_contributory(vec) && x86_contributory(nv)) ||
                     (vec == EXCP_PF && (nv == EXCP_PF || x86_contributory(nv)));
        if (to_df) {
            vec = EXCP_DF;
            err = 0;
        } else {
            vec = nv;
            err = env->error_code;
        }
        is_soft = false;
        has_err = x86_has_error_code(vec);
    }
}

X86DeliverResult x86_sys_deliver_pending(CPUX86State *env)
{
    bool soft = env->sys->soft_int;
    env->sys->soft_int = false;
    return x86_sys_deliver(env, env->exception, soft, env->error_code);
}

/* INT n, INT3, INTO: leave to the loop, which delivers with RIP after the instruction. */
void helper_sys_int(CPUX86State *env, uint32_t vector, uint64_t next)
{
    env->exception = (int32_t)vector;
    env->error_code = 0;
    env->sys->soft_int = true;
    env->tcg.pc = next;
    tcg_cpu_loop_exit(&env->tcg, TCG_EXIT_EXCEPTION);
}

/* The code descriptor IRET returns to; RPL must not be more privileged than the CPL. */
static uint64_t x86_iret_code_desc(CPUX86State *env, uint16_t sel)
{
    if (!(sel & ~3u)) {
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
    uint64_t d = x86_sys_read_desc(env, sel, NULL);
    uint32_t attr = x86_desc_attr(d);
    if (!(attr & SEG_ATTR_S) || !(attr & 8) || (int)(sel & 3) < env->sys->cpl) {
        x86_raise_exception(env, EXCP_GP, sel & 0xfffc, 0);
    }
    if (!(attr & SEG_ATTR_P)) {
        x86_raise_exception(env, EXCP_NP, sel & 0xfffc, 0);
    }
    return d;
}

void helper_sys_iret(CPUX86State *env, uint32_t bits)
{
    X86SysState *sys = env->sys;
    unsigned b = bits / 8;
    uint64_t ip = x86_sys_stack_peek(env, 0, b);
    uint16_t cs = (uint16_t)x86_sys_stack_peek(env, b, b);
    uint64_t flags = x86_sys_stack_peek(env, 2 * b, b);
    sys->nmi_blocked = false;
    if (!(sys->cr0 & 1)) {
        x86_sys_set_rsp(env, env->regs[R_ESP] + 3 * b);
        x86_sys_set_seg(env, R_CS, cs, (uint64_t)cs << 4, sys->seg_limit[R_CS], sys->seg_attr[R_CS]);
        x86_sys_load_eflags(env, flags, bits);
        env->tcg.pc = ip;
        return;
    }
    if (x86_get_eflags(env) & FLAG_NT) {
        x86_raise_exception(env, EXCP_GP, 0, 0);   /* task return: not supported */
    }
    bool long_mode = sys->efer & (1ull << 10);
    uint64_t d = x86_iret_code_desc(env, cs);
    int rpl = cs & 3;
    bool pop_stack = long_mode ? x86_sys_code64(env) || rpl != sys->cpl : rpl != sys->cpl;
    uint64_t new_sp = 0;
    uint16_t new_ss = 0;
    if (pop_stack) {
        new_sp = x86_sys_stack_peek(env, 3 * b, b);
        new_ss = (uint16_t)x86_sys_stack_peek(env, 4 * b, b);
    }
    if (flags & FLAG_VM && sys->cpl == 0 && !long_mode) {
        x86_raise_exception(env, EXCP_GP, 0, 0);   /* virtual-8086 mode: not supported */
    }
    /* Flags are loaded with the old CPL's rights, then the new CS/SS take effect. */
    x86_sys_load_eflags(env, flags, bits);
    if (!pop_stack) {
        x86_sys_set_rsp(env, env->regs[R_ESP] + 3 * b);
        x86_sys_load_cs_desc(env, cs, d, rpl);
    } else {
        x86_sys_load_cs_desc(env, cs, d, rpl);
        if (!(new_ss & ~3u) && long_mode && x86_sys_code64(env) && rpl < 3) {
            x86_sys_set_seg(env, R_SS, new_ss, 0, 0, SEG_ATTR_UNUSABLE | SEG_ATTR_DB | ((uint32_t)rpl << 5));
        } else {
            x86_sys_load_seg(env, R_SS, new_ss);
        }
        if (bits == 16) {
            new_sp &= 0xffff;
        }
        env->regs[R_ESP] = x86_sys_code64(env) ? new_sp : (new_sp & x86_sys_sp_mask(env)) |
                                                              (x86_sys_sp_mask(env) == 0xffff ? (env->regs[R_ESP] & ~0xffffull) : 0);
        if (rpl > 0) {
            /* Data segments more privileged than the new CPL become null. */
            static const int segs[] = {R_ES, R_DS, R_FS, R_GS};
            for (unsigned i = 0; i < 4; i++) {
                uint32_t attr = sys->seg_attr[segs[i]];
                bool conforming_code = (attr & 8) && (attr & 4);
                int dpl = (int)((attr >> SEG_ATTR_DPL_SHIFT) & 3);
                if (!conforming_code && dpl < rpl && !(attr & SEG_ATTR_UNUSABLE)) {
                    x86_sys_set_seg(env, segs[i], 0, 0, 0, SEG_ATTR_UNUSABLE);
                }
            }
        }
    }
    env->tcg.pc = x86_sys_code64(env) ? ip : (ip & 0xffffffffu);
}
