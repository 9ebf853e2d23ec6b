/*
 * Shifts and rotates: SHL/SAL SHR SAR ROL ROR RCL RCR SHLD SHRD, and the flagless BMI2 forms SARX SHLX
 * SHRX RORX. The count is masked to 5 bits (6 for 64-bit operands); a masked count of 0 changes no flag.
 * A register destination is written even for count 0, so a 32-bit one is zero-extended as on hardware.
 *
 * Where the manual leaves things undefined (OF for a count above 1, AF, a 16-bit SHLD/SHRD by more than
 * 16) AMD and Intel hardware differ, and we do what the host's vendor does (x86_vendor_intel(); CPUID
 * reports the host's vendor, and the tests compare with the host):
 *
 *   AMD    OF as the count-1 formula gives it on the last step (the result's top bit against CF, or the
 *          result's top two bits); AF = 1; SHLD/SHRD r16 shift dst:src:src (src:src:dst).
 *   Intel  OF is that of a 1-bit shift or rotate of the operand as it was before, whatever the count (SAR:
 *          0), except that ROL/ROR by an immediate other than 1 leave OF as it was (by CL they do not);
 *          AF = 0; SHLD/SHRD r16 shift dst:src:dst. RCL/RCR by a multiple of the width + 1 (8/16-bit
 *          operands) change no flag at all.
 *
 * cc.c computes the flags of the lazy record; what each vendor needs recorded is arranged here.
 */
#include "core/target-x86/cpuid.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/int-emit.h"

/* The masked count of operand i (an immediate, CL, or a VEX register). */
static TCGTemp int_shift_count(DisasContext *dc, int i, unsigned bits)
{
    uint64_t mask = bits == 64 ? 63 : 31;
    if (int_op_is_imm(dc, i)) {
        return int_const(dc, dc->insn.op[i].imm.value.u & mask);
    }
    TCGTemp c = tcg_temp_new(dc->s);
    tcg_gen_and(dc->s, TCG_I64, c, gen_load_op(dc, i), int_const(dc, mask));
    return c;
}

typedef enum IntShiftOp { SH_SHL, SH_SHR, SH_SAR } IntShiftOp;

/*
 * SHL/SHR/SAR. 8/16-bit operands shift in 32-bit temps: counts up to 31 then shift bits out of the
 * operand exactly as hardware does, and the value shifted by count-1 still holds the last bit out.
 */
static void int_shift(DisasContext *dc, IntShiftOp op)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    TCGType t = x86_type_of_bits(bits);
    TCGTemp count = int_shift_count(dc, 1, bits);
    TCGTemp addr;
    TCGTemp val = gen_load_op_rmw(dc, 0, &addr);
    if (op == SH_SAR && bits < 32) {
        TCGTemp sx = tcg_temp_new(s);
        tcg_gen_sextract(s, TCG_I64, sx, val, 0, bits);
        val = sx;
    }
    void (*shift)(TCGContext *, TCGType, TCGTemp, TCGTemp, TCGTemp) =
        op == SH_SHL ? tcg_gen_shl : op == SH_SHR ? tcg_gen_shr : tcg_gen_sar;
    TCGTemp res = tcg_temp_new(s), pre = tcg_temp_new(s), cm1 = tcg_temp_new(s);
    shift(s, t, res, val, count);
    tcg_gen_sub(s, TCG_I64, cm1, count, int_const(dc, 1));
    shift(s, t, pre, val, cm1);   /* garbage for count 0, when the flags ignore it */
    gen_store_op_rmw(dc, 0, res, addr);
    TCGTemp src2 = -1;
    if (x86_vendor_intel()) {
        if (op == SH_SHL) {
            src2 = val;   /* Intel's OF: the operand's top two bits differ (cc.c) */
        } else if (op == SH_SHR) {
            /* Intel's OF is the operand's top bit. A count above 1 leaves pre's top bit 0 and 1 leaves it
               that bit, so or-ing it in makes SAR's formula (pre's top bit ^ the result's, 0) give it. */
            TCGTemp top = tcg_temp_new(s);
            tcg_gen_and(s, TCG_I64, top, val, int_const(dc, 1ULL << (bits - 1)));
            tcg_gen_or(s, TCG_I64, pre, pre, top);
        }   /* SAR: pre and the result have the same top bit, the sign: OF = 0 on both vendors */
    }
    gen_set_cc_if_count(dc, count, cc_op_sized(op == SH_SHL ? CC_OP_SHLB : CC_OP_SARB, bits), res, pre, src2);
}

