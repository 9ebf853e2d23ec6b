/*
 * The optimizer: per basic block constant folding and copy propagation (forward), then dead-code
 * removal (backward), then compaction of the op list. Folding uses the one evaluator of tcg-eval.h, so
 * the optimizer can never disagree with the interpreter about what an op computes.
 *
 * Correctness rules it keeps (a wrong optimization is worse than a missed one):
 *  - knowledge about temps is dropped at labels, unconditional branches and exits (a conditional branch
 *    keeps it: the op after it is reached only by falling through, with every temp as it was);
 *  - globals live in the CPU state, which helpers, `st`, `guest_ld128` and fault handlers may read or
 *    write: knowledge about globals is dropped when one of those may write them, and all globals are
 *    live wherever one of those may read them (any non-pure call, ld/st, any op that may fault) and at
 *    every block exit, so a fault always sees the state of the instruction that faulted;
 *  - an I32 op's result is the zero-extended low half, so an I32 mov is never a plain copy.
 */
#include <string.h>

#include <glib.h>

#include "core/tcg/tcg-eval.h"
#include "core/tcg/tcg.h"

#define OPT_CONST_SLOTS 512   /* value -> const temp, open addressing, power of two */

typedef struct OptState {
    TCGContext *s;
    /* forward pass: what is known about each temp in the current basic block */
    bool known[TCG_MAX_TEMPS];
    uint64_t val[TCG_MAX_TEMPS];
    TCGTemp copy_of[TCG_MAX_TEMPS];     /* -1, or a temp holding the same 64-bit value... */
    uint32_t copy_ver[TCG_MAX_TEMPS];   /* ...as long as that temp's version is still this */
    TCGTemp low32_of[TCG_MAX_TEMPS];    /* -1, or a temp with the same low 32 bits (t = ext32u x)... */
    uint32_t low32_ver[TCG_MAX_TEMPS];  /* ...while that temp's version is still this */
    uint32_t ver[TCG_MAX_TEMPS];        /* bumped on every write */
    /* Knowledge of t is from the current basic block only if seen[t] == epoch; forgetting everything at a
       block boundary is then one increment, not a pass over every temp. */
    uint32_t seen[TCG_MAX_TEMPS];
    uint32_t epoch;
    /* constants already materialized as TEMP_CONST temps */
    uint64_t const_val[OPT_CONST_SLOTS];
    TCGTemp const_temp[OPT_CONST_SLOTS];
} OptState;

typedef struct LiveSet {
    uint64_t w[TCG_MAX_TEMPS / 64];
} LiveSet;

/* --- constants as temps ----------------------------------------------------------------------------- */

static unsigned opt_const_hash(uint64_t v)
{
    return (unsigned)((v * 0x9e3779b97f4a7c15ULL) >> 40) & (OPT_CONST_SLOTS - 1);
}

static void opt_reset(OptState *o, TCGTemp t);

/* A TEMP_CONST temp holding v, reusing one when possible; -1 when the temps run out. */
static TCGTemp opt_const_temp(OptState *o, uint64_t v)
{
    unsigned h = opt_const_hash(v);
    for (unsigned i = 0; i < OPT_CONST_SLOTS; i++, h = (h + 1) & (OPT_CONST_SLOTS - 1)) {
        if (o->const_temp[h] < 0) {
            TCGContext *s = o->s;
            if (s->nb_temps >= TCG_MAX_TEMPS - 1) {
                return -1;
            }
            TCGTemp t = s->nb_temps++;
            s->temps[t] = (TCGTempInfo){.kind = TEMP_CONST, .value = v};
            opt_reset(o, t);
            o->known[t] = true;
            o->val[t] = v;
            o->const_val[h] = v;
            o->const_temp[h] = t;
            return t;
        }
        if (o->const_val[h] == v) {
            return o->const_temp[h];
        }
    }
    return -1;
}

/* --- forward pass: knowledge ------------------------------------------------------------------------ */

