/*
 * Lazy condition codes: computing CF..OF from a recorded operation (cc.h has the contract), the IR side
 * (recording, condition tests with translate-time fast paths), and whole-RFLAGS access for the front ends.
 */
#include "core/target-x86/cc.h"

#include "core/target-x86/cpuid.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/int-emit.h"
#include "core/target-x86/translate.h"

/* --- computing the flags ------------------------------------------------------------------------- */

/* What every family needs to know about the operation's width. */
typedef struct CcWidth {
    uint64_t mask;   /* all bits of the width */
    uint64_t sign;   /* its top bit */
} CcWidth;

static uint64_t cc_szp(uint64_t dst, CcWidth w)
{
    uint64_t f = __builtin_parity((unsigned)(dst & 0xff)) ? 0 : X86_PF;
    if (dst == 0) {
        f |= X86_ZF;
    }
    if (dst & w.sign) {
        f |= X86_SF;
    }
    return f;
}

/* The flags of r = a + b + cin (cin 0/1); all values already truncated. */
static uint64_t cc_add_flags(uint64_t r, uint64_t a, uint64_t b, uint64_t cin, CcWidth w)
{
    uint64_t f = cc_szp(r, w);
    if (cin ? r <= b : r < b) {
        f |= X86_CF;
    }
    f |= (a ^ b ^ r) & X86_AF;
    if ((a ^ r) & (b ^ r) & w.sign) {
        f |= X86_OF;
    }
    return f;
}

/* The flags of r = a - b - cin. */
static uint64_t cc_sub_flags(uint64_t r, uint64_t a, uint64_t b, uint64_t cin, CcWidth w)
{
    uint64_t f = cc_szp(r, w);
    if (cin ? a <= b : a < b) {
        f |= X86_CF;
    }
    f |= (a ^ b ^ r) & X86_AF;
    if ((a ^ b) & (a ^ r) & w.sign) {
        f |= X86_OF;
    }
    return f;
}

static uint64_t cc_add(uint64_t d, uint64_t s, uint64_t s2, CcWidth w)
{
    (void)s2;
    return cc_add_flags(d, (d - s) & w.mask, s, 0, w);
}

static uint64_t cc_adc(uint64_t d, uint64_t s, uint64_t s2, CcWidth w)
{
    uint64_t cin = s2 & 1;
    return cc_add_flags(d, (d - s - cin) & w.mask, s, cin, w);
}

static uint64_t cc_sub(uint64_t d, uint64_t s, uint64_t s2, CcWidth w)
{
    (void)s2;
    return cc_sub_flags(d, (d + s) & w.mask, s, 0, w);   /* the minuend is not recorded (cc.h) */
}

static uint64_t cc_sbb(uint64_t d, uint64_t s, uint64_t s2, CcWidth w)
{
    uint64_t cin = s2 & 1;
    return cc_sub_flags(d, (d + s + cin) & w.mask, s, cin, w);
}

static uint64_t cc_logic(uint64_t d, uint64_t s, uint64_t s2, CcWidth w)
{
    (void)s, (void)s2;
    return cc_szp(d, w);
}

static uint64_t cc_inc(uint64_t d, uint64_t s, uint64_t s2, CcWidth w)
{
    (void)s2;
    uint64_t f = cc_szp(d, w) | (s & X86_CF);
    f |= (d ^ ((d - 1) & w.mask) ^ 1) & X86_AF;
    if (d == w.sign) {
        f |= X86_OF;
    }
    return f;
}

static uint64_t cc_dec(uint64_t d, uint64_t s, uint64_t s2, CcWidth w)
{
    (void)s2;
    uint64_t f = cc_szp(d, w) | (s & X86_CF);
    f |= (d ^ ((d + 1) & w.mask) ^ 1) & X86_AF;
    if (d == w.sign - 1) {
        f |= X86_OF;
    }
    return f;
}