void int_emit_shl(DisasContext *dc) { int_shift(dc, SH_SHL); }
void int_emit_shr(DisasContext *dc) { int_shift(dc, SH_SHR); }
void int_emit_sar(DisasContext *dc) { int_shift(dc, SH_SAR); }

/*
 * ROL/ROR: CF is the bit that went round, OF (defined for count 1) the sign change; the other flags are
 * kept. 8/16-bit values are replicated across 32 bits so a 32-bit rotate rotates them in place.
 */
bool x86_rotate_keeps_of(const X86Insn *insn)
{
    const ZydisDecodedInstruction *zi = &insn->zi;
    return (zi->mnemonic == ZYDIS_MNEMONIC_ROL || zi->mnemonic == ZYDIS_MNEMONIC_ROR) && x86_vendor_intel() &&
           insn->op[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
           (insn->op[1].imm.value.u & (zi->operand_width == 64 ? 63 : 31)) != 1;
}

static void int_rotate(DisasContext *dc, bool left)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    TCGType t = x86_type_of_bits(bits);
    TCGTemp count = int_shift_count(dc, 1, bits);
    TCGTemp addr;
    TCGTemp val = gen_load_op_rmw(dc, 0, &addr);
    TCGTemp res = tcg_temp_new(s), rc = count;
    if (bits < 32) {
        TCGTemp rep = tcg_temp_new(s);
        tcg_gen_mul(s, TCG_I32, rep, val, int_const(dc, bits == 8 ? 0x01010101 : 0x00010001));
        rc = tcg_temp_new(s);
        tcg_gen_and(s, TCG_I64, rc, count, int_const(dc, bits - 1));
        val = rep;
    }
    (left ? tcg_gen_rotl : tcg_gen_rotr)(s, t, res, val, rc);
    gen_store_op_rmw(dc, 0, res, addr);
    /* Intel: by an immediate (masked) other than 1, OF is left as it was; by CL, it is that of a 1-bit
       rotate of the operand (the top bit against the one a step brings on top), computed below. AMD and
       a count of 1: the count-1 formula on the result. */
    bool intel = x86_vendor_intel();
    bool keep_of = x86_rotate_keeps_of(&dc->insn);
    if (gen_set_cc_rotate(dc, count, left, keep_of, bits, res)) {
        return;   /* recorded lazily over the flags before it */
    }
    /* The flags before the rotate: the lazy globals are untouched so far. */
    TCGTemp old_flags = gen_compute_eflags(dc);

    TCGTemp cf = tcg_temp_new(s), of = tcg_temp_new(s), x = tcg_temp_new(s);
    if (left) {
        tcg_gen_extract(s, TCG_I64, cf, res, 0, 1);
    } else {
        tcg_gen_extract(s, TCG_I64, cf, res, bits - 1, 1);
    }
    if (intel && !keep_of) {
        /* val's low `bits` bits are the operand's (replicated for 8/16 bits) */
        tcg_gen_shl(s, TCG_I64, x, val, int_const(dc, left ? 1 : bits - 1));
        tcg_gen_xor(s, TCG_I64, x, x, val);
        tcg_gen_extract(s, TCG_I64, of, x, bits - 1, 1);
    } else if (left) {
        tcg_gen_extract(s, TCG_I64, of, res, bits - 1, 1);
        tcg_gen_xor(s, TCG_I64, of, of, cf);
    } else {
        tcg_gen_shl(s, TCG_I64, x, res, int_const(dc, 1));
        tcg_gen_xor(s, TCG_I64, x, x, res);
        tcg_gen_extract(s, TCG_I64, of, x, bits - 1, 1);
    }
    TCGTemp f = tcg_temp_new(s);
    tcg_gen_deposit(s, TCG_I64, f, old_flags, cf, 0, 1);
    if (!keep_of) {
        tcg_gen_deposit(s, TCG_I64, f, f, of, 11, 1);
    }
    gen_set_eflags_if_count(dc, count, f, old_flags);
}