static void opt_reset(OptState *o, TCGTemp t)
{
    o->seen[t] = o->epoch;
    o->known[t] = o->s->temps[t].kind == TEMP_CONST;
    o->val[t] = o->s->temps[t].value;
    o->copy_of[t] = -1;
    o->low32_of[t] = -1;
}

/* t's entry, made current (emptied if it is from an earlier basic block). */
static inline void opt_cur(OptState *o, TCGTemp t)
{
    if (o->seen[t] != o->epoch) {
        opt_reset(o, t);
    }
}

static void opt_forget(OptState *o, TCGTemp t)
{
    o->ver[t]++;
    opt_reset(o, t);
}

static void opt_forget_all(OptState *o)
{
    o->epoch++;
}

static void opt_forget_globals(OptState *o)
{
    for (int t = 1; t <= o->s->nb_globals; t++) {
        opt_forget(o, t);
    }
}

static TCGTemp opt_copy_root(OptState *o, TCGTemp t)
{
    opt_cur(o, t);
    TCGTemp r = o->copy_of[t];
    return r >= 0 && o->ver[r] == o->copy_ver[t] ? r : t;
}

/* Replace an input by a constant temp or by the temp it copies. */
static TCGTemp opt_input(OptState *o, TCGTemp t)
{
    TCGContext *s = o->s;
    if (t <= 0 || t >= s->nb_temps || s->temps[t].kind == TEMP_CONST) {
        return t;
    }
    opt_cur(o, t);
    if (o->known[t]) {
        TCGTemp c = opt_const_temp(o, o->val[t]);
        return c >= 0 ? c : t;
    }
    return opt_copy_root(o, t);
}

static bool opt_known(OptState *o, TCGTemp t, uint64_t *v)
{
    if (t <= 0 || t >= o->s->nb_temps) {
        return false;
    }
    opt_cur(o, t);
    if (o->known[t]) {
        *v = o->val[t];
        return true;
    }
    return false;
}

static void opt_set_const(OptState *o, TCGTemp t, uint64_t v)
{
    opt_forget(o, t);
    o->known[t] = true;
    o->val[t] = v;
}

static void opt_set_copy(OptState *o, TCGTemp t, TCGTemp src)
{
    opt_forget(o, t);
    if (src != t && src > 0) {
        o->copy_of[t] = src;
        o->copy_ver[t] = o->ver[src];
    }
}

static void opt_to_movi(OptState *o, TCGOp *op, uint64_t v)
{
    TCGTemp d = op->args[0];
    memset(op->args, 0, sizeof(op->args));
    op->args[0] = d;
    op->opc = INDEX_op_movi;
    op->type = TCG_I64;
    op->cargs[0] = v;
    op->cargs[1] = 0;
    opt_set_const(o, d, v);
}

/* d = src at the op's width: a copy at 64 bits, a zero-extension at 32. */
static void opt_to_mov(OptState *o, TCGOp *op, TCGTemp src)
{
    uint64_t v;
    if (opt_known(o, src, &v)) {
        opt_to_movi(o, op, op->type == TCG_I32 ? (uint32_t)v : v);
        return;
    }
    TCGTemp d = op->args[0];
    memset(op->args, 0, sizeof(op->args));
    op->args[0] = d;
    op->args[1] = src;
    op->opc = INDEX_op_mov;
    if (op->type == TCG_I64) {
        opt_set_copy(o, d, opt_copy_root(o, src));
    } else {
        opt_forget(o, d);
    }
}

/*
 * Algebraic identities on a pure op with one output whose inputs are not all known. Returns true if
 * it rewrote the op (to mov or movi) and recorded the result.
 */