/*
 * Shifts. The manual leaves AF undefined, and OF too when the count is not 1; the two vendors differ, and
 * we follow the host's (x86_vendor_intel(): CPUID reports its vendor, and the tests compare with it):
 *
 *   AMD    AF = 1. OF by the count-1 formula applied to the last step: SHL: CF ^ the result's top bit;
 *          SAR/SHR: the top bits of src and dst differ.
 *   Intel  AF = 0. OF is that of a 1-bit shift of the operand as it was before, whatever the count: SHL:
 *          its top two bits differ; SHR: its top bit; SAR: 0. SHL's needs the operand, which the SHL
 *          record keeps in src2 on Intel only (cc.h). SHR's is given by SAR's formula once the emitter
 *          puts the operand's top bit on top of src, where a count above 1 has left a 0 (int-shift.c).
 *
 * SHLD/SHRD record as SHL/SAR and follow the same rules (int-shift.c arranges their src and src2).
 */
static uint64_t cc_shift_af(void) { return x86_vendor_intel() ? 0 : X86_AF; }

static uint64_t cc_shl(uint64_t d, uint64_t s, uint64_t s2, CcWidth w)
{
    uint64_t f = cc_szp(d, w) | cc_shift_af();
    bool cf = (s & w.sign) != 0;
    if (cf) {
        f |= X86_CF;
    }
    bool of = x86_vendor_intel() ? ((s2 ^ (s2 << 1)) & w.sign) != 0 : cf != ((d & w.sign) != 0);
    if (of) {
        f |= X86_OF;
    }
    return f;
}

static uint64_t cc_sar(uint64_t d, uint64_t s, uint64_t s2, CcWidth w)
{
    (void)s2;
    uint64_t f = cc_szp(d, w) | cc_shift_af() | (s & X86_CF);
    if ((s ^ d) & w.sign) {
        f |= X86_OF;
    }
    return f;
}

/* MUL/IMUL: SF ZF AF PF are undefined; we give SF ZF PF of the low half, as AMD does. Intel gives SF PF
   of the low half too, but always clears ZF. */
static uint64_t cc_mul(uint64_t d, uint64_t s, uint64_t s2, CcWidth w)
{
    (void)s2;
    uint64_t f = cc_szp(d, w) | (s ? X86_CF | X86_OF : 0);
    return x86_vendor_intel() ? f & ~(uint64_t)X86_ZF : f;
}

/* BMI: PF (and AF) are undefined; AMD gives the result's parity, Intel always clears PF. */
static uint64_t cc_bmi(uint64_t d, uint64_t s, uint64_t s2, CcWidth w)
{
    (void)s2;
    uint64_t f = cc_szp(d, w) | (s & X86_CF);
    return x86_vendor_intel() ? f & ~(uint64_t)X86_PF : f;
}

typedef uint64_t (*CcFamilyFn)(uint64_t dst, uint64_t src, uint64_t src2, CcWidth w);

/* Indexed by (op - CC_OP_ADDB) / 4, in cc.h's order. */
static const CcFamilyFn cc_families[] = {
    cc_add, cc_adc, cc_sub, cc_sbb, cc_logic, cc_inc, cc_dec, cc_shl, cc_sar, cc_mul, cc_bmi,
};

_Static_assert(sizeof(cc_families) / sizeof(cc_families[0]) * 4 == CC_OP_POPCNT - CC_OP_ADDB,
               "one function per CC_OP family");

/* A rotate over a base op (cc.h): CF and OF from the rotated value (keep_of: CF only), the rest from the
   base. */
static uint64_t cc_rot(int op, uint64_t res, uint64_t base_dst, uint64_t base_src)
{
    int base = cc_op_rot_base(op);
    bool left = cc_op_rot_left(op);
    unsigned top = cc_op_rot_bits(op) - 1;
    uint64_t minuend = base_dst + base_src;   /* used by a SUB base only */
    uint64_t f = x86_cc_compute(base, base_dst, base_src, minuend);
    uint64_t cf = left ? res & 1 : (res >> top) & 1;
    if (cc_op_rot_keep_of(op)) {
        return (f & ~(uint64_t)X86_CF) | (cf ? X86_CF : 0);
    }
    f &= ~(uint64_t)(X86_CF | X86_OF);
    uint64_t of = left ? cf ^ ((res >> top) & 1) : (((res << 1) ^ res) >> top) & 1;
    return f | (cf ? X86_CF : 0) | (of ? X86_OF : 0);
}

