/*
 * The meaning of every pure IR op, written once. The optimizer folds constants with it and the
 * interpreter instantiates it once per (op, type) with constant arguments, so the compiler reduces each
 * instance to the few instructions of that op. Keep it the single definition of op semantics.
 *
 * Internal to core/tcg (and backends, which may use it as their reference).
 */
#ifndef EMBER_TCG_EVAL_H
#define EMBER_TCG_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/tcg/tcg.h"

#define TCG_EVAL_INLINE static inline __attribute__((always_inline))

/* A condition on two values of the given width. */
TCG_EVAL_INLINE bool tcg_cond_eval_inline(TCGCond c, TCGType t, uint64_t a, uint64_t b)
{
    if (t == TCG_I32) {
        a = (uint32_t)a;
        b = (uint32_t)b;
    }
    int64_t sa = t == TCG_I32 ? (int64_t)(int32_t)a : (int64_t)a;
    int64_t sb = t == TCG_I32 ? (int64_t)(int32_t)b : (int64_t)b;
    switch (c) {
    case TCG_COND_NEVER: return false;
    case TCG_COND_ALWAYS: return true;
    case TCG_COND_EQ: return a == b;
    case TCG_COND_NE: return a != b;
    case TCG_COND_LT: return sa < sb;
    case TCG_COND_GE: return sa >= sb;
    case TCG_COND_LE: return sa <= sb;
    case TCG_COND_GT: return sa > sb;
    case TCG_COND_LTU: return a < b;
    case TCG_COND_GEU: return a >= b;
    case TCG_COND_LEU: return a <= b;
    case TCG_COND_GTU: return a > b;
    case TCG_COND_TSTEQ: return (a & b) == 0;
    case TCG_COND_TSTNE: return (a & b) != 0;
    }
    return false;
}

/* A mask of the low len bits (len may be 0..64). */
TCG_EVAL_INLINE uint64_t tcg_eval_mask(uint64_t len)
{
    return len >= 64 ? ~0ULL : (1ULL << len) - 1;
}

/*
 * Evaluate a pure op: in[] holds its inputs (as many as the op has), c[] its constant arguments; the
 * outputs go to out[]. Returns false for ops that are not pure computations (memory, control flow,
 * calls), which it leaves alone. Malformed constant arguments (a field outside the width) give 0
 * rather than undefined behaviour.
 */
