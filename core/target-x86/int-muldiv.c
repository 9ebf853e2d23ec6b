/*
 * Multiplication and division: MUL IMUL (one, two and three operands) MULX DIV IDIV. Products are formed
 * at double width in IR; division is a helper because it may raise #DE (which the JIT runs as the host's
 * own DIV/IDIV in user mode).
 */
#include <pthread.h>
#include <stddef.h>

#include "core/tcg/host-insn.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/int-emit.h"

/*
 * The double-width product of a and b (zero- or sign-extended to 64 bits already) as lo, hi and an
 * "overflow" temp that is nonzero iff the product does not fit in `bits` (MUL: hi != 0; IMUL: the
 * product is not the sign extension of lo). For bits < 64 lo holds the whole product.
 */
static void int_product(DisasContext *dc, unsigned bits, bool sign, TCGTemp a, TCGTemp b, TCGTemp *lo,
                        TCGTemp *hi, TCGTemp *over)
{
    TCGContext *s = dc->s;
    *lo = tcg_temp_new(s);
    *hi = tcg_temp_new(s);
    *over = tcg_temp_new(s);
    if (bits == 64) {
        (sign ? tcg_gen_muls2 : tcg_gen_mulu2)(s, TCG_I64, *lo, *hi, a, b);
        if (sign) {
            TCGTemp ext = tcg_temp_new(s);
            tcg_gen_sar(s, TCG_I64, ext, *lo, int_const(dc, 63));
            tcg_gen_sub(s, TCG_I64, *over, *hi, ext);
        } else {
            tcg_gen_mov(s, TCG_I64, *over, *hi);
        }
        return;
    }
    /* 8x8, 16x16 fit in 32 bits and 32x32 in 64: one multiply gives the exact product */
    TCGType t = bits == 32 ? TCG_I64 : TCG_I32;
    tcg_gen_mul(s, t, *lo, a, b);
    tcg_gen_shr(s, t, *hi, *lo, int_const(dc, bits));
    if (sign) {
        TCGTemp ext = tcg_temp_new(s);
        tcg_gen_sextract(s, t, ext, *lo, 0, bits);
        tcg_gen_sub(s, t, *over, *lo, ext);
    } else {
        tcg_gen_mov(s, TCG_I64, *over, *hi);
    }
}

static TCGTemp int_load_acc(DisasContext *dc, unsigned bits, bool sign)
{
    TCGTemp v = gen_load_reg(dc, int_acc_reg(bits));
    if (sign && bits < 64) {
        TCGTemp sx = tcg_temp_new(dc->s);
        tcg_gen_sextract(dc->s, TCG_I64, sx, v, 0, bits);
        return sx;
    }
    return v;
}

/* The one-operand forms: rDX:rAX (AX for bytes) = rAX * r/m. */
static void int_mul_acc(DisasContext *dc, bool sign)
{
    unsigned bits = x86_op_bits(dc, 0);
    TCGTemp b = sign ? gen_load_op_signed(dc, 0) : gen_load_op(dc, 0);
    TCGTemp a = int_load_acc(dc, bits, sign);
    TCGTemp lo, hi, over;
    int_product(dc, bits, sign, a, b, &lo, &hi, &over);
    if (bits == 8) {
        gen_store_reg(dc, ZYDIS_REGISTER_AX, lo);
    } else {
        gen_store_reg(dc, int_acc_reg(bits), lo);
        gen_store_reg(dc, int_dx_reg(bits), hi);
    }
    gen_set_cc(dc, cc_op_sized(CC_OP_MULB, bits), lo, over, -1);
}

void int_emit_mul(DisasContext *dc) { int_mul_acc(dc, false); }

void int_emit_imul(DisasContext *dc)
{
    unsigned n = dc->insn.zi.operand_count_visible;
    if (n <= 1) {
        int_mul_acc(dc, true);
        return;
    }
    /* IMUL r, r/m (r = r * r/m) and IMUL r, r/m, imm (r = r/m * imm): the low half only */
    unsigned bits = x86_op_bits(dc, 0);
    TCGTemp a = gen_load_op_signed(dc, n == 2 ? 0 : 1);
    TCGTemp b = gen_load_op_signed(dc, n == 2 ? 1 : 2);
    TCGTemp lo, hi, over;
    int_product(dc, bits, true, a, b, &lo, &hi, &over);
    gen_store_op(dc, 0, lo);
    gen_set_cc(dc, cc_op_sized(CC_OP_MULB, bits), lo, over, -1);
}

/* MULX hi, lo, r/m: rDX * r/m unsigned, no flags. With hi == lo the high half wins. */
void int_emit_mulx(DisasContext *dc)
{
    unsigned bits = x86_op_bits(dc, 0);
    TCGTemp b = gen_load_op(dc, 2);
    TCGTemp a = gen_load_reg(dc, int_dx_reg(bits));
    TCGTemp lo, hi, over;
    int_product(dc, bits, false, a, b, &lo, &hi, &over);
    gen_store_op(dc, 1, lo);
    gen_store_op(dc, 0, hi);
}

/* --- division -------------------------------------------------------------------------------------- */

/*
 * The same division as one host instruction, for the JIT in user mode (host-insn.h): DIV/IDIV of
 * rDX:rAX (AX for bytes) by rCX, which holds the helper's divisor argument. A #DE is the host's own and
 * reaches the guest as SIGFPE through the fault site, with the registers unchanged, as helper_div's.
 * Indexed by kind (size index | 4 if signed).
 */