static bool opt_simplify(OptState *o, TCGOp *op)
{
    const uint64_t wmask = op->type == TCG_I32 ? 0xffffffffULL : ~0ULL;
    const unsigned bits = op->type == TCG_I32 ? 32 : 64;
    TCGTemp a = op->args[1], b = op->args[2];
    uint64_t bv;
    bool bk = opt_known(o, b, &bv);
    if (bk) {
        bv &= wmask;
    }
    switch (op->opc) {
    case INDEX_op_add:
    case INDEX_op_sub:
    case INDEX_op_or:
    case INDEX_op_xor:
    case INDEX_op_andc:
        if (bk && bv == 0) {
            opt_to_mov(o, op, a);
            return true;
        }
        if (op->opc == INDEX_op_or && bk && bv == wmask) {
            opt_to_movi(o, op, wmask);
            return true;
        }
        if (op->opc == INDEX_op_andc && bk && bv == wmask) {
            opt_to_movi(o, op, 0);
            return true;
        }
        if (a == b && op->opc != INDEX_op_add) {
            if (op->opc == INDEX_op_or) {
                opt_to_mov(o, op, a);
            } else {
                opt_to_movi(o, op, 0);
            }
            return true;
        }
        return false;
    case INDEX_op_shl:
    case INDEX_op_shr:
    case INDEX_op_sar:
    case INDEX_op_rotl:
    case INDEX_op_rotr:
        if (bk && (bv & (bits - 1)) == 0) {
            opt_to_mov(o, op, a);
            return true;
        }
        return false;
    case INDEX_op_and:
        if (bk && bv == wmask) {
            opt_to_mov(o, op, a);
            return true;
        }
        if ((bk && bv == 0)) {
            opt_to_movi(o, op, 0);
            return true;
        }
        if (a == b) {
            opt_to_mov(o, op, a);
            return true;
        }
        return false;
    case INDEX_op_mul:
        if (bk && bv == 1) {
            opt_to_mov(o, op, a);
            return true;
        }
        if (bk && bv == 0) {
            opt_to_movi(o, op, 0);
            return true;
        }
        return false;
    case INDEX_op_movcond: {
        uint64_t x, y;
        if (opt_known(o, a, &x) && opt_known(o, b, &y)) {
            opt_to_mov(o, op, tcg_cond_eval_inline((TCGCond)op->cargs[0], op->type, x, y) ? op->args[3] : op->args[4]);
            return true;
        }
        if (op->args[3] == op->args[4]) {
            opt_to_mov(o, op, op->args[3]);
            return true;
        }
        return false;
    }
    default:
        return false;
    }
}

/* Fold, simplify or record one pure op. */
static void opt_pure(OptState *o, TCGOp *op)
{
    const TCGOpDef *def = &tcg_op_defs[op->opc];
    uint64_t in[4] = {0, 0, 0, 0}, out[2] = {0, 0};
    bool all_known = true;
    for (int i = 0; i < def->nb_iargs; i++) {
        all_known &= opt_known(o, op->args[def->nb_oargs + i], &in[i]);
    }
    /* Constants on the right of commutative ops: one place for the identities (and for immediates). */
    if ((def->flags & OPF_COMMUTATIVE) && def->nb_oargs == 1 && !all_known) {
        uint64_t dummy;
        if (opt_known(o, op->args[1], &dummy) && !opt_known(o, op->args[2], &dummy)) {
            TCGTemp t = op->args[1];
            op->args[1] = op->args[2];
            op->args[2] = t;
        }
    }
    if (all_known && tcg_eval_op((TCGOpcode)op->opc, (TCGType)op->type, in, op->cargs, out)) {
        if (def->nb_oargs == 1) {
            opt_to_movi(o, op, out[0]);
        } else {
            /* Two results do not fit one movi; keep the op but remember what it computes. */
            opt_set_const(o, op->args[0], out[0]);
            opt_set_const(o, op->args[1], out[1]);
        }
        return;
    }
    if (op->opc == INDEX_op_mov) {
        opt_to_mov(o, op, op->args[1]);
        return;
    }
    if (def->nb_oargs == 1 && opt_simplify(o, op)) {
        return;
    }
    for (int i = 0; i < def->nb_oargs; i++) {
        opt_forget(o, op->args[i]);
    }
}

