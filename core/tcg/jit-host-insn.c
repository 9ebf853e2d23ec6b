/*
 * A helper call annotated with the host instruction that does the same work (host-insn.h), emitted
 * inline: no call, no write-back of the guest registers the block keeps in host registers, none of the
 * out-of-line runner's checks (the target annotates only instructions that need none).
 */
#include <errno.h>

#include "core/tcg/host-insn.h"
#include "core/tcg/jit-ctx.h"

static void host_insn_vec_moves(JitBuf *b, const TCGHostInsn *hi, uint32_t set, bool store)
{
    int bits = hi->vex ? 256 : 128;
    int bytes = bits / 8;
    for (int n = 0; n < 16; n++) {
        if (!(set & (1u << n))) {
            continue;
        }
        int32_t disp = (int32_t)(hi->vec_env_offset + (uint32_t)n * hi->vec_stride);
        if (hi->vex) {
            ZydisEncoderOperand r = jit_r(n, bits);
            ZydisEncoderOperand m = jit_m(JIT_ENV, disp, bytes);
            store ? JI2(b, VMOVDQU, m, r) : JI2(b, VMOVDQU, r, m);
        } else {
            jit_op_mem(b, store ? JOP_MOVDQU_STORE : JOP_MOVDQU_LOAD, n, JIT_ENV, -1, disp, JM_F3);
        }
    }
}

int jit_host_insn(JitCtx *c, const TCGOp *op)
{
    const TCGHostInsn *hi = op->host_insn;
    JitBuf *b = &c->b;
    if (c->soft_mem || hi->ngpr > TCG_HOST_INSN_MAX_GPR) {
        return -EINVAL;   /* system mode's memory is not at guest_base; the target does not annotate there */
    }
    ZydisEncoderRequest req = hi->req;
    if (hi->mem_operand >= 0) {
        if (hi->addr_arg < 0 || hi->addr_arg >= op->helper->nargs || hi->mem_operand >= req.operand_count) {
            return -EINVAL;
        }
        int rb = jit_use(c, op->call_args[hi->addr_arg]);
        req.operands[hi->mem_operand].mem.base = (ZydisRegister)(ZYDIS_REGISTER_RAX + rb);
    }
    /* Operands from call arguments first: their temps may be guest registers the env accesses below write
       back and forget. Scratch registers hold no temps, so loading one clobbers nothing. */
    for (int i = 0; i < hi->ngpr; i++) {
        if (hi->gpr[i].arg >= 0) {
            if (hi->gpr[i].arg >= op->helper->nargs || hi->gpr[i].write) {
                return -EINVAL;
            }
            jit_get(c, hi->gpr[i].host, op->call_args[hi->gpr[i].arg], 64);
        }
    }
    /* The GPR operands' env slots made current (those written: the register cache forgets them below). */
    for (int i = 0; i < hi->ngpr; i++) {
        int64_t off = hi->gpr[i].env_offset;
        if (hi->gpr[i].arg < 0) {
            jit_regs_env_access(c, off, off + 8, false);
        }
    }
    for (int i = 0; i < hi->ngpr; i++) {
        if (hi->gpr[i].arg < 0) {
            jit_op_rm(b, JOP_MOV_LOAD, hi->gpr[i].host, JIT_ENV, (int32_t)hi->gpr[i].env_offset, 64);
        }
    }
    host_insn_vec_moves(b, hi, hi->vec_read, false);
    /* Its access may fault like any guest access: a fault site, which also records the guest pc. */
    bool site = (hi->mem_operand >= 0 || hi->faults) && jit_mem_site_open(c);
    const uint8_t *at = b->p;
    jit_ins_req(b, &req);
    jit_mem_site_close(c, site, at);
    /* Nothing below changes RFLAGS before they are read. */
    for (int i = 0; i < hi->ngpr; i++) {
        if (hi->gpr[i].write) {
            int64_t off = hi->gpr[i].env_offset;
            jit_op_rm(b, JOP_MOV_STORE, hi->gpr[i].host, JIT_ENV, (int32_t)off, 64);
            jit_regs_env_access(c, off, off + 8, true);
        }
    }
    host_insn_vec_moves(b, hi, hi->vec_write, true);
    if (hi->vex) {
        JI0(b, VZEROUPPER);   /* what the SysV ABI's callers expect, and no transition penalty later */
    }
    TCGTemp ret = op->call_ret;
    if (ret >= 0 && !jit_dead_after(c, ret)) {
        if (hi->flags_out) {
            JI0(b, PUSHFQ);
            JI1(b, POP, jit_r(JR_RAX, 64));
        } else {
            jit_movi(b, JR_RAX, 0);
        }
        jit_put(c, ret, JR_RAX, false);
    }
    return 0;
}
