/*
 * The JIT's register allocator: which temps live in which host registers within one block, and when
 * their homes in memory are brought up to date. The model and its precise-state rule are in jit-ctx.h.
 */
#include <stddef.h>
#include <string.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/jit-ctx.h"

/* Allocation order: callee-saved registers first, as they survive helper calls (pinned ones are skipped);
   rdx last, for short-lived locals only (jit_rdx_fits). */
#define JIT_NREGS 12
static const int jit_alloc_order[JIT_NREGS] = {
    JR_RBX, JR_R12, JR_R13, JR_R14, JR_R15, JR_RSI, JR_RDI, JR_R8, JR_R9, JR_R10, JR_R11, JR_RDX,
};

static bool jit_callee_saved(int r) { return r == JR_RBX || r >= JR_R12; }

int64_t jit_slot(const JitCtx *c, TCGTemp t)
{
    const TCGTempInfo *ti = &c->s->temps[t];
    switch (ti->kind) {
    case TEMP_GLOBAL: return ti->env_offset;
    case TEMP_LOCAL: return (int64_t)(offsetof(TCGCPU, frame) + 8 * (size_t)t);
    default: return -1;
    }
}

static TCGTempKind jit_kind(const JitCtx *c, TCGTemp t) { return c->s->temps[t].kind; }

bool jit_dead_after(const JitCtx *c, TCGTemp t)
{
    return jit_kind(c, t) == TEMP_LOCAL && !c->has_back_branch && c->last_use[t] <= c->cur_op;
}

/* Whether a dirty copy of t must reach its home when the register is given up. */
static bool jit_home_needed(const JitCtx *c, TCGTemp t)
{
    switch (jit_kind(c, t)) {
    case TEMP_GLOBAL: return true;
    case TEMP_LOCAL: return c->has_back_branch || c->last_use[t] >= c->cur_op;
    default: return false;
    }
}

static void jit_reg_writeback(JitCtx *c, int r)
{
    TCGTemp t = c->reg_temp[r];
    if (t >= 0 && c->reg_dirty[r]) {
        if (t == c->pin_disp_temp && c->pin_disp != 0) {
            /* Deferred additions (jit-pin-disp.c): the state gets the sum, the register stays as it is.
               Only an access without a fault site gets here, with rax free. */
            jit_op_mem(&c->b, 0x8d, JR_RAX, r, -1, c->pin_disp, JM_W);
            jit_op_rm(&c->b, JOP_MOV_STORE, JR_RAX, JIT_ENV, (int32_t)jit_slot(c, t), 64);
        } else if (jit_home_needed(c, t)) {
            jit_op_rm(&c->b, JOP_MOV_STORE, r, JIT_ENV, (int32_t)jit_slot(c, t), 64);
        }
        c->reg_dirty[r] = false;
    }
}

static void jit_reg_unbind(JitCtx *c, int r)
{
    TCGTemp t = c->reg_temp[r];
    if (t >= 0) {
        c->temp_reg[t] = 0;
    }
    c->reg_temp[r] = -1;
    c->reg_dirty[r] = false;
    c->local_regs &= (uint16_t)~(1u << r);
}

static void jit_reg_free(JitCtx *c, int r)
{
    jit_reg_writeback(c, r);
    jit_reg_unbind(c, r);
}

static void jit_reg_bind(JitCtx *c, int r, TCGTemp t)
{
    c->reg_temp[r] = t;
    c->temp_reg[t] = (int8_t)(r + 1);
    if (t >= c->temps_bound) {
        c->temps_bound = t + 1;
    }
    c->reg_used[r] = ++c->clock;
    c->locked |= (uint16_t)(1u << r);
    if (jit_kind(c, t) == TEMP_LOCAL) {
        c->local_regs |= (uint16_t)(1u << r);
    } else {
        c->local_regs &= (uint16_t)~(1u << r);
    }
}

/* ---- pending constants (JitCtx.konst) ---- */

static int jit_const_find(const JitCtx *c, TCGTemp t)
{
    for (int i = 0; i < c->nkonst; i++) {
        if (c->konst[i].t == t) {
            return i;
        }
    }
    return -1;
}

