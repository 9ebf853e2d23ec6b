/*
 * The descriptor word the string-instruction emitters (string-emit.c) pass to the REP helpers
 * (string-helpers.c): element size, address size, source segment and the REPE/REPNE sense, packed into one
 * i32 constant so each helper has a single, fixed signature. Also the one vendor-dependent rule the REP
 * helpers share with INS/OUTS (sys-io.c).
 */
#ifndef EMBER_X86_STRING_DESC_H
#define EMBER_X86_STRING_DESC_H

#define STR_SHIFT_MASK 0x3u          /* log2 of the element size: 0..3 for B, W, D, Q */
#define STR_A32 (1u << 2)            /* 32-bit addressing (0x67 in 64-bit mode): ECX/ESI/EDI, written as such */
#define STR_A16 (1u << 3)            /* 16-bit addressing (system mode): CX/SI/DI, the rest of each kept */
#define STR_SEG_SHIFT 4              /* the source segment (R_ES..R_GS); the destination is always ES */
#define STR_SEG_MASK (0x7u << STR_SEG_SHIFT)
#define STR_REPNE (1u << 8)          /* CMPS/SCAS: repeat while not equal (else while equal) */

/* The string instructions, for str_a32_rep_start. */
typedef enum StrOp { STR_OP_MOVS, STR_OP_STOS, STR_OP_LODS, STR_OP_CMPS, STR_OP_SCAS, STR_OP_INS, STR_OP_OUTS } StrOp;

struct CPUX86State;
/*
 * The start of a REP string instruction with a 32-bit address size: if ECX = 0, no element is processed,
 * and this writes the registers the host's vendor writes then, as 32-bit registers (clearing their upper
 * halves); see string-helpers.c. Nothing on AMD.
 */
void str_a32_rep_start(struct CPUX86State *env, StrOp op);

static inline unsigned str_desc_shift(unsigned desc) { return desc & STR_SHIFT_MASK; }
static inline unsigned str_desc_seg(unsigned desc) { return (desc & STR_SEG_MASK) >> STR_SEG_SHIFT; }

#endif
