/*
 * Bit instructions: BT BTS BTR BTC, BSF BSR TZCNT LZCNT POPCNT, the BMI1/BMI2 group (ANDN BEXTR BLSI BLSMSK
 * BLSR BZHI PDEP PEXT), ADCX ADOX, and byte order: BSWAP MOVBE; CRC32.
 */
#include "core/target-x86/cpuid.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/int-emit.h"

/* --- BT family ------------------------------------------------------------------------------------- */

typedef enum IntBtOp { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT } IntBtOp;

typedef struct IntBtArgs {
    IntBtOp op;
    TCGTemp bit;   /* 1 << bit number */
} IntBtArgs;

static TCGTemp int_bt_compute(DisasContext *dc, TCGTemp old, const void *p)
{
    const IntBtArgs *a = p;
    TCGContext *s = dc->s;
    TCGTemp r = tcg_temp_new(s);
    switch (a->op) {
    case BT_SET:
        tcg_gen_or(s, TCG_I64, r, old, a->bit);
        break;
    case BT_RESET:
        tcg_gen_andc(s, TCG_I64, r, old, a->bit);
        break;
    case BT_COMPLEMENT:
        tcg_gen_xor(s, TCG_I64, r, old, a->bit);
        break;
    case BT_TEST:
        tcg_gen_mov(s, TCG_I64, r, old);
        break;
    }
    return r;
}

/*
 * CF = the selected bit; BTS/BTR/BTC then set, clear or flip it. With a memory operand and a register bit
 * offset, the offset is signed and may address any operand-sized unit around the memory operand. ZF is
 * kept (the manual says so); OF SF AF PF are undefined and kept too, as both AMD and Intel hardware do.
 */
static void int_bt(DisasContext *dc, IntBtOp op)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    unsigned lg = bits == 64 ? 6 : bits == 32 ? 5 : 4;
    TCGTemp num = tcg_temp_new(s), old, res;
    IntBtArgs a = {op, tcg_temp_new(s)};

    if (int_op_is_mem(dc, 0)) {
        TCGTemp addr = gen_lea(dc, 0);
        if (!int_op_is_imm(dc, 1)) {
            TCGTemp off = gen_load_op_signed(dc, 1);
            TCGTemp disp = tcg_temp_new(s), a2 = tcg_temp_new(s);
            tcg_gen_sar(s, TCG_I64, disp, off, int_const(dc, lg));
            tcg_gen_shl(s, TCG_I64, disp, disp, int_const(dc, lg - 3));
            tcg_gen_add(s, TCG_I64, a2, addr, disp);
            addr = a2;
            tcg_gen_and(s, TCG_I64, num, off, int_const(dc, bits - 1));
        } else {
            tcg_gen_movi(s, TCG_I64, num, dc->insn.op[1].imm.value.u & (bits - 1));
        }
        tcg_gen_shl(s, TCG_I64, a.bit, int_const(dc, 1), num);
        if (op == BT_TEST) {
            old = gen_ld(dc, addr, bits, false);
        } else if (int_has_lock(dc)) {
            res = gen_atomic_rmw(dc, addr, bits, int_bt_compute, &a, &old);
        } else {
            old = gen_ld(dc, addr, bits, false);
            res = int_bt_compute(dc, old, &a);
            gen_st(dc, addr, res, bits);
        }
    } else {
        tcg_gen_and(s, TCG_I64, num, gen_load_op(dc, 1), int_const(dc, bits - 1));
        tcg_gen_shl(s, TCG_I64, a.bit, int_const(dc, 1), num);
        old = gen_load_op(dc, 0);
        if (op != BT_TEST) {
            gen_store_op(dc, 0, int_bt_compute(dc, old, &a));
        }
    }
    TCGTemp cf = tcg_temp_new(s), f = gen_compute_eflags(dc);
    tcg_gen_shr(s, TCG_I64, cf, old, num);
    tcg_gen_deposit(s, TCG_I64, f, f, cf, 0, 1);
    gen_set_eflags_arith(dc, f);
}

void int_emit_bt(DisasContext *dc) { int_bt(dc, BT_TEST); }
void int_emit_bts(DisasContext *dc) { int_bt(dc, BT_SET); }
void int_emit_btr(DisasContext *dc) { int_bt(dc, BT_RESET); }
void int_emit_btc(DisasContext *dc) { int_bt(dc, BT_COMPLEMENT); }

/* --- bit scans and counts -------------------------------------------------------------------------- */