uint64_t x86_cc_compute(int op, uint64_t dst, uint64_t src, uint64_t src2)
{
    if (cc_op_is_rot(op)) {
        return cc_rot(op, dst, src, src2);
    }
    if (op == CC_OP_EFLAGS) {
        return src & X86_ARITH_FLAGS;
    }
    if (op == CC_OP_POPCNT) {
        return dst ? 0 : X86_ZF;
    }
    if (!cc_op_is_sized(op)) {
        return 0;   /* cannot happen: env->cc_op is only ever set to a real op */
    }
    unsigned bits = 8u << cc_op_size(op);
    CcWidth w = {bits == 64 ? ~0ULL : (1ULL << bits) - 1, 1ULL << (bits - 1)};
    /* MUL's src is an overflow indicator that may lie above the width: not truncated */
    uint64_t s = cc_op_family(op) == CC_OP_MULB ? src : src & w.mask;
    return cc_families[(op - CC_OP_ADDB) >> 2](dst & w.mask, s, src2, w);
}

uint64_t helper_cc_compute(uint64_t op, uint64_t dst, uint64_t src, uint64_t src2)
{
    return x86_cc_compute((int)op, dst, src, src2);
}

/* --- whole RFLAGS -------------------------------------------------------------------------------- */

uint64_t x86_get_eflags(const CPUX86State *env)
{
    uint64_t f = env->eflags & ~(uint64_t)(X86_ARITH_FLAGS | X86_DF);
    f |= x86_cc_compute((int)env->cc_op, env->cc_dst, env->cc_src, env->cc_src2);
    if (env->df < 0) {
        f |= X86_DF;   /* the string step is the authority for DF */
    }
    return f | 0x2;
}

void x86_set_eflags(CPUX86State *env, uint64_t value, uint64_t mask)
{
    if (mask & X86_ARITH_FLAGS) {
        uint64_t cur = x86_cc_compute((int)env->cc_op, env->cc_dst, env->cc_src, env->cc_src2);
        env->cc_src = ((cur & ~mask) | (value & mask)) & X86_ARITH_FLAGS;
        env->cc_op = CC_OP_EFLAGS;
    }
    uint64_t other = mask & ~(uint64_t)X86_ARITH_FLAGS;
    env->eflags = ((env->eflags & ~other) | (value & other)) | 0x2;
    if (mask & X86_DF) {
        env->df = (value & X86_DF) ? -1 : 1;
    }
}

/* --- IR: recording ------------------------------------------------------------------------------- */

void gen_set_cc(DisasContext *dc, int cc_op, TCGTemp dst, TCGTemp src, TCGTemp src2)
{
    TCGContext *s = dc->s;
    if (x86_hook_cmp && src >= 0 && src2 >= 0 && cc_op_is_sized(cc_op) && cc_op_family(cc_op) == CC_OP_SUBB) {
        x86_hook_cmp(dc, 8u << cc_op_size(cc_op), src2, src);   /* SUB: dst = src2 - src */
    }
    if (dc->flags_dead) {
        return;
    }
    if (dst >= 0) {
        tcg_gen_mov(s, TCG_I64, cpu_cc_dst, dst);
    }
    if (src >= 0) {
        tcg_gen_mov(s, TCG_I64, cpu_cc_src, src);
    }
    if (cc_op_is_sized(cc_op) && cc_op_family(cc_op) == CC_OP_SUBB) {
        /* A copy: src2 may be a guest register the block changes later. */
        dc->cc_minuend = src2 >= 0 ? tcg_temp_new(s) : -1;
        if (src2 >= 0) {
            tcg_gen_mov(s, TCG_I64, dc->cc_minuend, src2);
        }
    } else if (src2 >= 0) {
        tcg_gen_mov(s, TCG_I64, cpu_cc_src2, src2);
    }
    if (dc->cc_op != cc_op) {
        tcg_gen_movi(s, TCG_I64, cpu_cc_op, (uint64_t)cc_op);
        dc->cc_op = cc_op;
    }
}

