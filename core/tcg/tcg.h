/*
 * The IR: temps, ops, the builder's state for one translation block. Its ops are listed once in
 * ops.def; everything here is driven by that table.
 */
#ifndef EMBER_TCG_H
#define EMBER_TCG_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum TCGType { TCG_I32, TCG_I64 } TCGType;

typedef enum TCGOpcode {
#define OP(name, nout, nin, nconst, flags) INDEX_op_##name,
#include "core/tcg/ops.def"
#undef OP
    TCG_OP_COUNT
} TCGOpcode;

enum {
    OPF_SIDE_EFFECTS = 1 << 0,
    OPF_BB_END = 1 << 1,
    OPF_COMMUTATIVE = 1 << 2,
    OPF_MEM = 1 << 3,
    OPF_CALL = 1 << 4,
};

typedef struct TCGOpDef {
    const char *name;
    uint8_t nb_oargs, nb_iargs, nb_cargs;
    uint8_t flags;
} TCGOpDef;

extern const TCGOpDef tcg_op_defs[TCG_OP_COUNT];

/* Conditions for setcond/movcond/brcond. Signed and unsigned comparisons are distinct. */
typedef enum TCGCond {
    TCG_COND_NEVER, TCG_COND_ALWAYS,
    TCG_COND_EQ, TCG_COND_NE,
    TCG_COND_LT, TCG_COND_GE, TCG_COND_LE, TCG_COND_GT,      /* signed */
    TCG_COND_LTU, TCG_COND_GEU, TCG_COND_LEU, TCG_COND_GTU,  /* unsigned */
    TCG_COND_TSTEQ, TCG_COND_TSTNE,                          /* (a & b) == 0, != 0 */
} TCGCond;

TCGCond tcg_cond_invert(TCGCond c);
TCGCond tcg_cond_swap(TCGCond c);   /* the condition for swapped operands */
bool tcg_cond_eval(TCGCond c, TCGType type, uint64_t a, uint64_t b);
const char *tcg_cond_name(TCGCond c);

/* Memory operation: size in bytes (log2) and whether a narrower load sign-extends. */
typedef enum TCGMemOp {
    MO_8 = 0, MO_16 = 1, MO_32 = 2, MO_64 = 3,
    MO_SIZE = 3,
    MO_SIGN = 4,
    MO_S8 = MO_8 | MO_SIGN, MO_S16 = MO_16 | MO_SIGN, MO_S32 = MO_32 | MO_SIGN,
} TCGMemOp;

/* Why a block returned to the execution loop. The front end decides what each means. */
typedef enum TCGExitReason {
    TCG_EXIT_NONE = 0,       /* pc is in the state; look up the next block */
    TCG_EXIT_SYSCALL,        /* the guest executed SYSCALL */
    TCG_EXIT_EXCEPTION,      /* a guest exception; details are in the CPU state */
    TCG_EXIT_INTERRUPT,      /* an exit was requested (signal, interrupt, stop) */
    TCG_EXIT_HALT,           /* HLT */
} TCGExitReason;

/*
 * Temps. A global lives in the CPU state at a fixed offset (guest registers, lazy flag state); a local
 * lives only inside one block. Every temp holds 64 bits; an op's type says how many of them it uses.
 */
typedef int TCGTemp;        /* index into TCGContext.temps; 0 is the CPU state pointer (env) */
#define TCG_TEMP_ENV 0

typedef enum TCGTempKind { TEMP_ENV, TEMP_GLOBAL, TEMP_LOCAL, TEMP_CONST } TCGTempKind;

typedef struct TCGTempInfo {
    TCGTempKind kind;
    uint32_t env_offset;     /* TEMP_GLOBAL: where the value lives in the CPU state */
    uint64_t value;          /* TEMP_CONST */
    const char *name;        /* TEMP_GLOBAL: for dumps */
} TCGTempInfo;

/* Helpers, declared once per target (see core/target-x86/helpers.def) and called through this. */
typedef enum TCGArgKind { TCG_ARG_VOID, TCG_ARG_I32, TCG_ARG_I64, TCG_ARG_PTR } TCGArgKind;

enum {
    TCG_CALL_PURE = 1 << 0,          /* no side effects, reads no CPU state: may be removed or folded */
    TCG_CALL_NO_RW_GLOBALS = 1 << 1, /* does not read or write guest registers through env */
    TCG_CALL_NO_RETURN = 1 << 2,     /* always leaves through the exception path */
};

