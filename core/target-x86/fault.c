/* #GP or #SS for a faulting guest memory access (see fault.h). */
#include "core/target-x86/fault.h"

#include <string.h>

#include <Zydis/Zydis.h>

static bool x86_canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

int x86_gp_fault_vector(const CPUX86State *env)
{
    ZydisDecoder dec;
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    const uint8_t *code = (const uint8_t *)(uintptr_t)env->tcg.insn_pc;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code, ZYDIS_MAX_INSTRUCTION_LENGTH, &insn, ops))) {
        return EXCP_GP;
    }
    /* The register context Zydis computes addresses from: the GPRs in encoding order. */
    ZydisRegisterContext ctx;
    memset(&ctx, 0, sizeof(ctx));
    for (int i = 0; i < 16; i++) {
        ctx.values[ZYDIS_REGISTER_RAX + i] = env->regs[i];
    }
    ctx.values[ZYDIS_REGISTER_RIP] = env->tcg.insn_pc;   /* Zydis adds the length for RIP-relative */
    for (int i = 0; i < insn.operand_count; i++) {
        const ZydisDecodedOperand *op = &ops[i];
        if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || op->mem.type != ZYDIS_MEMOP_TYPE_MEM ||
            op->mem.segment != ZYDIS_REGISTER_SS) {
            continue;
        }
        ZyanU64 ea;
        if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddressEx(&insn, op, env->tcg.insn_pc, &ctx, &ea)) &&
            !x86_canonical(ea)) {
            return EXCP_SS;
        }
    }
    return EXCP_GP;
}
