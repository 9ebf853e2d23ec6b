/*
 * The IR builder: the op table expanded from ops.def, temps, labels, the raw emitter and helper calls,
 * and the condition utilities every other part of the core shares.
 *
 * Limits never overflow an array: once a block outgrows one, s->overflow is set and the builders hand
 * out a scratch op / scratch temp, so the translator can finish the instruction and the loop then
 * retranslates a shorter block.
 */
#include <string.h>

#include "core/tcg/tcg-eval.h"
#include "core/tcg/tcg-gen.h"
#include "core/tcg/tcg.h"

const TCGOpDef tcg_op_defs[TCG_OP_COUNT] = {
#define OP(name, nout, nin, nconst, fl) [INDEX_op_##name] = {#name, nout, nin, nconst, fl},
#include "core/tcg/ops.def"
#undef OP
};

/* The temp handed out once the temp array is full: a local whose value nobody may rely on. */
#define TCG_SCRATCH_TEMP (TCG_MAX_TEMPS - 1)

/* The op handed out once the op array is full; per thread, since each thread has its own context. */
static __thread TCGOp tcg_scratch_op;

void *tcg_thread_scratch(GPrivate *key, size_t size)
{
    void *p = g_private_get(key);
    if (!p) {
        p = g_malloc0(size);
        g_private_set(key, p);
    }
    return p;
}

void tcg_context_init(TCGContext *s)
{
    /* The counts only: every temp and op is written in full when it is made, and a context is about half
       a megabyte, which clearing would touch page by page (a quarter of a small program's page faults). */
    s->nb_globals = 0;
    s->nb_ops = 0;
    s->nb_labels = 0;
    s->overflow = false;
    s->temps[TCG_TEMP_ENV] = (TCGTempInfo){.kind = TEMP_ENV, .name = "env"};
    s->nb_temps = 1;
}

/* A zero-filled context has no env temp yet; every entry point accepts one. */
static void tcg_ensure_init(TCGContext *s)
{
    if (s->nb_temps == 0) {
        tcg_context_init(s);
    }
}

TCGTemp tcg_global(TCGContext *s, uint32_t env_offset, const char *name)
{
    tcg_ensure_init(s);
    /* Registering the same slot twice (a target's init run again) gives the same temp. */
    for (int i = 1; i <= s->nb_globals; i++) {
        if (s->temps[i].env_offset == env_offset) {
            return i;
        }
    }
    if (s->nb_globals + 2 >= TCG_MAX_TEMPS) {
        s->overflow = true;
        return TCG_SCRATCH_TEMP;
    }
    /* Globals come first; any block-local temps built so far are dropped (register before building). */
    TCGTemp t = ++s->nb_globals;
    s->temps[t] = (TCGTempInfo){.kind = TEMP_GLOBAL, .env_offset = env_offset, .name = name};
    s->nb_temps = s->nb_globals + 1;
    return t;
}

void tcg_func_start(TCGContext *s)
{
    tcg_ensure_init(s);
    s->nb_temps = s->nb_globals + 1;
    s->nb_ops = 0;
    s->nb_labels = 0;
    s->overflow = false;
    s->host_pointers = false;
    s->temps[TCG_SCRATCH_TEMP] = (TCGTempInfo){.kind = TEMP_LOCAL};
}

static TCGTemp tcg_temp_alloc(TCGContext *s, TCGTempKind kind, uint64_t value)
{
    tcg_ensure_init(s);
    if (s->nb_temps >= TCG_SCRATCH_TEMP) {
        s->overflow = true;
        return TCG_SCRATCH_TEMP;
    }
    TCGTemp t = s->nb_temps++;
    s->temps[t] = (TCGTempInfo){.kind = kind, .value = value};
    return t;
}

TCGTemp tcg_temp_new(TCGContext *s)
{
    return tcg_temp_alloc(s, TEMP_LOCAL, 0);
}