TCGTemp gen_compute_eflags(DisasContext *dc)
{
    TCGContext *s = dc->s;
    TCGTemp f = tcg_temp_new(s);
    if (dc->cc_op == CC_OP_EFLAGS) {
        tcg_gen_mov(s, TCG_I64, f, cpu_cc_src);
        return f;
    }
    TCGTemp op = dc->cc_op == CC_OP_DYNAMIC ? cpu_cc_op : tcg_const(s, (uint64_t)dc->cc_op);
    gen_helper(s, cc_compute, f, op, cpu_cc_dst, cpu_cc_src, cpu_cc_src2);
    return f;
}

void gen_set_eflags_arith(DisasContext *dc, TCGTemp flags)
{
    if (dc->flags_dead) {
        return;
    }
    TCGTemp f = tcg_temp_new(dc->s);
    tcg_gen_and(dc->s, TCG_I64, f, flags, tcg_const(dc->s, X86_ARITH_FLAGS));
    gen_set_cc(dc, CC_OP_EFLAGS, -1, f, -1);
}

/* Is t a constant known at translate time, and which. */
static bool cc_const_value(DisasContext *dc, TCGTemp t, uint64_t *v)
{
    if (dc->s->temps[t].kind != TEMP_CONST) {
        return false;
    }
    *v = dc->s->temps[t].value;
    return true;
}

bool gen_set_cc_rotate(DisasContext *dc, TCGTemp count, bool left, bool keep_of, unsigned bits, TCGTemp res)
{
    TCGContext *s = dc->s;
    if (dc->flags_dead) {
        return true;
    }
    uint64_t c;
    if (!cc_const_value(dc, count, &c)) {
        return false;
    }
    if (c == 0) {
        return true;   /* a masked count of 0 changes no flag */
    }
    int op = dc->cc_op, base;
    if (cc_op_is_rot(op)) {
        if (keep_of && !cc_op_rot_keep_of(op)) {
            return false;   /* the OF to keep is the rotate's, which its result (replaced here) gives */
        }
        base = cc_op_rot_base(op);   /* the base stays where it is */
    } else if (op == CC_OP_EFLAGS || op == CC_OP_POPCNT ||
               (cc_op_is_sized(op) && cc_op_family(op) != CC_OP_ADCB && cc_op_family(op) != CC_OP_SBBB &&
                !(cc_op_family(op) == CC_OP_SHLB && x86_vendor_intel()))) {   /* Intel's SHL uses src2 */
        base = op;
        tcg_gen_mov(s, TCG_I64, cpu_cc_src2, cpu_cc_src);
        tcg_gen_mov(s, TCG_I64, cpu_cc_src, cpu_cc_dst);
    } else {
        return false;   /* unknown at translate time, or a base with three values */
    }
    tcg_gen_mov(s, TCG_I64, cpu_cc_dst, res);
    int rot = cc_op_rot(base, left, keep_of, bits);
    tcg_gen_movi(s, TCG_I64, cpu_cc_op, (uint64_t)rot);
    dc->cc_op = rot;
    return true;
}

void gen_set_cc_if_count(DisasContext *dc, TCGTemp count, int cc_op, TCGTemp dst, TCGTemp src, TCGTemp src2)
{
    if (dc->flags_dead) {
        return;
    }
    TCGContext *s = dc->s;
    uint64_t c;
    if (cc_const_value(dc, count, &c)) {
        if (c != 0) {
            gen_set_cc(dc, cc_op, dst, src, src2);
        }
        return;
    }
    /* A count of 0 keeps every lazy-flag global as it was, cc_op included. */
    TCGTemp zero = tcg_const(s, 0);
    tcg_gen_movcond(s, TCG_I64, TCG_COND_NE, cpu_cc_dst, count, zero, dst, cpu_cc_dst);
    tcg_gen_movcond(s, TCG_I64, TCG_COND_NE, cpu_cc_src, count, zero, src, cpu_cc_src);
    if (src2 >= 0) {
        tcg_gen_movcond(s, TCG_I64, TCG_COND_NE, cpu_cc_src2, count, zero, src2, cpu_cc_src2);
    }
    if (dc->cc_op != cc_op) {
        tcg_gen_movcond(s, TCG_I64, TCG_COND_NE, cpu_cc_op, count, zero, tcg_const(s, (uint64_t)cc_op),
                        cpu_cc_op);
        dc->cc_op = CC_OP_DYNAMIC;
    }
}