static void jit_const_forget(JitCtx *c, int i)
{
    c->konst[i] = c->konst[--c->nkonst];
}

static void jit_const_store(JitCtx *c, int i)
{
    jit_store_imm32(&c->b, JIT_ENV, (int32_t)jit_slot(c, c->konst[i].t), c->konst[i].v, 64);
    jit_const_forget(c, i);
}

static void jit_consts_store(JitCtx *c)
{
    while (c->nkonst > 0) {
        jit_const_store(c, c->nkonst - 1);
    }
}

void jit_regs_reset(JitCtx *c)
{
    c->nkonst = 0;
    /* Only temps up to the high-water mark were ever bound. */
    memset(c->temp_reg, 0, sizeof(c->temp_reg[0]) * (size_t)c->temps_bound);
    c->temps_bound = 0;
    c->local_regs = 0;
    for (int r = 0; r < 16; r++) {
        c->reg_temp[r] = -1;
        c->reg_dirty[r] = c->reg_zext[r] = false;
        c->reg_used[r] = 0;
    }
    c->locked = 0;
    c->clock = 0;
    c->pinned = 0;
    c->pin_disp_temp = -1;
    c->pin_disp = 0;
    /* Pinned globals hold their value from entry on; their slots in the state may be stale (dirty). */
    for (int i = 0; c->pins && i < c->pins->n; i++) {
        int r = c->pins->reg[i];
        c->pinned |= (uint16_t)(1u << r);
        for (TCGTemp t = 1; t <= c->s->nb_globals; t++) {
            if (c->s->temps[t].env_offset == c->pins->env_offset[i]) {
                jit_reg_bind(c, r, t);
                c->reg_dirty[r] = true;
                break;
            }
        }
    }
    c->locked = 0;
}

void jit_regs_next_reads(JitCtx *c)
{
    const TCGContext *s = c->s;
    int16_t *upcoming = c->temp_next;   /* while going backward: the next op that reads each temp */
    for (int t = 0; t < s->nb_temps; t++) {
        upcoming[t] = JIT_NO_READ;
    }
    upcoming[TCG_MAX_TEMPS - 1] = JIT_NO_READ;
    for (int i = s->nb_ops - 1; i >= 0; i--) {
        const TCGOp *op = &s->ops[i];
        c->op_nnext[i] = 0;
        if (op->dead || op->opc >= TCG_OP_COUNT) {
            continue;
        }
        int n = 0;
        const TCGTemp *out = op->opc == INDEX_op_call ? &op->call_ret : op->args;
        int nout = op->opc == INDEX_op_call ? (op->call_ret >= 0) : tcg_op_defs[op->opc].nb_oargs;
        const TCGTemp *in;
        int nin = tcg_op_inputs(op, &in);
        for (int k = 0; k < nout + nin && n < JIT_OP_TEMPS; k++) {
            TCGTemp t = k < nout ? out[k] : in[k - nout];
            if (t > 0 && t < TCG_MAX_TEMPS) {
                c->op_next_temp[i][n] = (int16_t)t;
                c->op_next_at[i][n++] = upcoming[t];
            }
        }
        c->op_nnext[i] = (uint8_t)n;
        for (int k = 0; k < nin; k++) {
            if (in[k] > 0 && in[k] < TCG_MAX_TEMPS) {
                upcoming[in[k]] = (int16_t)i;
            }
        }
    }
    for (int t = 0; t < s->nb_temps; t++) {
        c->temp_next[t] = JIT_NO_READ;
    }
}

void jit_regs_begin_op(JitCtx *c, int i)
{
    c->cur_op = i;
    c->locked = 0;
    for (int k = 0; c->next_reads && k < c->op_nnext[i]; k++) {
        c->temp_next[c->op_next_temp[i][k]] = c->op_next_at[i][k];
    }
    if (c->has_back_branch) {
        return;
    }
    for (unsigned m = c->local_regs; m; m &= m - 1) {
        int r = __builtin_ctz(m);
        if (c->last_use[c->reg_temp[r]] < i) {
            jit_reg_unbind(c, r);
        }
    }
}