/* A temp that is 1 when v is 0. */
static TCGTemp int_is_zero(DisasContext *dc, TCGTemp v)
{
    TCGTemp z = tcg_temp_new(dc->s);
    tcg_gen_setcond(dc->s, TCG_I64, TCG_COND_EQ, z, v, int_const(dc, 0));
    return z;
}

/*
 * BSF/BSR: a zero source sets ZF and leaves the destination as it was: the whole register, even for a
 * 32-bit one (AMD documents this; the manual calls it undefined; Intel hardware does the same). The other
 * flags are undefined and the vendors differ: AMD clears them (CC_OP_POPCNT on the source gives exactly
 * ZF = source == 0); Intel clears CF OF SF AF but gives PF of the index found, and sets PF for a zero
 * source. A LOGIC record of 0 (zero source) or the index with bit 8 set (nonzero, above the byte PF
 * reads and below the sign bit) gives Intel's flags.
 */
static void int_bit_scan(DisasContext *dc, bool reverse)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    TCGType t = x86_type_of_bits(bits);
    unsigned top = bits == 64 ? 63 : 31;   /* the IR type's top bit: 16-bit values scan as 32-bit */
    TCGTemp src = gen_load_op(dc, 1);
    TCGTemp old = gen_load_op(dc, 0);
    TCGTemp res = tcg_temp_new(s);
    if (reverse) {
        /* index = top - clz = top ^ clz; for a zero source the xors cancel and give old back */
        TCGTemp alt = tcg_temp_new(s);
        tcg_gen_xor(s, TCG_I64, alt, old, int_const(dc, top));
        tcg_gen_clz(s, t, res, src, alt);
        tcg_gen_xor(s, TCG_I64, res, res, int_const(dc, top));
    } else {
        tcg_gen_ctz(s, t, res, src, old);
    }
    int r = x86_gpr_index(dc->insn.op[0].reg.value);
    if (bits == 32 && r >= 0) {
        /* no write at all for a zero source, so the upper half stays */
        tcg_gen_movcond(s, TCG_I64, TCG_COND_EQ, cpu_regs[r], src, int_const(dc, 0), cpu_regs[r], res);
    } else {
        gen_store_op(dc, 0, res);
    }
    if (x86_vendor_intel()) {
        TCGTemp rec = tcg_temp_new(s);
        tcg_gen_or(s, TCG_I64, rec, res, int_const(dc, 0x100));
        tcg_gen_movcond(s, TCG_I64, TCG_COND_EQ, rec, src, int_const(dc, 0), int_const(dc, 0), rec);
        gen_set_cc(dc, cc_op_sized(CC_OP_LOGICB, bits), rec, -1, -1);
    } else {
        gen_set_cc(dc, CC_OP_POPCNT, src, -1, -1);
    }
}

void int_emit_bsf(DisasContext *dc) { int_bit_scan(dc, false); }
void int_emit_bsr(DisasContext *dc) { int_bit_scan(dc, true); }

/* TZCNT/LZCNT: CF = source is zero, ZF = result is zero. OF SF PF AF are undefined (cc.c's BMI family). */
static void int_count_zeros(DisasContext *dc, bool leading)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    TCGType t = x86_type_of_bits(bits);
    TCGTemp src = gen_load_op(dc, 1);
    TCGTemp res = tcg_temp_new(s);
    if (!leading) {
        tcg_gen_ctz(s, t, res, src, int_const(dc, bits));
    } else if (bits == 16) {
        tcg_gen_clz(s, TCG_I32, res, src, int_const(dc, 32));
        tcg_gen_sub(s, TCG_I32, res, res, int_const(dc, 16));
    } else {
        tcg_gen_clz(s, t, res, src, int_const(dc, bits));
    }
    gen_store_op(dc, 0, res);
    gen_set_cc(dc, cc_op_sized(CC_OP_BMIB, bits), res, int_is_zero(dc, src), -1);
}

void int_emit_tzcnt(DisasContext *dc) { int_count_zeros(dc, false); }
void int_emit_lzcnt(DisasContext *dc) { int_count_zeros(dc, true); }

void int_emit_popcnt(DisasContext *dc)
{
    TCGTemp src = gen_load_op(dc, 1);
    TCGTemp res = tcg_temp_new(dc->s);
    tcg_gen_ctpop(dc->s, TCG_I64, res, src);
    gen_store_op(dc, 0, res);
    gen_set_cc(dc, CC_OP_POPCNT, src, -1, -1);
}