void int_emit_rol(DisasContext *dc) { int_rotate(dc, true); }
void int_emit_ror(DisasContext *dc) { int_rotate(dc, false); }

/* RCL/RCR rotate through CF: rare, so a helper does the (bits+1)-wide rotation. */
static void int_rotate_carry(DisasContext *dc, bool left)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    unsigned size = cc_size_index(bits);
    TCGTemp count = int_shift_count(dc, 1, bits);
    TCGTemp flags = gen_compute_eflags(dc);
    TCGTemp addr;
    TCGTemp val = gen_load_op_rmw(dc, 0, &addr);
    TCGTemp res = tcg_temp_new(s), nf = tcg_temp_new(s);
    uint32_t kind = size | (left ? 0 : 4);
    gen_helper(s, rotc, res, val, count, flags, int_const(dc, kind));
    gen_helper(s, rotc, nf, val, count, flags, int_const(dc, kind | 8));
    gen_store_op_rmw(dc, 0, res, addr);
    gen_set_eflags_arith(dc, nf);
}

void int_emit_rcl(DisasContext *dc) { int_rotate_carry(dc, true); }
void int_emit_rcr(DisasContext *dc) { int_rotate_carry(dc, false); }

/*
 * SHLD/SHRD: the destination shifted with bits of the source coming in. The two are concatenated in one
 * 64-bit temp so the shift needs no special case for count 0. For 16-bit operands a count above 16 leaves
 * an undefined result, which the vendors' hardware makes differently: AMD shifts dst:src:src (SHRD:
 * src:src:dst), which gives the source rotated by count - 16; Intel shifts dst:src:dst, so the
 * destination's bits come in after the source's.
 */