/* An op that writes a temp to the value it already holds does nothing. */
static bool opt_redundant(OptState *o, const TCGOp *op)
{
    uint64_t v;
    TCGTemp d = op->args[0];
    if (op->opc == INDEX_op_movi) {
        return opt_known(o, d, &v) && v == (op->type == TCG_I32 ? (uint32_t)op->cargs[0] : op->cargs[0]);
    }
    if (op->opc == INDEX_op_mov && op->type == TCG_I64) {
        return opt_copy_root(o, op->args[1]) == opt_copy_root(o, d);
    }
    return false;
}

/* Ops that read only the low 32 bits of every input: the I32 pure ops, and the 64-bit extensions. */
static bool opt_reads_low32(const TCGOp *op)
{
    if (!tcg_op_is_pure((TCGOpcode)op->opc)) {
        return false;
    }
    if (op->type == TCG_I32) {
        return true;
    }
    switch (op->opc) {
    case INDEX_op_ext8s:
    case INDEX_op_ext8u:
    case INDEX_op_ext16s:
    case INDEX_op_ext16u:
    case INDEX_op_ext32s:
    case INDEX_op_ext32u:
        return true;
    default:
        return false;
    }
}

/* An input read at 32 bits may be the temp a zero-extension copied (x86's 32-bit operands read so). */
static TCGTemp opt_input_low32(OptState *o, TCGTemp t)
{
    if (t <= 0 || t >= o->s->nb_temps) {
        return t;
    }
    opt_cur(o, t);
    TCGTemp r = o->low32_of[t];
    return r >= 0 && o->ver[r] == o->low32_ver[t] ? r : t;
}

/* After op: does its output have the low 32 bits of an input (ext32u at 64 bits, mov at 32)? */
static void opt_note_low32(OptState *o, const TCGOp *op)
{
    bool zext = (op->opc == INDEX_op_ext32u && op->type == TCG_I64) ||
                (op->opc == INDEX_op_mov && op->type == TCG_I32);
    TCGTemp d = op->args[0], src = op->args[1];
    if (zext && src > 0 && src != d && o->s->temps[src].kind != TEMP_CONST) {
        o->low32_of[d] = src;
        o->low32_ver[d] = o->ver[src];
    }
}

static void opt_forward(OptState *o)
{
    TCGContext *s = o->s;
    bool unreachable = false;
    opt_forget_all(o);
    for (int n = 0; n < s->nb_ops; n++) {
        TCGOp *op = &s->ops[n];
        if (op->dead) {
            continue;
        }
        const TCGOpDef *def = &tcg_op_defs[op->opc];
        if (op->opc == INDEX_op_set_label) {
            unreachable = false;
        } else if (unreachable && op->opc != INDEX_op_insn_start) {
            /* Nothing branches here: the ops up to the next label can never run (an insn_start stays: it
               says which instruction the ops after the label belong to). */
            op->dead = 1;
            continue;
        }
        if (op->opc == INDEX_op_call) {
            int nargs = op->helper ? op->helper->nargs : 0;
            for (int i = 0; i < nargs; i++) {
                op->call_args[i] = opt_input(o, op->call_args[i]);
            }
        } else {
            bool low32 = opt_reads_low32(op);
            for (int i = 0; i < def->nb_iargs; i++) {
                TCGTemp *a = &op->args[def->nb_oargs + i];
                *a = opt_input(o, *a);
                if (low32) {
                    *a = opt_input_low32(o, *a);
                }
            }
            if (op->opc == INDEX_op_guest_st && (op->cargs[0] & MO_SIZE) <= MO_32) {
                op->args[0] = opt_input_low32(o, op->args[0]);   /* the value: only its low bytes are stored */
            }
        }

        if (tcg_op_is_pure((TCGOpcode)op->opc)) {
            if (opt_redundant(o, op)) {
                op->dead = 1;
                continue;
            }
            opt_pure(o, op);
            if (!op->dead) {
                opt_note_low32(o, op);
            }
            continue;
        }
        switch (op->opc) {
        case INDEX_op_brcond: {
            uint64_t a, b;
            if (opt_known(o, op->args[0], &a) && opt_known(o, op->args[1], &b)) {
                if (tcg_cond_eval_inline((TCGCond)op->cargs[0], (TCGType)op->type, a, b)) {
                    uint64_t label = op->cargs[1];
                    memset(op, 0, sizeof(*op));
                    op->opc = INDEX_op_br;
                    op->type = TCG_I64;
                    op->cargs[0] = label;
                    op->call_ret = -1;
                    unreachable = true;
                } else {
                    op->dead = 1;
                    continue;   /* falls through: what we know still holds */
                }
            }
            break;
        }
        case INDEX_op_br:
        case INDEX_op_exit_tb:
        case INDEX_op_goto_ptr:
            unreachable = true;
            break;
        case INDEX_op_call:
            if (!op->helper || !(op->helper->flags & TCG_CALL_NO_RW_GLOBALS)) {
                opt_forget_globals(o);
            }
            if (op->call_ret >= 0) {
                opt_forget(o, op->call_ret);
            }
            break;
        case INDEX_op_st:
        case INDEX_op_guest_ld128:
            /* writes the CPU state, perhaps where a global lives */
            opt_forget_globals(o);
            break;
        default:
            break;
        }
        for (int i = 0; i < def->nb_oargs; i++) {
            opt_forget(o, op->args[i]);
        }
        if ((def->flags & OPF_BB_END) && op->opc != INDEX_op_brcond) {
            opt_forget_all(o);
        }
    }
}

