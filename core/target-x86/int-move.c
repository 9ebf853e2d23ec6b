/*
 * Data movement: MOV MOVZX MOVSX MOVSXD LEA XCHG CMPXCHG CMPXCHG8B CMPXCHG16B XADD, CMOVcc SETcc, the
 * sign extensions of the accumulator (CBW CWDE CDQE CWD CDQ CQO), and direct flag access (LAHF SAHF CLC
 * STC CMC), plus NOP.
 */
#include "core/target-x86/helpers.h"
#include "core/target-x86/int-emit.h"

static bool int_is_seg_reg(const DisasContext *dc, int i)
{
    const ZydisDecodedOperand *op = &dc->insn.op[i];
    return op->type == ZYDIS_OPERAND_TYPE_REGISTER && op->reg.value >= ZYDIS_REGISTER_ES &&
           op->reg.value <= ZYDIS_REGISTER_GS;
}

static int int_seg_index(ZydisRegister r)
{
    static const ZydisRegister order[X86_NB_SEGS] = {ZYDIS_REGISTER_ES, ZYDIS_REGISTER_CS, ZYDIS_REGISTER_SS,
                                                     ZYDIS_REGISTER_DS, ZYDIS_REGISTER_FS, ZYDIS_REGISTER_GS};
    for (int i = 0; i < X86_NB_SEGS; i++) {
        if (order[i] == r) {
            return i;
        }
    }
    return R_DS;
}

/* MOV to or from a control or debug register (0F 20-23) is privileged: #GP at CPL 3. */
static bool int_is_cr_or_dr(const DisasContext *dc, int i)
{
    if (dc->insn.op[i].type != ZYDIS_OPERAND_TYPE_REGISTER) {
        return false;
    }
    ZydisRegisterClass c = ZydisRegisterGetClass(dc->insn.op[i].reg.value);
    return c == ZYDIS_REGCLASS_CONTROL || c == ZYDIS_REGCLASS_DEBUG;
}

/*
 * MOV. Segment registers: reading gives the selector; writing one stores only the selector (64-bit user
 * mode has no descriptor tables to load a base from; FS/GS bases come from arch_prctl).
 */
void int_emit_mov(DisasContext *dc)
{
    TCGContext *s = dc->s;
    if (int_is_cr_or_dr(dc, 0) || int_is_cr_or_dr(dc, 1)) {
        gen_exception(dc, EXCP_GP, 0);
        return;
    }
    if (int_is_seg_reg(dc, 1)) {
        TCGTemp v = tcg_temp_new(s);
        tcg_gen_ld(s, TCG_I64, MO_16, v, TCG_TEMP_ENV, ENV_OFF(seg_sel[int_seg_index(dc->insn.op[1].reg.value)]));
        gen_store_op(dc, 0, v);
        return;
    }
    TCGTemp v = int_load_src(dc, 1, x86_op_bits(dc, 0));
    if (int_is_seg_reg(dc, 0)) {
        if (dc->insn.op[0].reg.value == ZYDIS_REGISTER_CS) {
            gen_exception(dc, EXCP_UD, 0);
            return;
        }
        tcg_gen_st(s, MO_16, v, TCG_TEMP_ENV, ENV_OFF(seg_sel[int_seg_index(dc->insn.op[0].reg.value)]));
        return;
    }
    gen_store_op(dc, 0, v);
}

void int_emit_movzx(DisasContext *dc) { gen_store_op(dc, 0, gen_load_op(dc, 1)); }
void int_emit_movsx(DisasContext *dc) { gen_store_op(dc, 0, gen_load_op_signed(dc, 1)); }

/* LEA computes the offset only: no segment base, even with an FS/GS override. */
void int_emit_lea(DisasContext *dc)
{
    dc->insn.op[1].mem.segment = ZYDIS_REGISTER_DS;
    gen_store_op(dc, 0, gen_lea(dc, 1));
}

