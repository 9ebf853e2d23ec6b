/*
 * Control transfers: JMP, Jcc, JRCXZ/JECXZ, LOOP/LOOPE/LOOPNE, CALL, RET.
 *
 * A direct target leaves through a chainable goto_tb (slot 0 for the taken branch, slot 1 for the
 * fall-through); an indirect one (register, memory, return address) goes through gen_jmp_indirect and
 * the per-CPU jump cache. Every one ends the block, but for a conditional branch in user mode, where the
 * block may go on with the fall-through and take the branch through a side exit (x86_side_exit).
 *
 * Near branches in 64-bit mode always use a 64-bit operand size: Zydis decodes them the Intel way, where
 * a 0x66 prefix is ignored. Far forms (JMP/CALL m16:64, RETF) are not implemented and raise #UD.
 */
#include "core/target-x86/translate.h"
#include "core/target-x86/cpuid.h"

/* The absolute target of a relative branch (operand 0). */
static uint64_t ctl_rel_target(const DisasContext *dc)
{
    uint64_t target = 0;
    ZydisCalcAbsoluteAddress(&dc->insn.zi, &dc->insn.op[0], dc->insn.pc, &target);
    return target;
}

static bool ctl_is_far(const DisasContext *dc)
{
    return dc->insn.zi.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
}

/*
 * A near branch to a non-canonical address raises #GP at the branch itself, with RSP as it was (the host
 * would fault fetching the target instead: a crash, not the guest's #GP); only Intel's CALL has written
 * the return address below RSP by then (ctl_emit_call). The check
 * branches out to a label that ctl_jmp_indirect places after the jump: the common path has no label to
 * meet at, so what it holds in host registers stays known up to the jump.
 */
static int ctl_check_canonical(DisasContext *dc, TCGTemp target)
{
    TCGContext *s = dc->s;
    int l_bad = tcg_label_new(s);
    TCGTemp c = tcg_temp_new(s);
    tcg_gen_sextract(s, TCG_I64, c, target, 0, 48);
    tcg_gen_brcond(s, TCG_I64, TCG_COND_NE, c, target, l_bad);
    return l_bad;
}

/* The indirect jump, then the #GP of its canonical check (ctl_check_canonical's label). */
static void ctl_jmp_indirect(DisasContext *dc, TCGTemp target, int l_bad)
{
    gen_jmp_indirect(dc, target);
    tcg_gen_set_label(dc->s, l_bad);
    gen_exception(dc, EXCP_GP, 0);
}

/*
 * JMP and RET in user mode try the jump cache before the canonical check (ctl_jmp_indirect_cached).
 * System mode checks first: its pops may wrap with the stack's size, and its goto_ptr looks up elsewhere.
 */
static bool ctl_cache_first(const DisasContext *dc) { return !dc->sys; }

/*
 * The indirect jump of a JMP, or of a RET that has already moved RSP up by `undo` bytes, when
 * ctl_cache_first: as only canonical pcs are in the jump cache, the canonical check runs on its miss path
 * alone, the #GP giving the bytes back to RSP.
 */
static void ctl_jmp_indirect_cached(DisasContext *dc, TCGTemp target, uint64_t undo)
{
    TCGContext *s = dc->s;
    gen_try_jmp_indirect(dc, target);
    int l_bad = ctl_check_canonical(dc, target);
    tcg_gen_goto_ptr(s);
    tcg_gen_set_label(s, l_bad);
    if (undo) {
        tcg_gen_add(s, TCG_I64, cpu_regs[R_ESP], cpu_regs[R_ESP], tcg_const(s, -undo));
    }
    gen_exception(dc, EXCP_GP, 0);
    dc->end_block = true;
}

/* Two ways on: to `taken` when cond(a, b) holds, else to the next instruction. */
static void ctl_branch2(DisasContext *dc, TCGType t, TCGCond cond, TCGTemp a, TCGTemp b, uint64_t taken)
{
    TCGContext *s = dc->s;
    int l_taken = tcg_label_new(s);
    tcg_gen_brcond(s, t, cond, a, b, l_taken);
    if (x86_side_exit(dc, l_taken, taken)) {
        return;
    }
    gen_jmp_const(dc, dc->insn.next_pc, 1);
    tcg_gen_set_label(s, l_taken);
    gen_jmp_const(dc, taken, 0);
    dc->end_block = true;
}

void ctl_emit_jmp(DisasContext *dc)
{
    const ZydisDecodedOperand *op = &dc->insn.op[0];
    if (ctl_is_far(dc)) {
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        gen_jmp_const(dc, ctl_rel_target(dc), 0);
    } else {
        TCGTemp target = gen_load_op(dc, 0);
        if (ctl_cache_first(dc)) {
            ctl_jmp_indirect_cached(dc, target, 0);
        } else {
            ctl_jmp_indirect(dc, target, ctl_check_canonical(dc, target));
        }
    }
    dc->end_block = true;
}

