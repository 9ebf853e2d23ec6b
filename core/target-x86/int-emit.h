/*
 * What the integer emitters (int-*.c, atomic.c) share: LOCK handling, the read-modify-write path, and
 * flag updates that a zero shift count must skip.
 */
#ifndef EMBER_X86_INT_EMIT_H
#define EMBER_X86_INT_EMIT_H

#include "core/target-x86/cc.h"
#include "core/target-x86/translate.h"

static inline bool int_has_lock(const DisasContext *dc)
{
    return (dc->insn.zi.attributes & ZYDIS_ATTRIB_HAS_LOCK) != 0;
}

static inline bool int_op_is_mem(const DisasContext *dc, int i)
{
    return dc->insn.op[i].type == ZYDIS_OPERAND_TYPE_MEMORY;
}

static inline bool int_op_is_imm(const DisasContext *dc, int i)
{
    return dc->insn.op[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE;
}

/* The accumulator and data registers of a width: AL/AX/EAX/RAX, -/DX/EDX/RDX. */
ZydisRegister int_acc_reg(unsigned bits);
ZydisRegister int_dx_reg(unsigned bits);

/* Computes the new value of a read-modify-write from the old one (and the emitter's own arguments). */
typedef TCGTemp (*IntRmwFn)(DisasContext *dc, TCGTemp old, const void *arg);

/*
 * A read-modify-write of `bits` at guest address addr, atomic against other threads: load, compute in IR,
 * compare-and-exchange in a helper, retry while another thread changed the value in between. Returns the
 * new value; the old one in *old.
 */
TCGTemp gen_atomic_rmw(DisasContext *dc, TCGTemp addr, unsigned bits, IntRmwFn fn, const void *arg,
                       TCGTemp *old);

/*
 * Read-modify-write of operand i: atomic when the instruction has LOCK (and a memory operand), plain
 * otherwise. Returns the new value; the old one in *old.
 */
TCGTemp gen_rmw_op(DisasContext *dc, int i, IntRmwFn fn, const void *arg, TCGTemp *old);

/* Flag updates of shifts: nothing changes when the masked count is 0 (count: a temp holding it). */
void gen_set_cc_if_count(DisasContext *dc, TCGTemp count, int cc_op, TCGTemp dst, TCGTemp src, TCGTemp src2);
void gen_set_eflags_if_count(DisasContext *dc, TCGTemp count, TCGTemp new_flags, TCGTemp old_flags);
/* ROL/ROR's flags recorded lazily over the op before them (cc.h's ROT), when the count is a constant and
   that op is known here; false when the caller must compute them. keep_of: OF is left as it was. */
bool gen_set_cc_rotate(DisasContext *dc, TCGTemp count, bool left, bool keep_of, unsigned bits, TCGTemp res);

/* A temp holding constant v; masks and widths. */
static inline TCGTemp int_const(DisasContext *dc, uint64_t v) { return tcg_const(dc->s, v); }
static inline uint64_t int_mask(unsigned bits) { return bits >= 64 ? ~0ULL : (1ULL << bits) - 1; }

/*
 * A source operand at the instruction's operation width `bits`. An immediate is taken from Zydis's value,
 * which is already sign-extended where the encoding sign-extends (imm8 in a 16/32/64-bit operation, imm32
 * in a 64-bit one): Zydis gives such an operand its encoded size, so gen_load_op would cut it short.
 */
static inline TCGTemp int_load_src(DisasContext *dc, int i, unsigned bits)
{
    if (dc->insn.op[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        return tcg_const(dc->s, dc->insn.op[i].imm.value.u & int_mask(bits));
    }
    return gen_load_op(dc, i);
}

#endif