/* --- backward pass: liveness ------------------------------------------------------------------------ */

static bool live_has(const LiveSet *l, TCGTemp t) { return (l->w[t / 64] >> (t % 64)) & 1; }
static void live_add(LiveSet *l, TCGTemp t) { l->w[t / 64] |= 1ULL << (t % 64); }
static void live_del(LiveSet *l, TCGTemp t) { l->w[t / 64] &= ~(1ULL << (t % 64)); }

/* Temps [1, n) (0 is env, never live), a word at a time: every memory op adds the globals. */
static void live_add_range(LiveSet *l, int n)
{
    for (int w = 0; w * 64 < n; w++) {
        int top = n - w * 64;
        uint64_t m = top >= 64 ? ~0ULL : (1ULL << top) - 1;
        l->w[w] |= w == 0 ? m & ~1ULL : m;
    }
}

static void live_globals(const TCGContext *s, LiveSet *l)
{
    live_add_range(l, s->nb_globals + 1);
}

static void live_everything(const TCGContext *s, LiveSet *l)
{
    live_add_range(l, s->nb_temps);
}

/* Whether the op may read the CPU state behind the globals' backs (or let a fault handler do so). */
static bool opt_reads_state(const TCGOp *op, const TCGOpDef *def)
{
    if (op->opc == INDEX_op_call) {
        return !op->helper || !(op->helper->flags & TCG_CALL_PURE);
    }
    /* try_goto_ptr: the block it may go to reads the state */
    return (def->flags & OPF_MEM) || op->opc == INDEX_op_ld || op->opc == INDEX_op_st ||
           op->opc == INDEX_op_try_goto_ptr;
}