/*
 * A register for a new value: a free one, else an unlocked one given up (written back). The victim is the
 * one whose value is read again last (Belady's choice: every other would be reloaded sooner), a clean one
 * on a tie (no store). Without next reads (a cold block), or in a block with a backward branch, where
 * reads come around again: the least recently used, a clean one preferred. sha256's rounds, which use
 * every guest register: 34% fewer loads from the state, 20% faster than with the least recently used.
 */
static uint64_t jit_evict_cost(const JitCtx *c, int r)
{
    uint64_t dirty = c->reg_dirty[r] ? 1 : 0;
    if (!c->next_reads || c->has_back_branch) {
        return c->reg_used[r] + dirty * 64u;
    }
    int next = c->temp_next[c->reg_temp[r]];
    return ((uint64_t)(JIT_NO_READ - next) << 1) | dirty;
}

/*
 * Whether t may live in rdx: a local whose reads all come before the next op that uses rdx itself (checked
 * over a short stretch: most such locals are an instruction's intermediate values), so that it never has
 * to be moved out. sha256's rounds: 6% faster with rdx for any temp; perl 4% slower, as calls and exits
 * then wrote back and reloaded what was there.
 */
#define JIT_RDX_REACH 48

static bool jit_rdx_fits(const JitCtx *c, TCGTemp t)
{
    if (t < 0 || jit_kind(c, t) != TEMP_LOCAL || c->has_back_branch || c->last_use[t] < c->cur_op ||
        c->last_use[t] - c->cur_op > JIT_RDX_REACH) {
        return false;
    }
    for (int i = c->cur_op + 1; i <= c->last_use[t]; i++) {
        if (!c->keeps_rdx[i]) {
            return false;
        }
    }
    return true;
}

/* A register for t: a free one, else the best victim given up. */
static int jit_reg_alloc(JitCtx *c, TCGTemp t)
{
    int best = -1;
    uint64_t best_cost = 0;
    for (int k = 0; k < JIT_NREGS; k++) {
        int r = jit_alloc_order[k];
        if (((c->locked | c->pinned) & (1u << r)) || (r == JR_RDX && !jit_rdx_fits(c, t))) {
            continue;
        }
        if (c->reg_temp[r] < 0) {
            return r;
        }
        uint64_t cost = jit_evict_cost(c, r);
        if (best < 0 || cost < best_cost) {
            best = r;
            best_cost = cost;
        }
    }
    /* At most a handful of registers are locked by one op, so there is always a victim. */
    jit_reg_free(c, best);
    return best;
}

int jit_use(JitCtx *c, TCGTemp t)
{
    TCGTempKind kind = jit_kind(c, t);
    if (kind == TEMP_ENV) {
        return JIT_ENV;
    }
    if (c->temp_reg[t]) {
        int r = c->temp_reg[t] - 1;
        c->reg_used[r] = ++c->clock;
        c->locked |= (uint16_t)(1u << r);
        return r;
    }
    int r = jit_reg_alloc(c, t);
    int k = c->nkonst ? jit_const_find(c, t) : -1;
    if (kind == TEMP_CONST || k >= 0) {
        uint64_t v = k >= 0 ? (uint64_t)(int64_t)c->konst[k].v : c->s->temps[t].value;
        jit_movi(&c->b, r, v);
        c->reg_zext[r] = v <= 0xffffffffULL;
        if (k >= 0) {
            /* The register takes over the pending store: it is dirty. */
            jit_const_forget(c, k);
            jit_reg_bind(c, r, t);
            c->reg_dirty[r] = true;
            return r;
        }
    } else {
        jit_op_rm(&c->b, JOP_MOV_LOAD, r, JIT_ENV, (int32_t)jit_slot(c, t), 64);
        c->reg_zext[r] = false;
    }
    jit_reg_bind(c, r, t);
    c->reg_dirty[r] = false;
    return r;
}