/* XCHG with memory is atomic even without LOCK. */
void int_emit_xchg(DisasContext *dc)
{
    int m = int_op_is_mem(dc, 0) ? 0 : int_op_is_mem(dc, 1) ? 1 : -1;
    if (m < 0) {
        TCGTemp a = gen_load_op(dc, 0), b = gen_load_op(dc, 1);
        gen_store_op(dc, 0, b);
        gen_store_op(dc, 1, a);
        return;
    }
    int r = 1 - m;
    unsigned bits = x86_op_bits(dc, m);
    TCGTemp v = gen_load_op(dc, r);
    TCGTemp old = tcg_temp_new(dc->s);
    gen_helper(dc->s, atomic_xchg, old, gen_lea(dc, m), v, int_const(dc, bits));
    gen_store_op(dc, r, old);
}

/*
 * CMPXCHG r/m, r: compare the accumulator with r/m (flags as CMP); equal: r/m = r, else acc = r/m. A
 * memory destination is always done as one host compare-and-exchange (which is what LOCK needs and is
 * also correct without it). On success the accumulator is not written (so a 32-bit one keeps its upper
 * half); on failure a register destination is not written.
 */
void int_emit_cmpxchg(DisasContext *dc)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    ZydisRegister acc_reg = int_acc_reg(bits);
    TCGTemp src = gen_load_op(dc, 1);
    TCGTemp acc = gen_load_reg(dc, acc_reg);
    TCGTemp old;
    int done = tcg_label_new(s);
    if (int_op_is_mem(dc, 0)) {
        old = tcg_temp_new(s);
        gen_helper(s, atomic_cmpxchg, old, gen_lea(dc, 0), acc, src, int_const(dc, bits));
        TCGTemp diff = tcg_temp_new(s);
        tcg_gen_sub(s, TCG_I64, diff, acc, old);
        gen_set_cc(dc, cc_op_sized(CC_OP_SUBB, bits), diff, old, acc);
        tcg_gen_brcond(s, TCG_I64, TCG_COND_EQ, old, acc, done);
        gen_store_reg(dc, acc_reg, old);
    } else {
        old = gen_load_op(dc, 0);
        TCGTemp diff = tcg_temp_new(s);
        tcg_gen_sub(s, TCG_I64, diff, acc, old);
        gen_set_cc(dc, cc_op_sized(CC_OP_SUBB, bits), diff, old, acc);
        int fail = tcg_label_new(s);
        tcg_gen_brcond(s, TCG_I64, TCG_COND_NE, old, acc, fail);
        gen_store_op(dc, 0, src);
        tcg_gen_br(s, done);
        tcg_gen_set_label(s, fail);
        gen_store_reg(dc, acc_reg, old);
    }
    tcg_gen_set_label(s, done);
}

/* CMPXCHG8B m64: EDX:EAX against m64; equal: m64 = ECX:EBX, else EDX:EAX = m64. Only ZF changes. */
void int_emit_cmpxchg8b(DisasContext *dc)
{
    TCGContext *s = dc->s;
    TCGTemp expect = tcg_temp_new(s), repl = tcg_temp_new(s), old = tcg_temp_new(s), zf = tcg_temp_new(s);
    tcg_gen_deposit(s, TCG_I64, expect, cpu_regs[R_EAX], cpu_regs[R_EDX], 32, 32);
    tcg_gen_deposit(s, TCG_I64, repl, cpu_regs[R_EBX], cpu_regs[R_ECX], 32, 32);
    gen_helper(s, atomic_cmpxchg, old, gen_lea(dc, 0), expect, repl, int_const(dc, 64));
    TCGTemp f = gen_compute_eflags(dc);
    tcg_gen_setcond(s, TCG_I64, TCG_COND_EQ, zf, old, expect);
    tcg_gen_deposit(s, TCG_I64, f, f, zf, 6, 1);
    gen_set_eflags_arith(dc, f);
    int done = tcg_label_new(s);
    tcg_gen_brcond(s, TCG_I64, TCG_COND_EQ, old, expect, done);
    TCGTemp hi = tcg_temp_new(s);
    tcg_gen_ext32u(s, TCG_I64, cpu_regs[R_EAX], old);
    tcg_gen_shr(s, TCG_I64, hi, old, int_const(dc, 32));
    tcg_gen_mov(s, TCG_I64, cpu_regs[R_EDX], hi);
    tcg_gen_set_label(s, done);
}

