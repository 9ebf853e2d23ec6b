/*
 * The x86 -> IR translator's shared pieces: the decoded instruction, the per-block translation state,
 * operand access with x86's register-write rules, and the mnemonic table's entry type.
 *
 * Each emitter translates one instruction (dc->insn). Rules every emitter keeps:
 *  - do every guest memory access before writing any architectural state, so that a fault (or a write to
 *    translated code) can restart the instruction from its beginning;
 *  - set dc->end_block when the instruction changes control flow or CPU mode (the block ends after it);
 *  - raise #UD through gen_exception(dc, EXCP_UD, 0) for a form it does not implement.
 */
#ifndef EMBER_X86_TRANSLATE_H
#define EMBER_X86_TRANSLATE_H

#include <stdbool.h>
#include <Zydis/Zydis.h>

#include "core/target-x86/cpu.h"
#include "core/tcg/tcg-gen.h"

typedef enum X86Feature {
#define FEATURE(name, leaf, sub, reg, bit) X86_FEAT_##name,
#include "core/target-x86/features.h"
#undef FEATURE
    X86_FEAT_COUNT
} X86Feature;

typedef struct X86Insn {
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand op[ZYDIS_MAX_OPERAND_COUNT];
    const uint8_t *bytes;        /* the instruction's bytes (host pointer to guest code) */
    uint64_t pc;                 /* its address */
    uint64_t next_pc;            /* pc + length */
} X86Insn;

typedef struct DisasContext {
    TCGContext *s;
    CPUX86State *env;
    TranslationBlock *tb;
    X86Insn insn;
    bool end_block;              /* set by emitters that end the block (they also emit its exit) */
    /* Lazy-flag tracking: the cc_op known to be in env at this point of the block, or CC_OP_DYNAMIC. */
    int cc_op;
    /* With cc_op a SUB: its minuend, a copy in a block-local temp (env's cc_src2 does not hold it: cc.h). */
    TCGTemp cc_minuend;
    /* The flags this instruction writes are all overwritten before anything reads them (flags-live.c):
       the lazy-flag setters emit nothing. */
    bool flags_dead;
    /* System mode's per-block state (sys-translate.c); NULL in user mode. */
    struct X86SysDisas *sys;
    /* Conditional branches the block went on past (x86_side_exit): their taken exits, emitted after the
       block's last instruction. `side_ok`: the block may do so (user mode without AFL instrumentation). */
    bool side_ok;
    int nside;
    struct X86SideExit {
        int label;
        uint64_t pc, target;    /* the branch's address and where it goes when taken */
    } side[TCG_GOTO_TB_SLOTS - 2];
} DisasContext;

typedef void (*X86Emitter)(DisasContext *dc);

/* One row of the mnemonic table. */
typedef struct X86InsnDef {
    ZydisMnemonic mnemonic;
    X86Emitter emit;
    X86Feature feature;
} X86InsnDef;

/* Does the CPU model advertise the feature (CPUID)? A NULL model advertises everything implemented. */
bool x86_model_has_feature(const struct X86CPUModel *model, X86Feature f);

/* The table (insn-table.c) and its lookup. */
const X86InsnDef *x86_insn_lookup(ZydisMnemonic m);
bool x86_feature_implemented(X86Feature f);   /* some row needs it and it is enabled */
size_t x86_insn_table_rows(const X86InsnDef **rows);  /* the whole table, for tests and reports */

/* Globals for the guest registers and lazy-flag state (registered by x86_tcg_init_globals). */
extern TCGTemp cpu_regs[16];
extern TCGTemp cpu_cc_dst, cpu_cc_src, cpu_cc_src2, cpu_cc_op;

/* --- operands ------------------------------------------------------------------------------------- */

/* The operand's width in bits (8, 16, 32, 64, 128, 256) and its IR type (I64 for 64, else I32). */
unsigned x86_op_bits(const DisasContext *dc, int i);
static inline TCGType x86_type_of_bits(unsigned bits) { return bits == 64 ? TCG_I64 : TCG_I32; }

/* System mode: is the block 64-bit code? (User mode's blocks always are, even compatibility-mode ones.) */
static inline bool x86_dc_code64(const DisasContext *dc)
{
    return !(dc->tb->flags & (X86_TBFLAG_CODE32 | X86_TBFLAG_CODE16));
}

/* The effective address of memory operand i (segment base included, RIP-relative resolved). */
TCGTemp gen_lea(DisasContext *dc, int i);

/* Read operand i (register, memory or immediate), zero-extended into a new temp. */
TCGTemp gen_load_op(DisasContext *dc, int i);
/* Read operand i sign-extended to 64 bits. */
TCGTemp gen_load_op_signed(DisasContext *dc, int i);
/* Write v to operand i with x86's rules (32-bit writes zero the upper half; 8/16-bit writes merge). */
void gen_store_op(DisasContext *dc, int i, TCGTemp v);
/* The same, unless v is negative (a failed LSL/LAR: the destination stays whole, even a 32-bit one). */
void gen_store_op_unless_negative(DisasContext *dc, int i, TCGTemp v);
/* For read-modify-write forms: the address computed once and reused by the store. */
TCGTemp gen_load_op_rmw(DisasContext *dc, int i, TCGTemp *addr);
void gen_store_op_rmw(DisasContext *dc, int i, TCGTemp v, TCGTemp addr);

/* General registers by Zydis id. */
TCGTemp gen_load_reg(DisasContext *dc, ZydisRegister r);
void gen_store_reg(DisasContext *dc, ZydisRegister r, TCGTemp v);
int x86_gpr_index(ZydisRegister r);           /* 0..15 for any width of a GPR, -1 otherwise */

