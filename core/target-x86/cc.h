/*
 * Lazy condition codes. A flag-setting instruction does not compute RFLAGS: it records which operation
 * it was (cc_op) and up to three values (cc_dst, cc_src, cc_src2). CF PF AF ZF SF OF are derived from
 * them only when something reads them (Jcc, SETcc, CMOVcc, ADC, PUSHF, a signal frame, ...).
 *
 * Sized operations come in families of four consecutive members for 8, 16, 32 and 64 bits (suffixes
 * B W L Q), so `family + size` with size = log2(bits / 8) names one. The stored values may carry garbage
 * above the operation's width (8/16-bit results are computed in 32-bit temps): readers truncate. The
 * exceptions are said below.
 *
 *   op            cc_dst              cc_src                         cc_src2
 *   EFLAGS        -                   CF..OF in RFLAGS layout;       -
 *                                     no other bit may be set
 *   ADD           result              second operand                 -
 *   ADC           result              second operand                 carry in (0/1)
 *   SUB           result              subtrahend                     -     (the minuend is result +
 *                                                                          subtrahend; within the block
 *                                                                          the translator keeps it in a
 *                                                                          temp, so that Jcc after CMP
 *                                                                          is one setcond, without a
 *                                                                          store of it at the block's end)
 *   SBB           result              subtrahend                     borrow in (0/1)
 *   LOGIC         result              -                              -     (CF = OF = AF = 0)
 *   INC, DEC      result              CF before the op (bit 0)       -
 *   SHL           result              the value shifted by count-1:  Intel only:  (CF = src's top bit;
 *                                     its top bit is the last bit    the operand  OF: AMD: CF ^ dst's top
 *                                     shifted out                    before the   bit; Intel: src2's top
 *                                                                    shift        two bits differ)
 *   SAR (and SHR) result              the value shifted right by     -     (CF = its bit 0,
 *                                     count-1                               OF = top bit of src ^ dst)
 *   MUL (and      low half of the     nonzero iff the product does   -     (CF = OF; SF ZF PF from dst,
 *   IMUL)         product             not fit: NOT truncated               AF = 0; Intel: ZF = 0)
 *   BMI           result              CF (bit 0)                     -     (OF = AF = 0; SF ZF PF from dst;
 *                 (BLSI BLSMSK BLSR BZHI TZCNT LZCNT; ANDN BEXTR           Intel: PF = 0)
 *                 on an Intel host)
 *   POPCNT        the source operand, -                              -     (ZF = source == 0, others 0)
 *                 zero-extended
 *
 *   ROT           the rotated value       the base op's cc_dst           the base op's cc_src
 *                                                                          (CF OF from the rotated value,
 *                                                                           the rest from the base op;
 *                                                                           keep_of: OF from it too)
 *
 * ROT: ROL/ROR by a nonzero constant keep SF ZF AF PF of the operation before them (the base) and set CF
 * and OF from their result alone; or CF only, keeping the base's OF too (keep_of: Intel's rotates by an
 * immediate other than 1, int-shift.c). Rather than compute the base's
 * flags (a helper call, and the rotates in hash functions come between memory accesses, which keep every
 * flag live), the rotate moves the base's cc_dst and cc_src down one slot and records itself; one op value
 * per (base op, direction, keep_of, size). Any base whose flags need at most cc_dst and cc_src qualifies (SUB's
 * minuend is cc_dst + cc_src): all but ADC and SBB, and SHL on Intel. A rotate after a rotate keeps the
 * first one's base.
 *
 * Where the manual leaves flags undefined, AMD and Intel hardware differ, and the host's vendor is followed
 * (x86_vendor_intel()): see cc.c and int-shift.c. The shifts' AF is 1 on AMD, 0 on Intel.
 *
 * NEG is SUB with minuend 0. SHLD records as SHL; SHRD as SAR with the bit on top of src chosen so that
 * OF is what the vendor gives (int-shift.c); SHR on Intel likewise. ADCX/ADOX, BT*, rotates by a variable
 * count or after ADC/SBB (or an Intel SHL), SAHF, CLC/STC/CMC, CMPXCHG8B/16B and POPF work on materialized
 * flags and leave CC_OP_EFLAGS.
 * BSF/BSR record POPCNT of their source (ZF = source == 0; the other flags are undefined) on AMD, and on
 * Intel LOGIC of a value that gives its flags (int-bits.c). ANDN/BEXTR record LOGIC on AMD, BMI on Intel.
 *
 * env->cc_op always holds the current op: the translator stores cpu_cc_op whenever it changes, so a fault
 * or exit at any point sees consistent state. CC_OP_DYNAMIC exists only at translate time: "whatever env
 * holds".
 */