TCG_EVAL_INLINE bool tcg_eval_op(TCGOpcode opc, TCGType t, const uint64_t *in, const uint64_t *c, uint64_t *out)
{
    const bool w32 = t == TCG_I32;
    const unsigned bits = w32 ? 32 : 64;
    const uint64_t wmask = w32 ? 0xffffffffULL : ~0ULL;
#define A (in[0] & wmask)
#define B (in[1] & wmask)
    switch (opc) {
    case INDEX_op_mov: out[0] = A; return true;
    case INDEX_op_movi: out[0] = c[0] & wmask; return true;
    case INDEX_op_add: out[0] = (in[0] + in[1]) & wmask; return true;
    case INDEX_op_sub: out[0] = (in[0] - in[1]) & wmask; return true;
    case INDEX_op_mul: out[0] = (in[0] * in[1]) & wmask; return true;
    case INDEX_op_and: out[0] = in[0] & in[1] & wmask; return true;
    case INDEX_op_or: out[0] = (in[0] | in[1]) & wmask; return true;
    case INDEX_op_xor: out[0] = (in[0] ^ in[1]) & wmask; return true;
    case INDEX_op_andc: out[0] = in[0] & ~in[1] & wmask; return true;
    case INDEX_op_shl: out[0] = (A << (in[1] & (bits - 1))) & wmask; return true;
    case INDEX_op_shr: out[0] = A >> (in[1] & (bits - 1)); return true;
    case INDEX_op_sar:
        if (w32) {
            out[0] = (uint32_t)((int32_t)in[0] >> (in[1] & 31));
        } else {
            out[0] = (uint64_t)((int64_t)in[0] >> (in[1] & 63));
        }
        return true;
    case INDEX_op_rotl:
    case INDEX_op_rotr: {
        unsigned n = in[1] & (bits - 1);
        if (opc == INDEX_op_rotr) {
            n = (bits - n) & (bits - 1);
        }
        out[0] = n ? ((A << n) | (A >> (bits - n))) & wmask : A;
        return true;
    }
    case INDEX_op_neg: out[0] = (0 - in[0]) & wmask; return true;
    case INDEX_op_not: out[0] = ~in[0] & wmask; return true;
    case INDEX_op_mulu2:
        if (w32) {
            uint64_t p = (uint64_t)(uint32_t)in[0] * (uint32_t)in[1];
            out[0] = (uint32_t)p;
            out[1] = p >> 32;
        } else {
            unsigned __int128 p = (unsigned __int128)in[0] * in[1];
            out[0] = (uint64_t)p;
            out[1] = (uint64_t)(p >> 64);
        }
        return true;
    case INDEX_op_muls2:
        if (w32) {
            int64_t p = (int64_t)(int32_t)in[0] * (int32_t)in[1];
            out[0] = (uint32_t)p;
            out[1] = (uint32_t)((uint64_t)p >> 32);
        } else {
            __int128 p = (__int128)(int64_t)in[0] * (int64_t)in[1];
            out[0] = (uint64_t)p;
            out[1] = (uint64_t)((unsigned __int128)p >> 64);
        }
        return true;
    case INDEX_op_ext8s: out[0] = (uint64_t)(int64_t)(int8_t)in[0] & wmask; return true;
    case INDEX_op_ext8u: out[0] = (uint8_t)in[0]; return true;
    case INDEX_op_ext16s: out[0] = (uint64_t)(int64_t)(int16_t)in[0] & wmask; return true;
    case INDEX_op_ext16u: out[0] = (uint16_t)in[0]; return true;
    case INDEX_op_ext32s: out[0] = (uint64_t)(int64_t)(int32_t)in[0] & wmask; return true;
    case INDEX_op_ext32u: out[0] = (uint32_t)in[0]; return true;
    case INDEX_op_extract:
    case INDEX_op_sextract: {
        uint64_t pos = c[0], len = c[1];
        if (len == 0 || pos >= bits || len > bits - pos) {
            out[0] = 0;
        } else if (opc == INDEX_op_extract) {
            out[0] = (A >> pos) & tcg_eval_mask(len);
        } else {
            /* move the field to the top, then shift it back down arithmetically */
            int64_t v = (int64_t)(in[0] << (64 - pos - len));
            out[0] = (uint64_t)(v >> (64 - len)) & wmask;
        }
        return true;
    }
    case INDEX_op_deposit: {
        uint64_t pos = c[0], len = c[1];
        if (len == 0 || pos >= bits || len > bits - pos) {
            out[0] = A;
        } else {
            uint64_t m = tcg_eval_mask(len) << pos;
            out[0] = ((A & ~m) | ((in[1] << pos) & m)) & wmask;
        }
        return true;
    }
    case INDEX_op_bswap:
        out[0] = w32 ? __builtin_bswap32((uint32_t)in[0]) : __builtin_bswap64(in[0]);
        return true;
    case INDEX_op_clz:
        if (w32) {
            out[0] = (uint32_t)in[0] ? (uint64_t)__builtin_clz((uint32_t)in[0]) : B;
        } else {
            out[0] = in[0] ? (uint64_t)__builtin_clzll(in[0]) : B;
        }
        return true;
    case INDEX_op_ctz:
        if (w32) {
            out[0] = (uint32_t)in[0] ? (uint64_t)__builtin_ctz((uint32_t)in[0]) : B;
        } else {
            out[0] = in[0] ? (uint64_t)__builtin_ctzll(in[0]) : B;
        }
        return true;
    case INDEX_op_ctpop: out[0] = (uint64_t)__builtin_popcountll(A); return true;
    case INDEX_op_setcond: out[0] = tcg_cond_eval_inline((TCGCond)c[0], t, in[0], in[1]); return true;
    case INDEX_op_movcond:
        out[0] = (tcg_cond_eval_inline((TCGCond)c[0], t, in[0], in[1]) ? in[2] : in[3]) & wmask;
        return true;
    default:
        return false;
    }
#undef A
#undef B
}

/* Whether tcg_eval_op computes this op: no side effects, no memory, no control flow, and not ld (which
   reads the CPU state). */
static inline bool tcg_op_is_pure(TCGOpcode opc)
{
    return opc < TCG_OP_COUNT && opc != INDEX_op_ld &&
           !(tcg_op_defs[opc].flags & (OPF_SIDE_EFFECTS | OPF_BB_END | OPF_MEM | OPF_CALL));
}

#endif