/* Jcc: the condition is the low nibble of the opcode, in both the 7x and the 0F 8x forms. */
void ctl_emit_jcc(DisasContext *dc)
{
    TCGTemp c = gen_cond(dc, dc->insn.zi.opcode & 0xf);
    ctl_branch2(dc, TCG_I64, TCG_COND_NE, c, tcg_const(dc->s, 0), ctl_rel_target(dc));
}

/* JRCXZ / JECXZ: the counter's size is the address size. */
void ctl_emit_jrcxz(DisasContext *dc)
{
    TCGType t = dc->insn.zi.address_width == 32 ? TCG_I32 : TCG_I64;
    ctl_branch2(dc, t, TCG_COND_EQ, cpu_regs[R_ECX], tcg_const(dc->s, 0), ctl_rel_target(dc));
}

/*
 * LOOP, LOOPE, LOOPNE: decrement the counter (ECX under 0x67, written as a 32-bit register), then branch
 * if it is not zero (and, for LOOPE/LOOPNE, if ZF is set/clear). The flags are not changed.
 */
static void ctl_loop(DisasContext *dc, int zf_jcc)
{
    TCGContext *s = dc->s;
    bool a32 = dc->insn.zi.address_width == 32;
    TCGTemp zf = zf_jcc >= 0 ? gen_cond(dc, zf_jcc) : -1;
    TCGTemp rcx = cpu_regs[R_ECX];

    tcg_gen_sub(s, TCG_I64, rcx, rcx, tcg_const(s, 1));
    if (a32) {
        tcg_gen_ext32u(s, TCG_I64, rcx, rcx);
    }
    if (zf < 0) {
        ctl_branch2(dc, TCG_I64, TCG_COND_NE, rcx, tcg_const(s, 0), ctl_rel_target(dc));
        return;
    }
    TCGTemp nz = tcg_temp_new(s);
    tcg_gen_setcond(s, TCG_I64, TCG_COND_NE, nz, rcx, tcg_const(s, 0));
    tcg_gen_and(s, TCG_I64, nz, nz, zf);
    ctl_branch2(dc, TCG_I64, TCG_COND_NE, nz, tcg_const(s, 0), ctl_rel_target(dc));
}

void ctl_emit_loop(DisasContext *dc) { ctl_loop(dc, -1); }
void ctl_emit_loope(DisasContext *dc) { ctl_loop(dc, 4); }    /* JZ's condition: ZF = 1 */
void ctl_emit_loopne(DisasContext *dc) { ctl_loop(dc, 5); }   /* JNZ's condition: ZF = 0 */

void ctl_emit_call(DisasContext *dc)
{
    TCGContext *s = dc->s;
    if (ctl_is_far(dc)) {
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    TCGTemp ret = tcg_const(s, dc->insn.next_pc);
    if (dc->insn.op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        gen_push(dc, ret, 64);
        gen_jmp_const(dc, ctl_rel_target(dc), 0);
    } else {
        /* The target is read before the push: `call [rsp]` uses the old RSP. */
        TCGTemp target = gen_load_op(dc, 0);
        int l_bad = ctl_check_canonical(dc, target);
        gen_push(dc, ret, 64);
        gen_jmp_indirect(dc, target);
        tcg_gen_set_label(s, l_bad);
        if (x86_vendor_intel()) {
            /* Intel writes the return address below RSP before it finds the target non-canonical; RSP stays
               as it was (measured). AMD writes nothing. */
            TCGTemp slot = tcg_temp_new(s);
            tcg_gen_add(s, TCG_I64, slot, cpu_regs[R_ESP], tcg_const(s, -8));
            gen_st(dc, slot, tcg_const(s, dc->insn.next_pc), 64);
        }
        gen_exception(dc, EXCP_GP, 0);
    }
    dc->end_block = true;
}

/* RET and RET imm16 (which also releases imm16 bytes of arguments). */
void ctl_emit_ret(DisasContext *dc)
{
    TCGContext *s = dc->s;
    if (ctl_is_far(dc)) {
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    uint64_t n = 0;   /* RET imm16's bytes */
    if (dc->insn.zi.operand_count_visible > 0 && dc->insn.op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        n = dc->insn.op[0].imm.value.u & 0xffff;
    }
    bool cache_first = ctl_cache_first(dc);
    TCGTemp target = gen_pop_value(dc, 64);
    int l_bad = cache_first ? -1 : ctl_check_canonical(dc, target);   /* checked before the pop commits */
    gen_pop_commit(dc, 64);
    if (n) {
        tcg_gen_add(s, TCG_I64, cpu_regs[R_ESP], cpu_regs[R_ESP], tcg_const(s, n));
    }
    if (cache_first) {
        ctl_jmp_indirect_cached(dc, target, 8 + n);
    } else {
        ctl_jmp_indirect(dc, target, l_bad);
    }
}