#ifndef EMBER_X86_CC_H
#define EMBER_X86_CC_H

#include <stdbool.h>
#include <stdint.h>

#define CC_OP_FAMILY(name) CC_OP_##name##B, CC_OP_##name##W, CC_OP_##name##L, CC_OP_##name##Q

enum {
    CC_OP_DYNAMIC = -1,
    CC_OP_EFLAGS = 0,
    CC_OP_FAMILY(ADD),
    CC_OP_FAMILY(ADC),
    CC_OP_FAMILY(SUB),
    CC_OP_FAMILY(SBB),
    CC_OP_FAMILY(LOGIC),
    CC_OP_FAMILY(INC),
    CC_OP_FAMILY(DEC),
    CC_OP_FAMILY(SHL),
    CC_OP_FAMILY(SAR),
    CC_OP_FAMILY(MUL),
    CC_OP_FAMILY(BMI),
    CC_OP_POPCNT,
    CC_OP_COUNT,
    /* CC_OP_ROT_FIRST + ((base op * 2 + left) * 2 + keep_of) * 4 + size */
    CC_OP_ROT_FIRST = CC_OP_COUNT,
    CC_OP_ROT_END = CC_OP_ROT_FIRST + CC_OP_COUNT * 16,
};

/* An operand size as an index: 8, 16, 32, 64 bits -> 0..3 (the order of a family's members). */
static inline unsigned cc_size_index(unsigned bits) { return bits == 64 ? 3 : bits == 32 ? 2 : bits == 16 ? 1 : 0; }

static inline int cc_op_rot(int base, bool left, bool keep_of, unsigned bits)
{
    return CC_OP_ROT_FIRST + ((base * 2 + left) * 2 + keep_of) * 4 + (int)cc_size_index(bits);
}
static inline bool cc_op_is_rot(int op) { return op >= CC_OP_ROT_FIRST && op < CC_OP_ROT_END; }
static inline int cc_op_rot_base(int op) { return (op - CC_OP_ROT_FIRST) / 16; }
static inline bool cc_op_rot_left(int op) { return ((op - CC_OP_ROT_FIRST) >> 3) & 1; }
static inline bool cc_op_rot_keep_of(int op) { return ((op - CC_OP_ROT_FIRST) >> 2) & 1; }
static inline unsigned cc_op_rot_bits(int op) { return 8u << ((op - CC_OP_ROT_FIRST) & 3); }

#undef CC_OP_FAMILY

/* The sized member of a family for an operation of `bits` (8, 16, 32, 64). */
static inline int cc_op_sized(int family_b, unsigned bits)
{
    return family_b + (int)cc_size_index(bits);
}

/* Is op a sized member, and which family (its B member) and size index (0..3). */
static inline int cc_op_is_sized(int op) { return op >= CC_OP_ADDB && op <= CC_OP_BMIQ; }
static inline int cc_op_family(int op) { return CC_OP_ADDB + ((op - CC_OP_ADDB) & ~3); }
static inline unsigned cc_op_size(int op) { return (unsigned)(op - CC_OP_ADDB) & 3; }

/* CF..OF (RFLAGS layout) for a recorded operation. Also the body of helper_cc_compute. */
uint64_t x86_cc_compute(int op, uint64_t dst, uint64_t src, uint64_t src2);

#endif