static void opt_backward(TCGContext *s, LiveSet *label_live, bool *label_seen)
{
    LiveSet live;
    memset(&live, 0, sizeof(live));
    live_globals(s, &live);
    for (int n = s->nb_ops - 1; n >= 0; n--) {
        TCGOp *op = &s->ops[n];
        if (op->dead) {
            continue;
        }
        const TCGOpDef *def = &tcg_op_defs[op->opc];
        switch (op->opc) {
        case INDEX_op_set_label:
            if (op->cargs[0] < (uint64_t)s->nb_labels) {
                label_live[op->cargs[0]] = live;
                label_seen[op->cargs[0]] = true;
            }
            continue;
        case INDEX_op_br:
        case INDEX_op_brcond: {
            uint64_t l = op->opc == INDEX_op_br ? op->cargs[0] : op->cargs[1];
            LiveSet target;
            if (l < (uint64_t)s->nb_labels && label_seen[l]) {
                target = label_live[l];   /* a forward branch: its target's needs are known */
            } else {
                memset(&target, 0, sizeof(target));
                live_everything(s, &target);
            }
            if (op->opc == INDEX_op_br) {
                live = target;
            } else {
                for (int i = 0; i < TCG_MAX_TEMPS / 64; i++) {
                    live.w[i] |= target.w[i];
                }
            }
            break;
        }
        case INDEX_op_exit_tb:
        case INDEX_op_goto_tb:
        case INDEX_op_goto_ptr:
            /* leaving the block: only the state matters */
            memset(&live, 0, sizeof(live));
            live_globals(s, &live);
            break;
        default:
            break;
        }

        if (op->opc == INDEX_op_call) {
            bool pure = op->helper && (op->helper->flags & TCG_CALL_PURE);
            if (pure && (op->call_ret < 0 || !live_has(&live, op->call_ret))) {
                op->dead = 1;
                continue;
            }
            if (op->call_ret >= 0) {
                live_del(&live, op->call_ret);
            }
            for (int i = 0; op->helper && i < op->helper->nargs; i++) {
                live_add(&live, op->call_args[i]);
            }
        } else {
            if (!(def->flags & OPF_SIDE_EFFECTS) && def->nb_oargs > 0) {
                bool used = false;
                for (int i = 0; i < def->nb_oargs; i++) {
                    used |= live_has(&live, op->args[i]);
                }
                if (!used) {
                    op->dead = 1;
                    continue;
                }
            }
            for (int i = 0; i < def->nb_oargs; i++) {
                live_del(&live, op->args[i]);
            }
            for (int i = 0; i < def->nb_iargs; i++) {
                live_add(&live, op->args[def->nb_oargs + i]);
            }
        }
        if (opt_reads_state(op, def)) {
            live_globals(s, &live);
        }
    }
}

/* The optimizer trusts its input; IR it cannot trust is left for the backend to reject. */
static bool opt_ir_valid(const TCGContext *s)
{
    if (s->nb_temps <= 0 || s->nb_temps > TCG_MAX_TEMPS) {
        return false;
    }
    for (int n = 0; n < s->nb_ops; n++) {
        const TCGOp *op = &s->ops[n];
        if (op->opc >= TCG_OP_COUNT) {
            return false;
        }
        if (op->opc == INDEX_op_call) {
            if (!op->helper || op->helper->nargs > TCG_MAX_HELPER_ARGS || op->call_ret >= s->nb_temps) {
                return false;
            }
            for (int i = 0; i < op->helper->nargs; i++) {
                if (op->call_args[i] < 0 || op->call_args[i] >= s->nb_temps) {
                    return false;
                }
            }
            continue;
        }
        const TCGOpDef *def = &tcg_op_defs[op->opc];
        for (int i = 0; i < def->nb_oargs + def->nb_iargs; i++) {
            if (op->args[i] < 0 || op->args[i] >= s->nb_temps) {
                return false;
            }
        }
        for (int i = 0; i < def->nb_oargs; i++) {
            if (s->temps[op->args[i]].kind != TEMP_GLOBAL && s->temps[op->args[i]].kind != TEMP_LOCAL) {
                return false;
            }
        }
        if ((op->opc == INDEX_op_set_label || op->opc == INDEX_op_br) && op->cargs[0] >= (uint64_t)s->nb_labels) {
            return false;
        }
        if (op->opc == INDEX_op_brcond && op->cargs[1] >= (uint64_t)s->nb_labels) {
            return false;
        }
    }
    return true;
}

/* --- coalescing: a result computed straight into the global it is copied to ---------------------------- */