static TCGHostInsn int_div_inline[8];
static pthread_once_t int_div_inline_once = PTHREAD_ONCE_INIT;

static void int_div_inline_init(void)
{
    static const ZydisRegister rcx_of_size[4] = {ZYDIS_REGISTER_CL, ZYDIS_REGISTER_CX, ZYDIS_REGISTER_ECX,
                                                 ZYDIS_REGISTER_RCX};
    enum { HOST_RAX = 0, HOST_RCX = 1, HOST_RDX = 2 };
    for (unsigned kind = 0; kind < 8; kind++) {
        TCGHostInsn *hi = &int_div_inline[kind];
        hi->req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
        hi->req.mnemonic = kind & 4 ? ZYDIS_MNEMONIC_IDIV : ZYDIS_MNEMONIC_DIV;
        hi->req.operand_count = 1;
        hi->req.operands[0].type = ZYDIS_OPERAND_TYPE_REGISTER;
        hi->req.operands[0].reg.value = rcx_of_size[kind & 3];
        hi->mem_operand = -1;
        hi->addr_arg = -1;
        hi->faults = true;
        /* rCX: helper_div's divisor argument; rAX and rDX (not for bytes): read and written in env */
        hi->ngpr = (kind & 3) == 0 ? 2 : 3;
        hi->gpr[0].host = HOST_RCX;
        hi->gpr[0].arg = 1;
        for (int i = 1; i < hi->ngpr; i++) {
            hi->gpr[i].host = i == 1 ? HOST_RAX : HOST_RDX;
            hi->gpr[i].write = true;
            hi->gpr[i].arg = -1;
            hi->gpr[i].env_offset = (uint32_t)(offsetof(CPUX86State, regs) + 8 * (size_t)(i == 1 ? R_EAX : R_EDX));
        }
    }
}

static void int_div(DisasContext *dc, bool sign)
{
    unsigned bits = x86_op_bits(dc, 0);
    unsigned kind = cc_size_index(bits) | (sign ? 4 : 0);
    TCGContext *s = dc->s;
    TCGTemp divisor = gen_load_op(dc, 0);   /* memory first: a fault leaves the registers alone */
    gen_helper(s, div, -1, TCG_TEMP_ENV, divisor, int_const(dc, kind));
    if (!dc->env->sys && !s->overflow) {
        pthread_once(&int_div_inline_once, int_div_inline_init);
        s->ops[s->nb_ops - 1].host_insn = &int_div_inline[kind];
    }
    /* the flags are undefined after DIV/IDIV; they keep their values */
}

void int_emit_div(DisasContext *dc) { int_div(dc, false); }
void int_emit_idiv(DisasContext *dc) { int_div(dc, true); }

/* Merge the low `bits` of v into register r of env. */
static void int_put(CPUX86State *env, int r, uint64_t v, unsigned bits, unsigned at)
{
    if (bits == 32) {
        env->regs[r] = (uint32_t)v;
        return;
    }
    uint64_t m = int_mask(bits) << at;
    env->regs[r] = (env->regs[r] & ~m) | ((v << at) & m);
}

void helper_div(CPUX86State *env, uint64_t divisor, uint32_t kind)
{
    unsigned bits = 8u << (kind & 3);
    bool sign = kind & 4;
    uint64_t m = int_mask(bits);
    /* the dividend, twice the width: AX for bytes, rDX:rAX otherwise */
    unsigned __int128 n;
    if (bits == 8) {
        n = env->regs[R_EAX] & 0xffff;
    } else {
        n = ((unsigned __int128)(env->regs[R_EDX] & m) << bits) | (env->regs[R_EAX] & m);
    }
    uint64_t d = divisor & m;
    if (d == 0) {
        x86_raise_exception(env, EXCP_DE, 0, 0);
    }
    unsigned __int128 q, r;
    if (!sign) {
        q = n / d;
        r = n % d;
        if (q > m) {
            x86_raise_exception(env, EXCP_DE, 0, 0);
        }
    } else {
        /* on magnitudes, so that no C division can overflow */
        unsigned nbits = bits * 2;
        bool nneg = (n >> (nbits - 1)) & 1;
        bool dneg = (d >> (bits - 1)) & 1;
        unsigned __int128 nmask = nbits == 128 ? ~(unsigned __int128)0 : ((unsigned __int128)1 << nbits) - 1;
        unsigned __int128 nmag = nneg ? (-n) & nmask : n;
        uint64_t dmag = dneg ? (-d) & m : d;
        q = nmag / dmag;
        r = nmag % dmag;
        bool qneg = nneg != dneg;
        unsigned __int128 limit = (unsigned __int128)1 << (bits - 1);   /* |quotient| bound */
        if (qneg ? q > limit : q >= limit) {
            x86_raise_exception(env, EXCP_DE, 0, 0);
        }
        if (qneg) {
            q = -q;
        }
        if (nneg) {
            r = -r;   /* the remainder takes the dividend's sign */
        }
    }
    if (bits == 8) {
        int_put(env, R_EAX, (uint64_t)q, 8, 0);
        int_put(env, R_EAX, (uint64_t)r, 8, 8);
    } else {
        int_put(env, R_EAX, (uint64_t)q, bits, 0);
        int_put(env, R_EDX, (uint64_t)r, bits, 0);
    }
}