/* --- BMI1 / BMI2 ----------------------------------------------------------------------------------- */

/*
 * ANDN and BEXTR: CF = OF = 0, ZF from the result, and SF too for ANDN; PF AF (and BEXTR's SF) are
 * undefined. AMD gives them as a logic operation would (a LOGIC record); Intel clears PF, as for the
 * other BMI instructions (cc.c's BMI family), and BEXTR's SF.
 */
static void int_set_cc_bmi_logic(DisasContext *dc, unsigned bits, TCGTemp res, bool sf_undefined)
{
    if (!x86_vendor_intel()) {
        gen_set_cc(dc, cc_op_sized(CC_OP_LOGICB, bits), res, -1, -1);
    } else if (!sf_undefined) {
        gen_set_cc(dc, cc_op_sized(CC_OP_BMIB, bits), res, int_const(dc, 0), -1);
    } else {
        TCGTemp f = tcg_temp_new(dc->s);
        tcg_gen_setcond(dc->s, TCG_I64, TCG_COND_EQ, f, res, int_const(dc, 0));
        tcg_gen_shl(dc->s, TCG_I64, f, f, int_const(dc, 6));   /* ZF */
        gen_set_eflags_arith(dc, f);
    }
}

void int_emit_andn(DisasContext *dc)
{
    unsigned bits = x86_op_bits(dc, 0);
    TCGTemp a = gen_load_op(dc, 1), b = gen_load_op(dc, 2);
    TCGTemp res = tcg_temp_new(dc->s);
    tcg_gen_andc(dc->s, TCG_I64, res, b, a);
    gen_store_op(dc, 0, res);
    int_set_cc_bmi_logic(dc, bits, res, false);
}

void int_emit_bextr(DisasContext *dc)
{
    if (dc->insn.zi.encoding == ZYDIS_INSTRUCTION_ENCODING_XOP) {
        /* TBM's BEXTR with an immediate control: TBM is neither implemented nor advertised. */
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    unsigned bits = x86_op_bits(dc, 0);
    TCGTemp src = gen_load_op(dc, 1), ctl = gen_load_op(dc, 2);
    TCGTemp res = tcg_temp_new(dc->s);
    gen_helper(dc->s, bextr, res, src, ctl, int_const(dc, bits));
    gen_store_op(dc, 0, res);
    int_set_cc_bmi_logic(dc, bits, res, true);
}

void int_emit_bzhi(DisasContext *dc)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    TCGTemp src = gen_load_op(dc, 1), idx = gen_load_op(dc, 2);
    TCGTemp res = tcg_temp_new(s), n = tcg_temp_new(s), cf = tcg_temp_new(s);
    gen_helper(s, bzhi, res, src, idx, int_const(dc, bits));
    gen_store_op(dc, 0, res);
    /* CF: the index (its low byte) is past the operand */
    tcg_gen_ext8u(s, TCG_I64, n, idx);
    tcg_gen_setcond(s, TCG_I64, TCG_COND_GTU, cf, n, int_const(dc, bits - 1));
    gen_set_cc(dc, cc_op_sized(CC_OP_BMIB, bits), res, cf, -1);
}

typedef enum IntBlsOp { BLS_I, BLS_MSK, BLS_R } IntBlsOp;

/* BLSI (lowest set bit), BLSMSK (mask up to it), BLSR (clear it). */
static void int_bls(DisasContext *dc, IntBlsOp op)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    TCGType t = x86_type_of_bits(bits);
    TCGTemp src = gen_load_op(dc, 1);
    TCGTemp res = tcg_temp_new(s), cf = tcg_temp_new(s);
    if (op == BLS_I) {
        tcg_gen_neg(s, t, res, src);
        tcg_gen_and(s, t, res, res, src);
        tcg_gen_setcond(s, TCG_I64, TCG_COND_NE, cf, src, int_const(dc, 0));
    } else {
        tcg_gen_sub(s, t, res, src, int_const(dc, 1));
        (op == BLS_MSK ? tcg_gen_xor : tcg_gen_and)(s, t, res, res, src);
        tcg_gen_setcond(s, TCG_I64, TCG_COND_EQ, cf, src, int_const(dc, 0));
    }
    gen_store_op(dc, 0, res);
    gen_set_cc(dc, cc_op_sized(CC_OP_BMIB, bits), res, cf, -1);
}

