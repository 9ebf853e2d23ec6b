/*
 * Deferred additions to a pinned global: a stack engine for the guest's stack pointer.
 *
 * PUSH and POP each move RSP by a constant, and a function's prologue and epilogue are runs of them: a
 * host store or load plus an addition per instruction, the additions a chain each access waits on. Here
 * an `add t, t, const` on a pinned global (JitCtx.pin_disp_temp) emits nothing; the register then holds
 * t's value minus pin_disp. Guest accesses based on t take pin_disp into their displacement; anything
 * else that could see t or the state (an op that reads t, a helper, an env access, a branch, a label, an
 * exit, the block's end) first makes the register exact with one LEA, which leaves the host flags alone.
 * A fault at an access in between restores t as register + pin_disp (a fault-site entry, jit-sites.c),
 * and a write-back on the way computes the sum (jit_reg_writeback), so the state stays precise.
 */
#include "core/tcg/jit-ctx.h"

/* Bounds that keep every folded displacement within an int32 by a wide margin. */
#define PIN_DISP_STEP 4096
#define PIN_DISP_MAX (1 << 20)

void jit_pin_disp_settle(JitCtx *c)
{
    if (c->pin_disp_temp >= 0 && c->pin_disp != 0) {
        int r = c->temp_reg[c->pin_disp_temp] - 1;
        jit_op_mem(&c->b, 0x8d, r, r, -1, c->pin_disp, JM_W);   /* lea r, [r + pin_disp] */
        c->reg_zext[r] = false;
    }
    c->pin_disp_temp = -1;
    c->pin_disp = 0;
}

static bool pin_disp_pinned(const JitCtx *c, TCGTemp t)
{
    return t > 0 && t < TCG_MAX_TEMPS && jit_temp_pinned(c, t);   /* not yet checked by jit_op */
}

/* op is `add t, t, k` or `sub t, t, k` on a pinned t with a small constant k: its change to t, or 0. */
static int32_t pin_disp_step(const JitCtx *c, const TCGOp *op, int i)
{
    if ((op->opc != INDEX_op_add && op->opc != INDEX_op_sub) || op->type != TCG_I64 ||
        op->args[0] != op->args[1] || !pin_disp_pinned(c, op->args[0]) || c->addr_fold[i].on) {
        return 0;
    }
    const TCGTempInfo *k = &c->s->temps[op->args[2]];
    if (op->args[2] <= 0 || op->args[2] >= c->s->nb_temps || k->kind != TEMP_CONST) {
        return 0;
    }
    int64_t v = (int64_t)k->value;
    if (v < -PIN_DISP_STEP || v > PIN_DISP_STEP) {
        return 0;
    }
    return (int32_t)(op->opc == INDEX_op_add ? v : -v);
}

/* Whether op i reads t other than as the base of its guest access. */
static bool pin_disp_read_otherwise(const JitCtx *c, const TCGOp *op, int i, TCGTemp t)
{
    const TCGTemp *in;
    int n = tcg_op_inputs(op, &in);
    bool access = op->opc == INDEX_op_guest_ld || op->opc == INDEX_op_guest_st;
    for (int a = 0; a < n; a++) {
        if (in[a] == t && !(access && &in[a] == &op->args[1])) {
            return true;   /* an input, and not the address of a guest access (args[1] in both) */
        }
    }
    const TCGOpDef *def = &tcg_op_defs[op->opc];
    for (int a = 0; a < def->nb_oargs; a++) {
        if (op->args[a] == t) {
            return true;   /* written: make it exact first (the op may read it too, or fault) */
        }
    }
    const struct JitAddrFold *f = &c->addr_fold[i];
    return f->on && (f->index == t || (f->base == t && !access));
}

/* A guest access based on the deferred temp: its displacement with pin_disp added still fits an int32. */
static bool pin_disp_fits(const JitCtx *c, const TCGOp *op, int i)
{
    const struct JitAddrFold *f = &c->addr_fold[i];
    TCGTemp base = f->on ? f->base : op->args[1];
    int64_t disp = (f->on ? f->disp : 0) + (int64_t)jit_pin_disp_of(c, base);
    return disp >= INT32_MIN && disp <= INT32_MAX;
}

bool jit_pin_disp_absorb_op(JitCtx *c, int i)
{
    const TCGOp *op = &c->s->ops[i];
    int32_t step = c->soft_mem ? 0 : pin_disp_step(c, op, i);
    if (step != 0) {
        TCGTemp t = op->args[0];
        int64_t sum = (t == c->pin_disp_temp ? (int64_t)c->pin_disp : 0) + step;
        if (t != c->pin_disp_temp || sum < -PIN_DISP_MAX || sum > PIN_DISP_MAX) {
            jit_pin_disp_settle(c);
            sum = step;
        }
        c->pin_disp_temp = t;
        c->pin_disp = (int32_t)sum;
        c->reg_dirty[c->temp_reg[t] - 1] = true;   /* the state's copy is stale now */
        return true;
    }
    TCGTemp t = c->pin_disp_temp;
    if (t < 0 || op->opc == INDEX_op_insn_start) {
        return false;
    }
    const TCGOpDef *def = &tcg_op_defs[op->opc];
    bool access = op->opc == INDEX_op_guest_ld || op->opc == INDEX_op_guest_st;
    bool observes = access ? c->cross_branches   /* no fault site then: the state is written back */
                           : (def->flags & (OPF_SIDE_EFFECTS | OPF_CALL | OPF_BB_END)) || op->opc == INDEX_op_ld;
    if (observes || pin_disp_read_otherwise(c, op, i, t) || (access && !pin_disp_fits(c, op, i))) {
        jit_pin_disp_settle(c);
    }
    return false;
}

int32_t jit_pin_disp_of(const JitCtx *c, TCGTemp base)
{
    return base == c->pin_disp_temp ? c->pin_disp : 0;
}