/* Memory at a computed address. */
TCGTemp gen_ld(DisasContext *dc, TCGTemp addr, unsigned bits, bool sign);
void gen_st(DisasContext *dc, TCGTemp addr, TCGTemp v, unsigned bits);

/* Stack: push/pop of 16/64-bit values with RSP update (memory first, then RSP). */
void gen_push(DisasContext *dc, TCGTemp v, unsigned bits);
TCGTemp gen_pop_value(DisasContext *dc, unsigned bits);   /* loads; call gen_pop_commit after */
void gen_pop_commit(DisasContext *dc, unsigned bits);

/* --- block exits ---------------------------------------------------------------------------------- */

/* End the block, continuing at a constant pc (chainable through goto_tb slot `slot`). */
void gen_jmp_const(DisasContext *dc, uint64_t pc, int slot);
/* End the block, continuing at the pc in temp `pc` (indirect: jump cache). */
void gen_jmp_indirect(DisasContext *dc, TCGTemp pc);
/* pc = target, and on to its block if the jump cache has it (tcg_gen_try_goto_ptr): what follows runs only
   on a miss, with the pc stored. */
void gen_try_jmp_indirect(DisasContext *dc, TCGTemp pc);
/* A conditional branch (brcond to `label`, just emitted) whose taken path continues at `target`: true if
   the block goes on with the next instruction and leaves through the label at its end (a side exit);
   false if the caller must end the block with both exits now. */
bool x86_side_exit(DisasContext *dc, int label, uint64_t target);
/* Raise an exception at the current instruction and end the block. */
void gen_exception(DisasContext *dc, int vector, int error_code);
/* The same, reported at `pc` (gen_exception picks this instruction's or, for traps, the next one's). */
void gen_exception_at(DisasContext *dc, int vector, int error_code, uint64_t pc);
/* Leave to the loop with `reason` and the pc already at the next instruction (SYSCALL, HLT...). */
void gen_exit(DisasContext *dc, TCGExitReason reason);

/* The 64-bit mode decoder every part of the translator shares (Zydis decoders are read-only once made). */
const ZydisDecoder *x86_decoder(void);
/* Decode the instruction at pc from the bytes up to the end of its page (at most 15), filling insn's pc,
   bytes and next_pc; Zydis's status (NO_MORE_DATA: it may continue on the next page). */
ZyanStatus x86_decode_in_page(X86Insn *insn, uint64_t pc);

/* --- dead flags (flags-live.c) -------------------------------------------------------------------- */

/* A new block begins. */
void x86_flags_live_reset(void);
/* Are the flag results of the instruction at pc, just decoded into dc->insn, dead? Asked once per
   instruction, in order; `limit` is how many more instructions the block may hold. */
bool x86_flags_live_dead(const DisasContext *dc, uint64_t pc, unsigned limit);
/* Did the last answer depend on instructions after the one just asked about? (If the block ends there
   for a reason the scan could not see, it must be translated again, shorter.) */
bool x86_flags_live_ahead(void);
/* The window's decoding of the instruction at pc, when it is the next one the translator asks about (the
   scan decoded it already): true and *insn filled, else false. */
bool x86_flags_live_decoded(uint64_t pc, X86Insn *insn);

/* ROL/ROR by an immediate whose masked count is not 1, on an Intel host: OF is left as it was, not
   written (int-shift.c). */
bool x86_rotate_keeps_of(const X86Insn *insn);

/* --- lazy flags (cc.h has the CC_OP list) ---------------------------------------------------------- */

/* Record a flag-setting operation: op, result and operands. */
void gen_set_cc(DisasContext *dc, int cc_op, TCGTemp dst, TCGTemp src, TCGTemp src2);
/* A temp holding 1 if the x86 condition `jcc` (0..15 as in Jcc's low nibble) holds, else 0. */
TCGTemp gen_cond(DisasContext *dc, int jcc);
/* Materialize all arithmetic flags into a temp (RFLAGS layout, CF..OF only). */
TCGTemp gen_compute_eflags(DisasContext *dc);
/* Store all flags back as CC_OP_EFLAGS from an RFLAGS-layout temp (arithmetic bits only). */
void gen_set_eflags_arith(DisasContext *dc, TCGTemp flags);

/* -d cpu: the registers and flags. */
void x86_dump_state(TCGCPU *cpu, FILE *out);

/* The target as the execution loop sees it. */
extern const TCGTargetOps x86_target_ops;

/* Translate one block at tb->pc. */
int x86_translate_block(TCGCPU *cpu, TCGContext *s, TranslationBlock *tb);

/*
 * Instrumentation hooks of user mode (its AFL mode sets them; NULL otherwise). block_start emits IR before
 * a block's first instruction; cmp sees each SUB-family flag update (CMP, SUB, NEG...) with its operands
 * a - b, so comparisons can be logged or split (see user/linux/afl/).
 */
extern void (*x86_hook_block_start)(DisasContext *dc);
extern void (*x86_hook_cmp)(DisasContext *dc, unsigned bits, TCGTemp a, TCGTemp b);
void x86_tcg_init_globals(TCGContext *s);

/* Knights Corner's encodings (a VEX-encoded LZCNT, POPCNT or TZCNT...) that Zydis decodes belong to no
   CPU we model: they are #UD like any other unknown encoding. */
static inline bool x86_decoded_knc(const ZydisDecodedInstruction *zi)
{
    return zi->meta.isa_ext == ZYDIS_ISA_EXT_KNC || zi->meta.isa_ext == ZYDIS_ISA_EXT_KNCV;
}

#endif
