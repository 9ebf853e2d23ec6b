/*
 * The stack: PUSH, POP (register, memory, immediate, FS/GS), PUSHF/PUSHFQ, POPF/POPFQ, ENTER, LEAVE.
 *
 * Operand size is 64 bits, or 16 with a 0x66 prefix (32-bit pushes do not exist in 64-bit mode). As
 * everywhere, memory is written before RSP, so a fault leaves the instruction restartable.
 */
#include "core/target-x86/cc.h"
#include "core/target-x86/translate.h"

/* RFLAGS bits a CPL 3 program may change with POPF (IOPL 0): IF and IOPL silently keep their values; RF
   and VM are never loaded by POPF. NT (bit 14) is not in cpu.h's list but is user-writable too. */
#define CTL_NT (1u << 14)
#define CTL_RF (1u << 16)
#define CTL_VM (1u << 17)
#define CTL_POPF_MASK (X86_TF | X86_DF | CTL_NT | X86_AC | X86_ID)

static unsigned ctl_stack_bits(const DisasContext *dc)
{
    if (dc->sys && !x86_dc_code64(dc)) {
        return dc->insn.zi.operand_width == 16 ? 16 : 32;   /* system mode, 16/32-bit code */
    }
    return dc->insn.zi.operand_width == 16 ? 16 : 64;
}

static bool ctl_is_seg_reg(ZydisRegister r)
{
    return r == ZYDIS_REGISTER_FS || r == ZYDIS_REGISTER_GS || r == ZYDIS_REGISTER_ES || r == ZYDIS_REGISTER_CS ||
           r == ZYDIS_REGISTER_SS || r == ZYDIS_REGISTER_DS;
}

static uint32_t ctl_seg_sel_offset(ZydisRegister r)
{
    return r == ZYDIS_REGISTER_FS ? ENV_OFF(seg_sel[R_FS]) : ENV_OFF(seg_sel[R_GS]);
}

void ctl_emit_push(DisasContext *dc)
{
    TCGContext *s = dc->s;
    const ZydisDecodedOperand *op = &dc->insn.op[0];
    unsigned bits = ctl_stack_bits(dc);
    TCGTemp v;

    if (op->type == ZYDIS_OPERAND_TYPE_REGISTER && ctl_is_seg_reg(op->reg.value)) {
        /* PUSH FS/GS: the selector, zero-extended. */
        v = tcg_temp_new(s);
        tcg_gen_ld(s, TCG_I64, MO_16, v, TCG_TEMP_ENV, ctl_seg_sel_offset(op->reg.value));
    } else if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        v = gen_load_op_signed(dc, 0);    /* imm8/imm32 sign-extended to the operand size */
    } else {
        v = gen_load_op(dc, 0);           /* `push rsp` pushes the old value; `push [rsp]` reads the old RSP */
    }
    gen_push(dc, v, bits);
}

void ctl_emit_pop(DisasContext *dc)
{
    ZydisDecodedOperand *op = &dc->insn.op[0];
    unsigned bits = ctl_stack_bits(dc);

    if (op->type == ZYDIS_OPERAND_TYPE_REGISTER && ctl_is_seg_reg(op->reg.value)) {
        /* POP FS/GS would load a descriptor: not supported in user mode. */
        gen_exception(dc, EXCP_GP, 0);
        return;
    }
    TCGTemp v = gen_pop_value(dc, bits);
    if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
        /* An RSP base is taken after the pop has incremented RSP: compute the address with RSP + size
           (the displacement, adjusted for the lea only) and store before RSP really changes. */
        bool rsp_base = x86_gpr_index(op->mem.base) == R_ESP;
        int64_t saved = op->mem.disp.value;
        if (rsp_base) {
            op->mem.disp.value += bits / 8;
        }
        TCGTemp addr = gen_lea(dc, 0);
        op->mem.disp.value = saved;
        gen_st(dc, addr, v, bits);
        gen_pop_commit(dc, bits);
    } else {
        /* Commit first so that `pop rsp` leaves the popped value in RSP. */
        gen_pop_commit(dc, bits);
        gen_store_op(dc, 0, v);
    }
}

/* The whole RFLAGS as PUSHF stores it (lazy flags materialized, bit 1 set, RF and VM clear). */
static TCGTemp ctl_gen_rflags(DisasContext *dc)
{
    TCGContext *s = dc->s;
    TCGTemp arith = gen_compute_eflags(dc);
    TCGTemp other = tcg_temp_new(s);
    tcg_gen_ld(s, TCG_I64, MO_64, other, TCG_TEMP_ENV, ENV_OFF(eflags));
    tcg_gen_and(s, TCG_I64, other, other, tcg_const(s, ~(uint64_t)(X86_ARITH_FLAGS | CTL_RF | CTL_VM)));
    tcg_gen_or(s, TCG_I64, other, other, arith);
    tcg_gen_or(s, TCG_I64, other, other, tcg_const(s, 2));   /* bit 1 always reads as 1 */
    return other;
}

