/*
 * System-mode guest memory in the JIT: every guest load and store goes through the soft-MMU (TCGCPU.mem).
 * Internal to core/tcg; called by jit-compile.c for guest_ld/st/ld128/st128 when the block's CPU has a
 * soft-MMU.
 */
#include "core/tcg/cpu-exec.h"
#include "core/tcg/jit-ctx.h"

/* The slow path: the target's soft-MMU through TCGCPU.mem. */
static uint64_t jit_soft_ld(TCGCPU *cpu, uint64_t addr, uint64_t mo)
{
    return cpu->mem->load(cpu, addr, (TCGMemOp)mo);
}
static void jit_soft_st(TCGCPU *cpu, uint64_t addr, uint64_t value, uint64_t mo)
{
    cpu->mem->store(cpu, addr, value, (TCGMemOp)mo);
}
static void jit_soft_ld128(TCGCPU *cpu, uint64_t addr, uint64_t off)
{
    cpu->mem->load128(cpu, addr, (uint8_t *)cpu + off);
}
static void jit_soft_st128(TCGCPU *cpu, uint64_t addr, uint64_t off)
{
    cpu->mem->store128(cpu, addr, (const uint8_t *)cpu + off);
}

void jit_soft_mem(JitCtx *c, const TCGOp *op, int bits)
{
    unsigned mo = (unsigned)op->cargs[0];
    TCGTemp mo_t = tcg_const(c->s, op->opc == INDEX_op_guest_ld ? mo & 7 : mo & MO_SIZE);
    if (op->opc == INDEX_op_guest_ld) {
        TCGTemp args[3] = {TCG_TEMP_ENV, op->args[1], mo_t};
        jit_call_fn(c, (const void *)jit_soft_ld, 3, args, op->args[0], false, 0);
        if (bits == 32 && c->temp_reg[op->args[0]]) {
            int r = c->temp_reg[op->args[0]] - 1;
            jit_op_rr(&c->b, JOP_MOV_STORE, r, r, 32);
            c->reg_zext[r] = true;
        }
    } else if (op->opc == INDEX_op_guest_st) {
        TCGTemp args[4] = {TCG_TEMP_ENV, op->args[1], op->args[0], mo_t};
        jit_call_fn(c, (const void *)jit_soft_st, 4, args, -1, false, 0);
    } else {
        TCGTemp args[3] = {TCG_TEMP_ENV, op->args[0], tcg_const(c->s, op->cargs[0])};
        jit_call_fn(c, op->opc == INDEX_op_guest_ld128 ? (const void *)jit_soft_ld128 : (const void *)jit_soft_st128,
                    3, args, -1, false, 0);
    }
}