TCGTemp tcg_const(TCGContext *s, uint64_t value)
{
    return tcg_temp_alloc(s, TEMP_CONST, value);
}

int tcg_label_new(TCGContext *s)
{
    if (s->nb_labels >= TCG_MAX_LABELS) {
        s->overflow = true;
        return 0;
    }
    return s->nb_labels++;
}

TCGOp *tcg_emit(TCGContext *s, TCGOpcode opc, TCGType type)
{
    TCGOp *op;
    if (s->nb_ops >= TCG_MAX_OPS) {
        s->overflow = true;
        op = &tcg_scratch_op;
    } else {
        op = &s->ops[s->nb_ops++];
    }
    memset(op, 0, sizeof(*op));
    op->opc = opc;
    op->type = type;
    op->call_ret = -1;
    return op;
}

void tcg_gen_call(TCGContext *s, const TCGHelperInfo *h, TCGTemp ret, int nargs, const TCGTemp *args)
{
    TCGOp *op = tcg_emit(s, INDEX_op_call, TCG_I64);
    /* A call that does not match its declaration cannot be run; fail the block rather than the host. */
    if (nargs != h->nargs || nargs > TCG_MAX_HELPER_ARGS || (h->ret == TCG_ARG_VOID) != (ret < 0)) {
        s->overflow = true;
        return;
    }
    op->helper = h;
    op->call_ret = ret;
    for (int i = 0; i < nargs; i++) {
        op->call_args[i] = args[i];
    }
}

/* --- conditions ------------------------------------------------------------------------------------ */

static const struct {
    const char *name;
    TCGCond invert, swap;
} tcg_cond_info[] = {
    [TCG_COND_NEVER] = {"never", TCG_COND_ALWAYS, TCG_COND_NEVER},
    [TCG_COND_ALWAYS] = {"always", TCG_COND_NEVER, TCG_COND_ALWAYS},
    [TCG_COND_EQ] = {"eq", TCG_COND_NE, TCG_COND_EQ},
    [TCG_COND_NE] = {"ne", TCG_COND_EQ, TCG_COND_NE},
    [TCG_COND_LT] = {"lt", TCG_COND_GE, TCG_COND_GT},
    [TCG_COND_GE] = {"ge", TCG_COND_LT, TCG_COND_LE},
    [TCG_COND_LE] = {"le", TCG_COND_GT, TCG_COND_GE},
    [TCG_COND_GT] = {"gt", TCG_COND_LE, TCG_COND_LT},
    [TCG_COND_LTU] = {"ltu", TCG_COND_GEU, TCG_COND_GTU},
    [TCG_COND_GEU] = {"geu", TCG_COND_LTU, TCG_COND_LEU},
    [TCG_COND_LEU] = {"leu", TCG_COND_GTU, TCG_COND_GEU},
    [TCG_COND_GTU] = {"gtu", TCG_COND_LEU, TCG_COND_LTU},
    [TCG_COND_TSTEQ] = {"tsteq", TCG_COND_TSTNE, TCG_COND_TSTEQ},
    [TCG_COND_TSTNE] = {"tstne", TCG_COND_TSTEQ, TCG_COND_TSTNE},
};

#define TCG_NB_CONDS (sizeof(tcg_cond_info) / sizeof(tcg_cond_info[0]))

TCGCond tcg_cond_invert(TCGCond c)
{
    return (unsigned)c < TCG_NB_CONDS ? tcg_cond_info[c].invert : TCG_COND_NEVER;
}

TCGCond tcg_cond_swap(TCGCond c)
{
    return (unsigned)c < TCG_NB_CONDS ? tcg_cond_info[c].swap : TCG_COND_NEVER;
}

bool tcg_cond_eval(TCGCond c, TCGType type, uint64_t a, uint64_t b)
{
    return tcg_cond_eval_inline(c, type, a, b);
}

const char *tcg_cond_name(TCGCond c)
{
    return (unsigned)c < TCG_NB_CONDS ? tcg_cond_info[c].name : "?";
}