void gen_set_eflags_if_count(DisasContext *dc, TCGTemp count, TCGTemp new_flags, TCGTemp old_flags)
{
    if (dc->flags_dead) {
        return;
    }
    TCGContext *s = dc->s;
    uint64_t c;
    if (cc_const_value(dc, count, &c)) {
        if (c != 0) {
            gen_set_eflags_arith(dc, new_flags);
        }
        return;
    }
    /* old_flags are the current flags, so storing them back as CC_OP_EFLAGS changes nothing. */
    TCGTemp f = tcg_temp_new(s);
    tcg_gen_movcond(s, TCG_I64, TCG_COND_NE, f, count, tcg_const(s, 0), new_flags, old_flags);
    gen_set_eflags_arith(dc, f);
}

/* --- IR: condition tests ------------------------------------------------------------------------- */

enum { JCC_O, JCC_B, JCC_Z, JCC_BE, JCC_S, JCC_P, JCC_L, JCC_LE };   /* jcc >> 1 */

/* One comparison that decides a condition: r = cond(a, b). */
typedef struct CcTest {
    TCGCond cond;
    TCGType type;
    TCGTemp a, b;
} CcTest;

static uint64_t cc_mask_of(unsigned size) { return size == 3 ? ~0ULL : (1ULL << (8u << size)) - 1; }
static uint64_t cc_sign_of(unsigned size) { return 1ULL << ((8u << size) - 1); }

/* A global truncated to the op's width (signed or not), and the type to compare it in. */
static TCGTemp cc_view(DisasContext *dc, TCGTemp v, unsigned size, bool sign, TCGType *type)
{
    TCGContext *s = dc->s;
    *type = size == 3 ? TCG_I64 : TCG_I32;
    if (size >= 2) {
        return v;   /* an I32 comparison reads the low 32 bits */
    }
    TCGTemp t = tcg_temp_new(s);
    if (size == 0) {
        (sign ? tcg_gen_ext8s : tcg_gen_ext8u)(s, TCG_I32, t, v);
    } else {
        (sign ? tcg_gen_ext16s : tcg_gen_ext16u)(s, TCG_I32, t, v);
    }
    return t;
}

static bool cc_compare(DisasContext *dc, CcTest *t, TCGCond c, TCGTemp a, TCGTemp b, unsigned size, bool sign)
{
    TCGType ty;
    t->a = cc_view(dc, a, size, sign, &ty);
    t->b = cc_view(dc, b, size, sign, &ty);
    t->cond = c;
    t->type = ty;
    return true;
}

static bool cc_test_bits(DisasContext *dc, CcTest *t, TCGCond c, TCGTemp v, uint64_t bits)
{
    t->cond = c;
    t->type = TCG_I64;
    t->a = v;
    t->b = tcg_const(dc->s, bits);
    return true;
}