void int_emit_blsi(DisasContext *dc) { int_bls(dc, BLS_I); }
void int_emit_blsmsk(DisasContext *dc) { int_bls(dc, BLS_MSK); }
void int_emit_blsr(DisasContext *dc) { int_bls(dc, BLS_R); }

static void int_pdep_pext(DisasContext *dc, bool deposit)
{
    TCGTemp src = gen_load_op(dc, 1), mask = gen_load_op(dc, 2);
    TCGTemp res = tcg_temp_new(dc->s);
    if (deposit) {
        gen_helper(dc->s, pdep, res, src, mask);
    } else {
        gen_helper(dc->s, pext, res, src, mask);
    }
    gen_store_op(dc, 0, res);
}

void int_emit_pdep(DisasContext *dc) { int_pdep_pext(dc, true); }
void int_emit_pext(DisasContext *dc) { int_pdep_pext(dc, false); }

/* --- ADCX / ADOX: add with carry through CF or OF only ---------------------------------------------- */

static void int_adx(DisasContext *dc, unsigned flag_bit)
{
    TCGContext *s = dc->s;
    unsigned bits = x86_op_bits(dc, 0);
    TCGTemp b = gen_load_op(dc, 1);
    TCGTemp a = gen_load_op(dc, 0);
    TCGTemp f = gen_compute_eflags(dc);
    TCGTemp cin = tcg_temp_new(s), sum = tcg_temp_new(s), cout = tcg_temp_new(s);
    tcg_gen_extract(s, TCG_I64, cin, f, flag_bit, 1);
    if (bits == 32) {
        /* 32-bit values in 64-bit temps: the carry is bit 32 of the sum */
        tcg_gen_add(s, TCG_I64, sum, a, b);
        tcg_gen_add(s, TCG_I64, sum, sum, cin);
        tcg_gen_extract(s, TCG_I64, cout, sum, 32, 1);
    } else {
        TCGTemp t = tcg_temp_new(s), c2 = tcg_temp_new(s);
        tcg_gen_add(s, TCG_I64, t, a, b);
        tcg_gen_setcond(s, TCG_I64, TCG_COND_LTU, cout, t, a);
        tcg_gen_add(s, TCG_I64, sum, t, cin);
        tcg_gen_setcond(s, TCG_I64, TCG_COND_LTU, c2, sum, t);
        tcg_gen_or(s, TCG_I64, cout, cout, c2);
    }
    gen_store_op(dc, 0, sum);
    tcg_gen_deposit(s, TCG_I64, f, f, cout, flag_bit, 1);
    gen_set_eflags_arith(dc, f);
}

void int_emit_adcx(DisasContext *dc) { int_adx(dc, 0); }
void int_emit_adox(DisasContext *dc) { int_adx(dc, 11); }

/* --- byte order and CRC32 -------------------------------------------------------------------------- */

/* v with its low `bits` bytes reversed. */
static TCGTemp int_bswap(DisasContext *dc, TCGTemp v, unsigned bits)
{
    TCGContext *s = dc->s;
    TCGTemp r = tcg_temp_new(s);
    if (bits == 16) {
        tcg_gen_bswap(s, TCG_I32, r, v);
        tcg_gen_shr(s, TCG_I32, r, r, int_const(dc, 16));
    } else {
        tcg_gen_bswap(s, x86_type_of_bits(bits), r, v);
    }
    return r;
}

/* BSWAP r16 is undefined; hardware clears the register's low 16 bits. */
void int_emit_bswap(DisasContext *dc)
{
    unsigned bits = x86_op_bits(dc, 0);
    if (bits == 16) {
        gen_store_op(dc, 0, int_const(dc, 0));
        return;
    }
    gen_store_op(dc, 0, int_bswap(dc, gen_load_op(dc, 0), bits));
}

void int_emit_movbe(DisasContext *dc)
{
    gen_store_op(dc, 0, int_bswap(dc, gen_load_op(dc, 1), x86_op_bits(dc, 0)));
}

/* CRC32 (SSE4.2): CRC-32C of the source's bytes into the low 32 bits of the destination. */
void int_emit_crc32(DisasContext *dc)
{
    TCGTemp data = gen_load_op(dc, 1);
    TCGTemp crc = gen_load_op(dc, 0);
    TCGTemp res = tcg_temp_new(dc->s);
    gen_helper(dc->s, crc32c, res, crc, data, int_const(dc, x86_op_bits(dc, 1)));
    gen_store_op(dc, 0, res);
}