void ctl_emit_pushf(DisasContext *dc)
{
    gen_push(dc, ctl_gen_rflags(dc), ctl_stack_bits(dc));
}

/*
 * POPF: the arithmetic flags become CC_OP_EFLAGS; TF DF NT AC ID go to env->eflags (and DF to env->df
 * too). A 16-bit POPF changes only the low 16 bits. TF is kept but single-stepping is not emulated.
 */
void ctl_emit_popf(DisasContext *dc)
{
    TCGContext *s = dc->s;
    unsigned bits = ctl_stack_bits(dc);
    uint64_t mask = CTL_POPF_MASK & (bits == 16 ? 0xffffu : ~0u);

    TCGTemp v = gen_pop_value(dc, bits);
    gen_pop_commit(dc, bits);

    TCGTemp arith = tcg_temp_new(s);
    tcg_gen_and(s, TCG_I64, arith, v, tcg_const(s, X86_ARITH_FLAGS));
    gen_set_eflags_arith(dc, arith);

    TCGTemp ef = tcg_temp_new(s);
    TCGTemp keep = tcg_temp_new(s);
    tcg_gen_ld(s, TCG_I64, MO_64, ef, TCG_TEMP_ENV, ENV_OFF(eflags));
    tcg_gen_and(s, TCG_I64, ef, ef, tcg_const(s, ~mask));
    tcg_gen_and(s, TCG_I64, keep, v, tcg_const(s, mask));
    tcg_gen_or(s, TCG_I64, ef, ef, keep);
    tcg_gen_st(s, MO_64, ef, TCG_TEMP_ENV, ENV_OFF(eflags));

    /* df = DF ? -1 : +1 = 1 - 2 * DF */
    TCGTemp df = tcg_temp_new(s);
    tcg_gen_extract(s, TCG_I64, df, ef, 10, 1);
    tcg_gen_shl(s, TCG_I64, df, df, tcg_const(s, 1));
    tcg_gen_sub(s, TCG_I64, df, tcg_const(s, 1), df);
    tcg_gen_st(s, MO_64, df, TCG_TEMP_ENV, ENV_OFF(df));
}

/*
 * ENTER size, level: push RBP; for nesting level L > 0 copy L-1 frame pointers from the old frame and push
 * the new frame pointer; then RBP = the new frame and RSP drops by `size` more. All stores come first.
 */
void ctl_emit_enter(DisasContext *dc)
{
    TCGContext *s = dc->s;
    unsigned bits = ctl_stack_bits(dc);
    uint64_t os = bits / 8;
    uint64_t size = dc->insn.op[0].imm.value.u & 0xffff;
    unsigned level = (unsigned)(dc->insn.op[1].imm.value.u & 31);
    TCGTemp rbp = cpu_regs[R_EBP], rsp = cpu_regs[R_ESP];

    TCGTemp frame = tcg_temp_new(s);
    tcg_gen_sub(s, TCG_I64, frame, rsp, tcg_const(s, os));
    gen_st(dc, frame, rbp, bits);
    TCGTemp sp = frame;
    if (level > 0) {
        for (unsigned i = 1; i < level; i++) {
            TCGTemp from = tcg_temp_new(s);
            TCGTemp to = tcg_temp_new(s);
            tcg_gen_sub(s, TCG_I64, from, rbp, tcg_const(s, i * os));
            tcg_gen_sub(s, TCG_I64, to, frame, tcg_const(s, i * os));
            gen_st(dc, to, gen_ld(dc, from, bits, false), bits);
        }
        sp = tcg_temp_new(s);
        tcg_gen_sub(s, TCG_I64, sp, frame, tcg_const(s, level * os));
        gen_st(dc, sp, frame, bits);
    }
    if (bits == 16) {
        tcg_gen_deposit(s, TCG_I64, rbp, rbp, frame, 0, 16);
    } else {
        tcg_gen_mov(s, TCG_I64, rbp, frame);
    }
    tcg_gen_sub(s, TCG_I64, rsp, sp, tcg_const(s, size));
}

/* LEAVE: RSP = RBP, then pop RBP (load first, then both registers). */
void ctl_emit_leave(DisasContext *dc)
{
    TCGContext *s = dc->s;
    unsigned bits = ctl_stack_bits(dc);
    TCGTemp rbp = cpu_regs[R_EBP], rsp = cpu_regs[R_ESP];
    TCGTemp v = gen_ld(dc, rbp, bits, false);
    tcg_gen_add(s, TCG_I64, rsp, rbp, tcg_const(s, bits / 8));
    if (bits == 16) {
        tcg_gen_deposit(s, TCG_I64, rbp, rbp, v, 0, 16);
    } else {
        tcg_gen_mov(s, TCG_I64, rbp, v);
    }
}