/* Does op write the value `g` holds (directly, or through the CPU state it may store to)? */
static bool opt_may_write(const TCGContext *s, const TCGOp *op, TCGTemp g)
{
    const TCGOpDef *def = &tcg_op_defs[op->opc];
    if (op->opc == INDEX_op_call) {
        return op->call_ret == g || !op->helper || !(op->helper->flags & TCG_CALL_NO_RW_GLOBALS);
    }
    if (op->opc == INDEX_op_st && op->args[1] == TCG_TEMP_ENV) {
        /* A store to the CPU state writes g only if it overlaps g's slot (the pc before a jump does not). */
        int64_t lo = (int64_t)op->cargs[1], hi = lo + (1 << (op->cargs[0] & MO_SIZE));
        int64_t g_lo = s->temps[g].env_offset;   /* 8 bytes at most */
        return lo < g_lo + 8 && g_lo < hi;
    }
    if (op->opc == INDEX_op_st || op->opc == INDEX_op_guest_ld128) {
        return true;
    }
    for (int i = 0; i < def->nb_oargs; i++) {
        if (op->args[i] == g) {
            return true;
        }
    }
    return false;
}

/* Replace reads of t by g in op (apply false: only count them); returns how many there were. */
static int opt_rename_reads(TCGOp *op, TCGTemp t, TCGTemp g, bool apply)
{
    const TCGTemp *in;
    int n = tcg_op_inputs(op, &in), found = 0;
    for (int i = 0; i < n; i++) {
        if (in[i] == t) {
            found++;
            if (apply) {
                ((TCGTemp *)in)[i] = g;   /* the op is ours to change */
            }
        }
    }
    return found;
}

static bool opt_writes(const TCGOp *op, TCGTemp t)
{
    const TCGOpDef *def = &tcg_op_defs[op->opc];
    if (op->opc == INDEX_op_call) {
        return op->call_ret == t;
    }
    for (int i = 0; i < def->nb_oargs; i++) {
        if (op->args[i] == t) {
            return true;
        }
    }
    return false;
}

/*
 * "x = op ...; g = x" (op pure or a guest load) with g a global and the copy soon after: compute (load) into
 * g, and read g where x was read later (while g still holds it). The x86 translator
 * writes every result so (a 32-bit result zero-extended into the 64-bit register; the lazy flags recorded
 * in between), and the JIT then computes in g's register. Only pure ops that do not touch g may come
 * between the two, so no fault or helper can see g early (a load that faults leaves g as it was). Every
 * other read of x must come before g changes and before a label (a conditional branch is passed: the forward
 * pass reads x for g beyond it); otherwise nothing is changed.
 */
#define OPT_COALESCE_REACH 6