int jit_def(JitCtx *c, TCGTemp t, TCGTemp from, TCGTemp keep)
{
    int r;
    int k = c->nkonst ? jit_const_find(c, t) : -1;
    if (k >= 0) {
        jit_const_forget(c, k);   /* superseded before anything read it */
    }
    if (from >= 0 && from != t && from != keep && c->temp_reg[from] && jit_dead_after(c, from) &&
        !jit_temp_pinned(c, t) && (c->temp_reg[from] - 1 != JR_RDX || jit_rdx_fits(c, t))) {
        /* Take over the dying local's register: its value is the start of ours. */
        r = c->temp_reg[from] - 1;
        jit_reg_unbind(c, r);
        if (c->temp_reg[t]) {
            jit_reg_unbind(c, c->temp_reg[t] - 1);
        }
        bool zext = c->reg_zext[r];
        jit_reg_bind(c, r, t);
        c->reg_zext[r] = zext;
    } else if (c->temp_reg[t]) {
        r = c->temp_reg[t] - 1;
        c->reg_used[r] = ++c->clock;
        c->locked |= (uint16_t)(1u << r);
    } else {
        r = jit_reg_alloc(c, t);
        jit_reg_bind(c, r, t);
        c->reg_zext[r] = false;
    }
    c->reg_dirty[r] = true;
    return r;
}

void jit_get(JitCtx *c, int reg, TCGTemp t, int bits)
{
    const TCGTempInfo *ti = &c->s->temps[t];
    int k = c->nkonst ? jit_const_find(c, t) : -1;
    if (k >= 0) {
        int64_t v = c->konst[k].v;
        jit_movi(&c->b, reg, bits == 32 ? (uint32_t)v : (uint64_t)v);
    } else if (c->temp_reg[t]) {
        int r = c->temp_reg[t] - 1;
        c->reg_used[r] = ++c->clock;
        if (r != reg || bits == 32) {
            jit_op_rr(&c->b, JOP_MOV_STORE, r, reg, bits);
        }
    } else if (ti->kind == TEMP_ENV) {
        jit_op_rr(&c->b, JOP_MOV_STORE, JIT_ENV, reg, 64);
    } else if (ti->kind == TEMP_CONST) {
        jit_movi(&c->b, reg, bits == 32 ? (uint32_t)ti->value : ti->value);
    } else {
        jit_op_rm(&c->b, JOP_MOV_LOAD, reg, JIT_ENV, (int32_t)jit_slot(c, t), bits);
    }
}

void jit_put(JitCtx *c, TCGTemp t, int reg, bool zext)
{
    if (jit_dead_after(c, t)) {
        if (c->temp_reg[t]) {
            jit_reg_unbind(c, c->temp_reg[t] - 1);
        }
        return;
    }
    int r = jit_def(c, t, -1, -1);
    if (r != reg) {
        jit_op_rr(&c->b, JOP_MOV_STORE, reg, r, 64);
    }
    c->reg_zext[r] = zext;
}

void jit_sync(JitCtx *c, bool locals)
{
    jit_consts_store(c);
    for (int k = 0; k < JIT_NREGS; k++) {
        int r = jit_alloc_order[k];
        TCGTemp t = c->reg_temp[r];
        if (t < 0 || !c->reg_dirty[r] || jit_reg_pinned(c, r)) {
            continue;
        }
        if (jit_kind(c, t) == TEMP_GLOBAL) {
            jit_reg_writeback(c, r);
        } else if (locals && jit_kind(c, t) == TEMP_LOCAL) {
            /* Only a local read after this op (the branch or label) needs its home. */
            if (c->has_back_branch || c->last_use[t] > c->cur_op) {
                jit_reg_writeback(c, r);
            }
        }
    }
}

void jit_sync_exact(JitCtx *c)
{
    jit_sync(c, false);
    for (unsigned m = c->pinned; m; m &= m - 1) {
        jit_reg_writeback(c, __builtin_ctz(m));
    }
}

/* A pinned register's copy again from the state (which something may have changed). */
static void jit_reg_reload(JitCtx *c, int r)
{
    jit_op_rm(&c->b, JOP_MOV_LOAD, r, JIT_ENV, (int32_t)jit_slot(c, c->reg_temp[r]), 64);
    c->reg_dirty[r] = c->reg_zext[r] = false;
}