static void int_shift_double(DisasContext *dc, bool left)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    TCGTemp count = int_shift_count(dc, 2, bits);
    TCGTemp src = gen_load_op(dc, 1);
    TCGTemp addr;
    TCGTemp dst = gen_load_op_rmw(dc, 0, &addr);
    TCGTemp res = tcg_temp_new(s), pre = tcg_temp_new(s), cm1 = tcg_temp_new(s);
    tcg_gen_sub(s, TCG_I64, cm1, count, int_const(dc, 1));

    if (bits == 64) {
        TCGTemp in = tcg_temp_new(s), rc = tcg_temp_new(s);
        tcg_gen_sub(s, TCG_I64, rc, int_const(dc, 64), count);
        if (left) {
            tcg_gen_shl(s, TCG_I64, res, dst, count);
            tcg_gen_shr(s, TCG_I64, in, src, rc);
            tcg_gen_shl(s, TCG_I64, pre, dst, cm1);
        } else {
            tcg_gen_shr(s, TCG_I64, res, dst, count);
            tcg_gen_shl(s, TCG_I64, in, src, rc);
            tcg_gen_shr(s, TCG_I64, pre, dst, cm1);
        }
        tcg_gen_or(s, TCG_I64, res, res, in);
        /* 64 - 0 shifts by 0 (mod 64), which would bring in the whole source */
        tcg_gen_movcond(s, TCG_I64, TCG_COND_EQ, res, count, int_const(dc, 0), dst, res);
    } else {
        /* cat: the bits in a 64-bit temp, the result at `at` after shifting */
        TCGTemp cat = tcg_temp_new(s), x = tcg_temp_new(s);
        unsigned at = 0;
        if (bits == 32) {
            if (left) {
                tcg_gen_deposit(s, TCG_I64, cat, src, dst, 32, 32);
                at = 32;
            } else {
                tcg_gen_deposit(s, TCG_I64, cat, dst, src, 32, 32);
            }
        } else {
            /* the third 16 bits, which only a count above 16 brings in */
            TCGTemp third = x86_vendor_intel() ? dst : src;
            if (left) {   /* dst:src:third, high to low */
                tcg_gen_shl(s, TCG_I64, cat, third, int_const(dc, 16));
                tcg_gen_deposit(s, TCG_I64, cat, cat, src, 32, 16);
                tcg_gen_deposit(s, TCG_I64, cat, cat, dst, 48, 16);
                at = 48;
            } else {      /* third:src:dst, high to low */
                tcg_gen_deposit(s, TCG_I64, cat, dst, src, 16, 16);
                tcg_gen_deposit(s, TCG_I64, cat, cat, third, 32, 16);
            }
        }
        void (*shift)(TCGContext *, TCGType, TCGTemp, TCGTemp, TCGTemp) = left ? tcg_gen_shl : tcg_gen_shr;
        shift(s, TCG_I64, x, cat, count);
        tcg_gen_shr(s, TCG_I64, res, x, int_const(dc, at));
        shift(s, TCG_I64, x, cat, cm1);
        tcg_gen_shr(s, TCG_I64, pre, x, int_const(dc, at));
    }
    bool intel = x86_vendor_intel();
    if (!left) {
        /* SAR's OF is top(src) ^ top(dst). AMD gives SHRD the sign change of its last step for every
           count, the result's top two bits differing: so put the result's second bit on top. Intel gives
           that of its first step, the destination's top bit against the source's bit 0 coming in: put
           that xor the result's top bit there. */
        TCGTemp b = tcg_temp_new(s);
        if (intel) {
            tcg_gen_shl(s, TCG_I64, b, src, int_const(dc, bits - 1));
            tcg_gen_xor(s, TCG_I64, b, b, dst);
            tcg_gen_xor(s, TCG_I64, b, b, res);
            tcg_gen_extract(s, TCG_I64, b, b, bits - 1, 1);
        } else {
            tcg_gen_extract(s, TCG_I64, b, res, bits - 2, 1);
        }
        tcg_gen_deposit(s, TCG_I64, pre, pre, b, bits - 1, 1);
    }
    gen_store_op_rmw(dc, 0, res, addr);
    /* Intel's SHLD OF, as SHL's, comes from the destination's top two bits (cc.c) */
    TCGTemp src2 = intel && left ? dst : -1;
    gen_set_cc_if_count(dc, count, cc_op_sized(left ? CC_OP_SHLB : CC_OP_SARB, bits), res, pre, src2);
}

void int_emit_shld(DisasContext *dc) { int_shift_double(dc, true); }
void int_emit_shrd(DisasContext *dc) { int_shift_double(dc, false); }

/* --- BMI2: no flags, count masked to the width ---------------------------------------------------- */

static void int_shift_x(DisasContext *dc, IntShiftOp op)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    TCGTemp val = gen_load_op(dc, 1);
    TCGTemp count = gen_load_op(dc, 2);
    TCGTemp res = tcg_temp_new(s);
    /* the IR's shifts take the count modulo the width, which is the instruction's masking */
    (op == SH_SHL ? tcg_gen_shl : op == SH_SHR ? tcg_gen_shr : tcg_gen_sar)(s, x86_type_of_bits(bits), res, val,
                                                                            count);
    gen_store_op(dc, 0, res);
}

void int_emit_shlx(DisasContext *dc) { int_shift_x(dc, SH_SHL); }
void int_emit_shrx(DisasContext *dc) { int_shift_x(dc, SH_SHR); }
void int_emit_sarx(DisasContext *dc) { int_shift_x(dc, SH_SAR); }

void int_emit_rorx(DisasContext *dc)
{
    unsigned bits = x86_op_bits(dc, 0);
    TCGTemp val = gen_load_op(dc, 1);
    TCGTemp res = tcg_temp_new(dc->s);
    tcg_gen_rotr(dc->s, x86_type_of_bits(bits), res, val, int_const(dc, dc->insn.op[2].imm.value.u & (bits - 1)));
    gen_store_op(dc, 0, res);
}