/* CMPXCHG16B m128: the helper does the exchange and the register update; only ZF changes. */
void int_emit_cmpxchg16b(DisasContext *dc)
{
    TCGContext *s = dc->s;
    TCGTemp zf = tcg_temp_new(s);
    TCGTemp f = gen_compute_eflags(dc);
    gen_helper(s, cmpxchg16b, zf, TCG_TEMP_ENV, gen_lea(dc, 0));
    tcg_gen_deposit(s, TCG_I64, f, f, zf, 6, 1);
    gen_set_eflags_arith(dc, f);
}

/* XADD r/m, r: r/m = r/m + r, r = old r/m; flags as ADD. */
void int_emit_xadd(DisasContext *dc)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    TCGType t = x86_type_of_bits(bits);
    TCGTemp src = gen_load_op(dc, 1);
    TCGTemp old, res = tcg_temp_new(s);
    if (int_op_is_mem(dc, 0)) {
        old = tcg_temp_new(s);
        gen_helper(s, atomic_fetch_add, old, gen_lea(dc, 0), src, int_const(dc, bits));
        tcg_gen_add(s, t, res, old, src);
        gen_store_op(dc, 1, old);
    } else {
        old = gen_load_op(dc, 0);
        tcg_gen_add(s, t, res, old, src);
        gen_store_op(dc, 1, old);   /* source first: with one register for both, the sum wins */
        gen_store_op(dc, 0, res);
    }
    gen_set_cc(dc, cc_op_sized(CC_OP_ADDB, bits), res, src, -1);
}

/* --- conditional moves and sets ---------------------------------------------------------------------- */

/* CMOVcc reads its source (and may fault on it) whatever the condition; a 32-bit destination is always
   written, so it is zero-extended even when the condition is false. */
static void int_cmov(DisasContext *dc, int jcc)
{
    TCGContext *s = dc->s;
    TCGTemp v = gen_load_op(dc, 1);
    TCGTemp c = gen_cond(dc, jcc);
    TCGTemp old = gen_load_op(dc, 0);
    TCGTemp r = tcg_temp_new(s);
    tcg_gen_movcond(s, TCG_I64, TCG_COND_NE, r, c, int_const(dc, 0), v, old);
    gen_store_op(dc, 0, r);
}

static void int_setcc(DisasContext *dc, int jcc) { gen_store_op(dc, 0, gen_cond(dc, jcc)); }

#define INT_CC_EMITTERS(name, jcc)                                              \
    void int_emit_cmov##name(DisasContext *dc) { int_cmov(dc, jcc); }           \
    void int_emit_set##name(DisasContext *dc) { int_setcc(dc, jcc); }
INT_CC_EMITTERS(o, 0)
INT_CC_EMITTERS(no, 1)
INT_CC_EMITTERS(b, 2)
INT_CC_EMITTERS(nb, 3)
INT_CC_EMITTERS(z, 4)
INT_CC_EMITTERS(nz, 5)
INT_CC_EMITTERS(be, 6)
INT_CC_EMITTERS(nbe, 7)
INT_CC_EMITTERS(s, 8)
INT_CC_EMITTERS(ns, 9)
INT_CC_EMITTERS(p, 10)
INT_CC_EMITTERS(np, 11)
INT_CC_EMITTERS(l, 12)
INT_CC_EMITTERS(nl, 13)
INT_CC_EMITTERS(le, 14)
INT_CC_EMITTERS(nle, 15)
#undef INT_CC_EMITTERS