#define TCG_MAX_HELPER_ARGS 6

typedef struct TCGHelperInfo {
    const char *name;
    void *func;
    unsigned flags;
    TCGArgKind ret;
    uint8_t nargs;
    TCGArgKind args[TCG_MAX_HELPER_ARGS];
} TCGHelperInfo;

#define TCG_MAX_OP_ARGS 6

typedef struct TCGOp {
    uint16_t opc;            /* TCGOpcode */
    uint8_t type;            /* TCGType */
    uint8_t dead;            /* set by the optimizer */
    TCGTemp args[TCG_MAX_OP_ARGS];   /* outputs, then inputs (temps) */
    uint64_t cargs[4];       /* constant arguments */
    /* INDEX_op_call: the helper, its result temp (or -1) and its argument temps */
    const TCGHelperInfo *helper;
    TCGTemp call_ret;
    TCGTemp call_args[TCG_MAX_HELPER_ARGS];
    /* INDEX_op_call: the same work as one host instruction the JIT may emit inline (host-insn.h), or NULL */
    const struct TCGHostInsn *host_insn;
} TCGOp;

/* The temps an op reads: a call's arguments, or the inputs after the outputs. Returns how many. */
static inline int tcg_op_inputs(const TCGOp *op, const TCGTemp **in)
{
    if (op->opc == INDEX_op_call) {
        *in = op->call_args;
        return op->helper ? op->helper->nargs : 0;
    }
    *in = op->args + tcg_op_defs[op->opc].nb_oargs;
    return tcg_op_defs[op->opc].nb_iargs;
}

#define TCG_MAX_TEMPS 1024
#define TCG_MAX_OPS 4096
#define TCG_MAX_LABELS 256
/* goto_tb slots of a block: its chainable exits (a block that goes on past conditional branches has one per
   branch besides its last two). */
#define TCG_GOTO_TB_SLOTS 6

/* The builder's state for one block. One per translating thread. */
typedef struct TCGContext {
    TCGTempInfo temps[TCG_MAX_TEMPS];
    int nb_globals;          /* temps [1, nb_globals] are globals, registered once */
    int nb_temps;
    TCGOp ops[TCG_MAX_OPS];
    int nb_ops;
    int nb_labels;
    bool overflow;           /* the block grew past a limit: the translator must end it earlier */
    /* A constant holds a host address (not a helper's, which the backend knows): the block's code holds
       it too and cannot be kept for another run (tb-persist.h). */
    bool host_pointers;
} TCGContext;

/*
 * A translating thread's scratch (a compiler context, a decode window): allocated zeroed on the thread's
 * first call, the same block on later ones, freed when the thread ends. The key is a GPrivate of the
 * caller's, G_PRIVATE_INIT(g_free). Guest threads come and go; their scratch must go with them.
 */
void *tcg_thread_scratch(GPrivate *key, size_t size);

/* Prepare an empty context (temp 0 = env). A zero-filled context is also accepted by every function. */
void tcg_context_init(TCGContext *s);

/* Globals are registered once per context; tcg_func_start keeps them and drops everything else. */
TCGTemp tcg_global(TCGContext *s, uint32_t env_offset, const char *name);
void tcg_func_start(TCGContext *s);

TCGTemp tcg_temp_new(TCGContext *s);
TCGTemp tcg_const(TCGContext *s, uint64_t value);
int tcg_label_new(TCGContext *s);

/*
 * Whether a translator should end the block before its next guest instruction because the buffers are
 * nearly full (no single instruction is expected to need more than this reserve). Ending here avoids
 * s->overflow, which makes the loop retranslate with TranslationBlock.max_insns set.
 */
static inline bool tcg_should_end_block(const TCGContext *s)
{
    return s->nb_ops > TCG_MAX_OPS - 512 || s->nb_temps > TCG_MAX_TEMPS - 160 || s->nb_labels > TCG_MAX_LABELS - 24;
}

/* The raw emitter; the typed builders in tcg-gen.h are what translators use. */
TCGOp *tcg_emit(TCGContext *s, TCGOpcode opc, TCGType type);

/* Dump the op list (for -d op, op_opt) to a stdio stream. */
struct _IO_FILE;
void tcg_dump_ops(const TCGContext *s, struct _IO_FILE *out);

/* The optimizer: constant folding, copy propagation, dead-code removal. */
void tcg_optimize(TCGContext *s);

#endif
