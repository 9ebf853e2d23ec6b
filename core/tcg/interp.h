/*
 * The interpreter backend's compiled form of a block, shared by its compiler (interp-compile.c) and its
 * runner (interp.c). Internal to core/tcg.
 *
 * Each op becomes one fixed-size instruction whose operands are pre-resolved locations:
 *   loc = offset << 1        a 64-bit slot at `offset` bytes from the CPU state pointer: a global at its
 *                            env_offset, a local at offsetof(TCGCPU, frame) + 8 * temp index, and env
 *                            itself at frame[0], which the runner fills with the CPU pointer
 *   loc = offset << 1 | 1    a constant at `offset` bytes into the block's constant pool
 * so reading an operand is one load from one of two bases, and writing one is one store.
 */
#ifndef EMBER_TCG_INTERP_H
#define EMBER_TCG_INTERP_H

#include <ffi.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/tcg/tcg.h"

#define INTERP_NO_LOC UINT32_MAX

/*
 * Instruction codes. A pure op is code opc * 2 + type and runs the shared evaluator (tcg-eval.h);
 * everything else gets its own code, specialized by what is known at compile time.
 */
enum {
    IC_GENERIC_END = TCG_OP_COUNT * 2,
    IC_LD = IC_GENERIC_END,          /* + memop (size | sign): CPU state load */
    IC_ST = IC_LD + 8,               /* + log2 size: CPU state store */
    IC_GLD = IC_ST + 4,              /* + memop: guest load */
    IC_GST = IC_GLD + 8,             /* + log2 size: guest store */
    IC_GLD128 = IC_GST + 4,
    IC_GST128,
    IC_BR,
    IC_BRCOND,                       /* + cond * 2 + type */
    IC_CALL = IC_BRCOND + 14 * 2,
    IC_INSN_START,
    IC_GOTO_TB,
    IC_GOTO_PTR,
    IC_EXIT_TB,
    IC_COUNT
};

typedef struct InterpInsn {
    uint32_t code;
    uint32_t loc[6];      /* outputs, then inputs */
    uint64_t c[2];        /* constants: op arguments, offsets, a result mask, a branch target index */
} InterpInsn;

/* A helper call: the libffi descriptor is prepared once per helper and shared. */
typedef struct InterpCall {
    ffi_cif *cif;
    void (*func)(void);
    uint32_t ret_loc;     /* INTERP_NO_LOC for void helpers */
    uint32_t ret_i32;     /* zero-extend a 32-bit result */
    uint32_t direct;      /* call func directly (see interp_direct_calls) */
    uint32_t nargs;
    uint32_t arg_loc[TCG_MAX_HELPER_ARGS];
} InterpCall;

typedef struct InterpCode {
    uint32_t ninsns, nconsts, ncalls;
    uint64_t *consts;
    InterpCall *calls;
    InterpInsn insns[];
} InterpCode;

struct TranslationBlock;
int interp_compile(TCGContext *s, struct TranslationBlock *tb);

/*
 * Helper calls go through libffi (portable). On an x86-64 System V host every argument kind we have
 * (I32, I64, PTR) and every result kind is passed in an integer register, so a call through a
 * six-argument function pointer is the same machine-level call at a fraction of libffi's cost (~50 ns
 * per call); blocks compiled while this is true use it. Tests clear it to exercise the libffi path.
 */
extern bool interp_direct_calls;

#endif