void jit_regs_drop_all(JitCtx *c)
{
    jit_consts_store(c);
    for (int k = 0; k < JIT_NREGS; k++) {
        int r = jit_alloc_order[k];
        if (!jit_reg_pinned(c, r)) {
            jit_reg_free(c, r);
        } else if (c->reg_temp[r] >= 0) {
            /* Reached from elsewhere too: whether the state has its value is not known. */
            c->reg_dirty[r] = true;
            c->reg_zext[r] = false;
        }
    }
}

void jit_regs_drop_globals(JitCtx *c)
{
    c->nkonst = 0;   /* stored before the helper (jit_sync_exact): what it left in the state counts */
    for (int k = 0; k < JIT_NREGS; k++) {
        int r = jit_alloc_order[k];
        TCGTemp t = c->reg_temp[r];
        if (t >= 0 && jit_kind(c, t) == TEMP_GLOBAL) {
            if (jit_reg_pinned(c, r)) {
                jit_reg_reload(c, r);   /* written back before (jit_sync_exact) */
            } else {
                jit_reg_free(c, r);
            }
        }
    }
}

void jit_regs_reserve_rdx(JitCtx *c)
{
    jit_reg_free(c, JR_RDX);
    c->locked |= (uint16_t)(1u << JR_RDX);
}

void jit_regs_clobber(JitCtx *c, uint16_t regs)
{
    for (unsigned m = regs; m; m &= m - 1) {
        jit_reg_free(c, __builtin_ctz(m));
    }
}

void jit_regs_free_caller_saved(JitCtx *c)
{
    for (int k = 0; k < JIT_NREGS; k++) {
        int r = jit_alloc_order[k];
        if (jit_callee_saved(r)) {
            continue;
        }
        if (jit_reg_pinned(c, r)) {
            jit_reg_writeback(c, r);   /* the call clobbers it: jit_regs_reload_caller_saved_pins */
        } else {
            jit_reg_free(c, r);
        }
    }
}

void jit_regs_reload_caller_saved_pins(JitCtx *c)
{
    for (unsigned m = c->pinned; m; m &= m - 1) {
        int r = __builtin_ctz(m);
        if (!jit_callee_saved(r)) {
            jit_reg_reload(c, r);
        }
    }
}

void jit_regs_env_access(JitCtx *c, int64_t lo, int64_t hi, bool store)
{
    for (int i = c->nkonst - 1; i >= 0; i--) {
        int64_t off = jit_slot(c, c->konst[i].t);
        if (off < hi && off + 8 > lo) {
            jit_const_store(c, i);
        }
    }
    for (int k = 0; k < JIT_NREGS; k++) {
        int r = jit_alloc_order[k];
        TCGTemp t = c->reg_temp[r];
        if (t < 0 || jit_kind(c, t) != TEMP_GLOBAL) {
            continue;
        }
        int64_t off = c->s->temps[t].env_offset;
        if (off < hi && off + 8 > lo) {
            jit_reg_writeback(c, r);
            if (store && jit_reg_pinned(c, r)) {
                jit_reg_reload(c, r);
            } else if (store) {
                jit_reg_unbind(c, r);
            }
        }
    }
}

bool jit_store_const_global(JitCtx *c, TCGTemp t, uint64_t v)
{
    if (jit_kind(c, t) != TEMP_GLOBAL || c->last_use[t] > c->cur_op || (int64_t)v != (int32_t)v ||
        jit_temp_pinned(c, t)) {
        return false;
    }
    if (c->temp_reg[t]) {
        jit_reg_unbind(c, c->temp_reg[t] - 1);   /* its old value, dirty or not, is superseded */
    }
    if (c->soft_mem) {
        /* The soft-MMU's slow paths write back registers only (jit-softmmu.c): store now. */
        jit_store_imm32(&c->b, JIT_ENV, (int32_t)jit_slot(c, t), (int32_t)v, 64);
        return true;
    }
    int k = jit_const_find(c, t);
    if (k < 0 && c->nkonst == JIT_MAX_PENDING_CONSTS) {
        jit_const_store(c, 0);
    }
    if (k < 0) {
        k = c->nkonst++;
    }
    c->konst[k] = (struct JitPendingConst){t, (int32_t)v};
    return true;
}