static void opt_coalesce(TCGContext *s)
{
    uint16_t uses[TCG_MAX_TEMPS];
    memset(uses, 0, sizeof(uses[0]) * (size_t)s->nb_temps);
    for (int i = 0; i < s->nb_ops; i++) {
        const TCGTemp *in;
        int n = s->ops[i].dead ? 0 : tcg_op_inputs(&s->ops[i], &in);
        for (int k = 0; k < n; k++) {
            if (in[k] > 0 && in[k] < s->nb_temps) {
                uses[in[k]]++;
            }
        }
    }
    for (int i = 0; i < s->nb_ops; i++) {
        TCGOp *x = &s->ops[i];
        /* A guest load too: if it faults, its destination keeps its old value (the backends write the
           result only once the access succeeded), which for g is what the fault must leave. */
        if (x->dead || !(tcg_op_is_pure((TCGOpcode)x->opc) || x->opc == INDEX_op_guest_ld) ||
            tcg_op_defs[x->opc].nb_oargs != 1) {
            continue;
        }
        TCGTemp t = x->args[0];
        if (t <= 0 || t >= s->nb_temps || s->temps[t].kind != TEMP_LOCAL) {
            continue;
        }
        /* The copy: within a few pure ops (the translator records the lazy flags first), none of which
           touches the global; their reads of t become reads of it too. */
        int j = i + 1, between = 0;
        TCGOp *y = NULL;
        for (; j < s->nb_ops && between <= OPT_COALESCE_REACH; j++) {
            TCGOp *op = &s->ops[j];
            if (op->dead) {
                continue;
            }
            if ((op->opc == INDEX_op_mov || op->opc == INDEX_op_ext32u) && op->args[1] == t &&
                op->args[0] > 0 && op->args[0] < s->nb_temps && s->temps[op->args[0]].kind == TEMP_GLOBAL) {
                y = op;
                break;
            }
            if (!tcg_op_is_pure((TCGOpcode)op->opc) || opt_writes(op, t)) {
                break;
            }
            between++;
        }
        if (y == NULL) {
            continue;
        }
        unsigned mo = x->opc == INDEX_op_guest_ld ? (unsigned)x->cargs[0] & 7 : MO_64;
        bool zext_result = x->type == TCG_I32 || (x->type == TCG_I64 && (x->opc == INDEX_op_ext32u ||
                                                                          x->opc == INDEX_op_ext16u ||
                                                                          x->opc == INDEX_op_ext8u ||
                                                                          ((mo & MO_SIZE) < MO_64 && !(mo & MO_SIGN))));
        bool copy = y->opc == INDEX_op_mov && y->type == TCG_I64;
        bool zcopy = (y->opc == INDEX_op_mov && y->type == TCG_I32) || (y->opc == INDEX_op_ext32u && y->type == TCG_I64);
        TCGTemp g = y->args[0];
        if (!(copy || (zcopy && zext_result))) {
            continue;
        }
        int early = 0;
        bool clash = false;
        for (int m = i + 1; m < j; m++) {
            TCGOp *op = &s->ops[m];
            if (!op->dead) {
                clash |= opt_rename_reads(op, g, g, false) > 0 || opt_writes(op, g);
                early += opt_rename_reads(op, t, g, false);
            }
        }
        if (clash) {
            continue;
        }
        /* Every later read of t: in this basic block, before g changes. */
        int found = early;
        bool g_changed = false, ok = true;
        int k;
        for (k = j + 1; k < s->nb_ops; k++) {
            TCGOp *op = &s->ops[k];
            if (op->dead) {
                continue;
            }
            int n = opt_rename_reads(op, t, g, false);
            if (n && g_changed) {
                ok = false;
                break;
            }
            found += n;
            /* A conditional branch's fall-through goes on with every temp as it was; its target is past
               a label, where the scan stops. */
            if (opt_writes(op, t) || ((tcg_op_defs[op->opc].flags & OPF_BB_END) && op->opc != INDEX_op_brcond)) {
                break;
            }
            if (opt_may_write(s, op, g)) {
                g_changed = true;
            }
            if (found == uses[t] - 1) {
                break;
            }
        }
        if (!ok || found != uses[t] - 1) {
            continue;
        }
        for (int m = i + 1; m <= k && m < s->nb_ops && found > 0; m++) {
            if (!s->ops[m].dead && m != j) {
                found -= opt_rename_reads(&s->ops[m], t, g, true);
            }
        }
        x->args[0] = g;
        y->dead = 1;
        uses[t] = 0;
    }
}

void tcg_optimize(TCGContext *s)
{
    if (s->overflow || s->nb_ops == 0 || !opt_ir_valid(s)) {
        return;
    }
    /* One state per translating thread, kept: its epochs make old entries stale, so nothing is cleared. */
    static GPrivate state_key = G_PRIVATE_INIT(g_free);
    OptState *o = tcg_thread_scratch(&state_key, sizeof(OptState));
    o->s = s;
    if (o->epoch > UINT32_MAX - TCG_MAX_OPS) {
        memset(o->seen, 0, sizeof(o->seen));   /* before the epoch could wrap onto old entries */
        o->epoch = 0;
    }
    for (int i = 0; i < OPT_CONST_SLOTS; i++) {
        o->const_temp[i] = -1;
    }
    opt_forward(o);

    LiveSet *label_live = g_new(LiveSet, s->nb_labels + 1);
    bool *label_seen = g_new0(bool, s->nb_labels + 1);
    opt_backward(s, label_live, label_seen);
    g_free(label_live);
    g_free(label_seen);
    opt_coalesce(s);   /* after dead code is gone: it needs every remaining read of a temp */

    int n = 0;
    for (int i = 0; i < s->nb_ops; i++) {
        if (!s->ops[i].dead) {
            if (n != i) {
                s->ops[n] = s->ops[i];
            }
            n++;
        }
    }
    s->nb_ops = n;
}