/* Fast paths: the condition straight from the recorded operands, when the op is known. */
static bool cc_fast_test(DisasContext *dc, int cond, CcTest *t)
{
    int op = dc->cc_op;
    if (!cc_op_is_sized(op)) {
        return false;
    }
    int fam = cc_op_family(op);
    unsigned size = cc_op_size(op);
    uint64_t mask = cc_mask_of(size), sign = cc_sign_of(size);

    /* ZF and SF come from the result in every family, but for Intel's MUL, which clears ZF (cc_mul). */
    if (cond == JCC_Z) {
        if (fam == CC_OP_MULB && x86_vendor_intel()) {
            t->cond = TCG_COND_NEVER;
            return true;
        }
        return cc_test_bits(dc, t, TCG_COND_TSTEQ, cpu_cc_dst, mask);
    }
    if (cond == JCC_S) {
        return cc_test_bits(dc, t, TCG_COND_TSTNE, cpu_cc_dst, sign);
    }
    switch (fam) {
    case CC_OP_SUBB:
        if (dc->cc_minuend < 0) {
            return false;
        }
        switch (cond) {
        case JCC_B: return cc_compare(dc, t, TCG_COND_LTU, dc->cc_minuend, cpu_cc_src, size, false);
        case JCC_BE: return cc_compare(dc, t, TCG_COND_LEU, dc->cc_minuend, cpu_cc_src, size, false);
        case JCC_L: return cc_compare(dc, t, TCG_COND_LT, dc->cc_minuend, cpu_cc_src, size, true);
        case JCC_LE: return cc_compare(dc, t, TCG_COND_LE, dc->cc_minuend, cpu_cc_src, size, true);
        }
        return false;
    case CC_OP_ADDB:
        if (cond == JCC_B) {
            return cc_compare(dc, t, TCG_COND_LTU, cpu_cc_dst, cpu_cc_src, size, false);
        }
        return false;
    case CC_OP_LOGICB:
        switch (cond) {
        case JCC_O:
        case JCC_B:
            t->cond = TCG_COND_NEVER;
            return true;
        case JCC_BE:
            return cc_test_bits(dc, t, TCG_COND_TSTEQ, cpu_cc_dst, mask);
        case JCC_L:
            return cc_test_bits(dc, t, TCG_COND_TSTNE, cpu_cc_dst, sign);
        case JCC_LE:
            /* ZF | SF: the result is <= 0 as a signed number */
            t->a = cc_view(dc, cpu_cc_dst, size, true, &t->type);
            t->b = tcg_const(dc->s, 0);
            t->cond = TCG_COND_LE;
            return true;
        }
        return false;
    case CC_OP_INCB:
    case CC_OP_DECB:
    case CC_OP_BMIB:
        if (cond == JCC_B) {
            return cc_test_bits(dc, t, TCG_COND_TSTNE, cpu_cc_src, X86_CF);
        }
        return false;
    case CC_OP_SARB:
        if (cond == JCC_B) {
            return cc_test_bits(dc, t, TCG_COND_TSTNE, cpu_cc_src, 1);
        }
        return false;
    case CC_OP_SHLB:
        if (cond == JCC_B) {
            return cc_test_bits(dc, t, TCG_COND_TSTNE, cpu_cc_src, sign);
        }
        return false;
    case CC_OP_MULB:
        if (cond == JCC_B || cond == JCC_O) {
            return cc_test_bits(dc, t, TCG_COND_TSTNE, cpu_cc_src, ~0ULL);
        }
        return false;
    }
    return false;
}

/* The general path: test bits of the materialized flags. */
static void cc_flags_test(DisasContext *dc, int cond, CcTest *t)
{
    TCGContext *s = dc->s;
    static const uint64_t bit[] = {
        [JCC_O] = X86_OF, [JCC_B] = X86_CF, [JCC_Z] = X86_ZF, [JCC_BE] = X86_CF | X86_ZF,
        [JCC_S] = X86_SF, [JCC_P] = X86_PF, [JCC_L] = X86_SF, [JCC_LE] = X86_SF | X86_ZF,
    };
    TCGTemp f = gen_compute_eflags(dc);
    if (cond == JCC_L || cond == JCC_LE) {
        /* Move OF (bit 11) onto SF (bit 7): bit 7 becomes SF ^ OF. Bit 6 (ZF) meets bit 10, which is
           never set in arithmetic-only flags. */
        TCGTemp sh = tcg_temp_new(s);
        tcg_gen_shr(s, TCG_I64, sh, f, tcg_const(s, 4));
        tcg_gen_xor(s, TCG_I64, f, f, sh);
    }
    cc_test_bits(dc, t, TCG_COND_TSTNE, f, bit[cond]);
}

TCGTemp gen_cond(DisasContext *dc, int jcc)
{
    TCGContext *s = dc->s;
    int cond = (jcc >> 1) & 7;
    bool invert = jcc & 1;
    CcTest t;
    if (!cc_fast_test(dc, cond, &t)) {
        cc_flags_test(dc, cond, &t);
    }
    TCGTemp r = tcg_temp_new(s);
    if (t.cond == TCG_COND_NEVER) {
        tcg_gen_movi(s, TCG_I64, r, invert ? 1 : 0);
        return r;
    }
    tcg_gen_setcond(s, t.type, invert ? tcg_cond_invert(t.cond) : t.cond, r, t.a, t.b);
    return r;
}