/* --- accumulator sign extensions ------------------------------------------------------------------- */

/* CBW CWDE CDQE: rAX = sign-extend the lower half of rAX. */
static void int_sext_acc(DisasContext *dc, unsigned bits)
{
    TCGTemp v = gen_load_reg(dc, int_acc_reg(bits / 2));
    TCGTemp r = tcg_temp_new(dc->s);
    tcg_gen_sextract(dc->s, TCG_I64, r, v, 0, bits / 2);
    gen_store_reg(dc, int_acc_reg(bits), r);
}

void int_emit_cbw(DisasContext *dc) { int_sext_acc(dc, 16); }
void int_emit_cwde(DisasContext *dc) { int_sext_acc(dc, 32); }
void int_emit_cdqe(DisasContext *dc) { int_sext_acc(dc, 64); }

/* CWD CDQ CQO: rDX = the sign of rAX, in every bit. */
static void int_sign_to_dx(DisasContext *dc, unsigned bits)
{
    TCGTemp v = gen_load_reg(dc, int_acc_reg(bits));
    TCGTemp r = tcg_temp_new(dc->s);
    tcg_gen_sextract(dc->s, TCG_I64, r, v, bits - 1, 1);
    gen_store_reg(dc, int_dx_reg(bits), r);
}

void int_emit_cwd(DisasContext *dc) { int_sign_to_dx(dc, 16); }
void int_emit_cdq(DisasContext *dc) { int_sign_to_dx(dc, 32); }
void int_emit_cqo(DisasContext *dc) { int_sign_to_dx(dc, 64); }

/* --- direct flag access ---------------------------------------------------------------------------- */

#define INT_LAHF_FLAGS (X86_SF | X86_ZF | X86_AF | X86_PF | X86_CF)

void int_emit_lahf(DisasContext *dc)
{
    TCGContext *s = dc->s;
    TCGTemp f = gen_compute_eflags(dc);
    tcg_gen_and(s, TCG_I64, f, f, int_const(dc, INT_LAHF_FLAGS));
    tcg_gen_or(s, TCG_I64, f, f, int_const(dc, 0x2));   /* bit 1 of RFLAGS reads as 1 */
    gen_store_reg(dc, ZYDIS_REGISTER_AH, f);
}

void int_emit_sahf(DisasContext *dc)
{
    TCGContext *s = dc->s;
    TCGTemp ah = gen_load_reg(dc, ZYDIS_REGISTER_AH);
    TCGTemp f = gen_compute_eflags(dc);
    tcg_gen_and(s, TCG_I64, f, f, int_const(dc, ~(uint64_t)INT_LAHF_FLAGS));
    tcg_gen_and(s, TCG_I64, ah, ah, int_const(dc, INT_LAHF_FLAGS));
    tcg_gen_or(s, TCG_I64, f, f, ah);
    gen_set_eflags_arith(dc, f);
}

/* CLC STC CMC change CF alone. */
static void int_carry(DisasContext *dc, void (*op)(TCGContext *, TCGType, TCGTemp, TCGTemp, TCGTemp),
                      uint64_t operand)
{
    TCGTemp f = gen_compute_eflags(dc);
    op(dc->s, TCG_I64, f, f, int_const(dc, operand));
    gen_set_eflags_arith(dc, f);
}

void int_emit_clc(DisasContext *dc) { int_carry(dc, tcg_gen_and, ~(uint64_t)X86_CF); }
void int_emit_stc(DisasContext *dc) { int_carry(dc, tcg_gen_or, X86_CF); }
void int_emit_cmc(DisasContext *dc) { int_carry(dc, tcg_gen_xor, X86_CF); }

void int_emit_nop(DisasContext *dc) { (void)dc; }
