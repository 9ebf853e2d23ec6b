/*
 * Typed IR builders: one small inline function per op shape. Translators build IR only through these.
 * Operand lists are local arrays, not compound literals, so that C++ tests can include this header
 * (tcg_gen_callN is C only; C++ calls tcg_gen_call).
 */
#ifndef EMBER_TCG_GEN_H
#define EMBER_TCG_GEN_H

#include "core/tcg/tcg.h"

static inline TCGOp *tcg_gen_op(TCGContext *s, TCGOpcode opc, TCGType t, int n, const TCGTemp *a)
{
    TCGOp *op = tcg_emit(s, opc, t);
    for (int i = 0; i < n; i++) {
        op->args[i] = a[i];
    }
    return op;
}

#define TCG_GEN_BINARY(name)                                                                     \
    static inline void tcg_gen_##name(TCGContext *s, TCGType t, TCGTemp d, TCGTemp a, TCGTemp b) \
    {                                                                                            \
        const TCGTemp args_[] = {d, a, b}; \
        tcg_gen_op(s, INDEX_op_##name, t, 3, args_);                              \
    }
#define TCG_GEN_UNARY(name)                                                           \
    static inline void tcg_gen_##name(TCGContext *s, TCGType t, TCGTemp d, TCGTemp a) \
    {                                                                                 \
        const TCGTemp args_[] = {d, a}; \
        tcg_gen_op(s, INDEX_op_##name, t, 2, args_);                      \
    }

TCG_GEN_UNARY(mov)
TCG_GEN_BINARY(add)
TCG_GEN_BINARY(sub)
TCG_GEN_BINARY(mul)
TCG_GEN_BINARY(and)
TCG_GEN_BINARY(or)
TCG_GEN_BINARY(xor)
TCG_GEN_BINARY(andc)
TCG_GEN_BINARY(shl)
TCG_GEN_BINARY(shr)
TCG_GEN_BINARY(sar)
TCG_GEN_BINARY(rotl)
TCG_GEN_BINARY(rotr)
TCG_GEN_BINARY(clz)
TCG_GEN_BINARY(ctz)
TCG_GEN_UNARY(neg)
TCG_GEN_UNARY(not)
TCG_GEN_UNARY(ext8s)
TCG_GEN_UNARY(ext8u)
TCG_GEN_UNARY(ext16s)
TCG_GEN_UNARY(ext16u)
TCG_GEN_UNARY(ext32s)
TCG_GEN_UNARY(ext32u)
TCG_GEN_UNARY(bswap)
TCG_GEN_UNARY(ctpop)

#undef TCG_GEN_BINARY
#undef TCG_GEN_UNARY

static inline void tcg_gen_movi(TCGContext *s, TCGType t, TCGTemp d, uint64_t v)
{
    const TCGTemp args_[] = {d};
    tcg_gen_op(s, INDEX_op_movi, t, 1, args_)->cargs[0] = v;
}

static inline void tcg_gen_mulu2(TCGContext *s, TCGType t, TCGTemp lo, TCGTemp hi, TCGTemp a, TCGTemp b)
{
    const TCGTemp args_[] = {lo, hi, a, b};
    tcg_gen_op(s, INDEX_op_mulu2, t, 4, args_);
}

static inline void tcg_gen_muls2(TCGContext *s, TCGType t, TCGTemp lo, TCGTemp hi, TCGTemp a, TCGTemp b)
{
    const TCGTemp args_[] = {lo, hi, a, b};
    tcg_gen_op(s, INDEX_op_muls2, t, 4, args_);
}

static inline void tcg_gen_extract(TCGContext *s, TCGType t, TCGTemp d, TCGTemp a, unsigned pos, unsigned len)
{
    const TCGTemp args_[] = {d, a};
    TCGOp *op = tcg_gen_op(s, INDEX_op_extract, t, 2, args_);
    op->cargs[0] = pos;
    op->cargs[1] = len;
}

static inline void tcg_gen_sextract(TCGContext *s, TCGType t, TCGTemp d, TCGTemp a, unsigned pos, unsigned len)
{
    const TCGTemp args_[] = {d, a};
    TCGOp *op = tcg_gen_op(s, INDEX_op_sextract, t, 2, args_);
    op->cargs[0] = pos;
    op->cargs[1] = len;
}

static inline void tcg_gen_deposit(TCGContext *s, TCGType t, TCGTemp d, TCGTemp a, TCGTemp b, unsigned pos,
                                   unsigned len)
{
    const TCGTemp args_[] = {d, a, b};
    TCGOp *op = tcg_gen_op(s, INDEX_op_deposit, t, 3, args_);
    op->cargs[0] = pos;
    op->cargs[1] = len;
}

static inline void tcg_gen_setcond(TCGContext *s, TCGType t, TCGCond c, TCGTemp d, TCGTemp a, TCGTemp b)
{
    const TCGTemp args_[] = {d, a, b};
    tcg_gen_op(s, INDEX_op_setcond, t, 3, args_)->cargs[0] = c;
}

/* d = cond(a, b) ? v1 : v2 */
static inline void tcg_gen_movcond(TCGContext *s, TCGType t, TCGCond c, TCGTemp d, TCGTemp a, TCGTemp b,
                                   TCGTemp v1, TCGTemp v2)
{
    const TCGTemp args_[] = {d, a, b, v1, v2};
    tcg_gen_op(s, INDEX_op_movcond, t, 5, args_)->cargs[0] = c;
}

/* Loads and stores of the CPU state: base is usually TCG_TEMP_ENV. */
static inline void tcg_gen_ld(TCGContext *s, TCGType t, TCGMemOp mo, TCGTemp d, TCGTemp base, uint32_t offset)
{
    const TCGTemp args_[] = {d, base};
    TCGOp *op = tcg_gen_op(s, INDEX_op_ld, t, 2, args_);
    op->cargs[0] = mo;
    op->cargs[1] = offset;
}

static inline void tcg_gen_st(TCGContext *s, TCGMemOp mo, TCGTemp v, TCGTemp base, uint32_t offset)
{
    const TCGTemp args_[] = {v, base};
    TCGOp *op = tcg_gen_op(s, INDEX_op_st, TCG_I64, 2, args_);
    op->cargs[0] = mo;
    op->cargs[1] = offset;
}

/* Guest memory. */
static inline void tcg_gen_guest_ld(TCGContext *s, TCGType t, TCGMemOp mo, TCGTemp d, TCGTemp addr)
{
    const TCGTemp args_[] = {d, addr};
    tcg_gen_op(s, INDEX_op_guest_ld, t, 2, args_)->cargs[0] = mo;
}

static inline void tcg_gen_guest_st(TCGContext *s, TCGMemOp mo, TCGTemp v, TCGTemp addr)
{
    const TCGTemp args_[] = {v, addr};
    tcg_gen_op(s, INDEX_op_guest_st, TCG_I64, 2, args_)->cargs[0] = mo;
}

static inline void tcg_gen_guest_ld128(TCGContext *s, uint32_t env_offset, TCGTemp addr)
{
    const TCGTemp args_[] = {addr};
    tcg_gen_op(s, INDEX_op_guest_ld128, TCG_I64, 1, args_)->cargs[0] = env_offset;
}

static inline void tcg_gen_guest_st128(TCGContext *s, uint32_t env_offset, TCGTemp addr)
{
    const TCGTemp args_[] = {addr};
    tcg_gen_op(s, INDEX_op_guest_st128, TCG_I64, 1, args_)->cargs[0] = env_offset;
}

/* Control flow. */
static inline void tcg_gen_set_label(TCGContext *s, int label)
{
    tcg_emit(s, INDEX_op_set_label, TCG_I64)->cargs[0] = label;
}

static inline void tcg_gen_br(TCGContext *s, int label)
{
    tcg_emit(s, INDEX_op_br, TCG_I64)->cargs[0] = label;
}

static inline void tcg_gen_brcond(TCGContext *s, TCGType t, TCGCond c, TCGTemp a, TCGTemp b, int label)
{
    const TCGTemp args_[] = {a, b};
    TCGOp *op = tcg_gen_op(s, INDEX_op_brcond, t, 2, args_);
    op->cargs[0] = c;
    op->cargs[1] = label;
}

static inline void tcg_gen_insn_start(TCGContext *s, uint64_t pc)
{
    tcg_emit(s, INDEX_op_insn_start, TCG_I64)->cargs[0] = pc;
}

/* The caller stores the next pc into the CPU state first; a chained slot skips the loop. */
static inline void tcg_gen_goto_tb(TCGContext *s, unsigned slot)
{
    tcg_emit(s, INDEX_op_goto_tb, TCG_I64)->cargs[0] = slot;
}

static inline void tcg_gen_goto_ptr(TCGContext *s)
{
    tcg_emit(s, INDEX_op_goto_ptr, TCG_I64);
}

static inline void tcg_gen_try_goto_ptr(TCGContext *s)
{
    tcg_emit(s, INDEX_op_try_goto_ptr, TCG_I64);
}

static inline void tcg_gen_exit_tb(TCGContext *s, TCGExitReason why)
{
    tcg_emit(s, INDEX_op_exit_tb, TCG_I64)->cargs[0] = why;
}

/* A helper call: ret may be -1 for void helpers; args are temps (TCG_TEMP_ENV for the state). */
void tcg_gen_call(TCGContext *s, const TCGHelperInfo *h, TCGTemp ret, int nargs, const TCGTemp *args);

#define tcg_gen_callN(s, h, ret, ...) \
    tcg_gen_call((s), (h), (ret), sizeof((TCGTemp[]){__VA_ARGS__}) / sizeof(TCGTemp), (TCGTemp[]){__VA_ARGS__})

#endif
