/*
 * Operands for Zydis encoder requests, built in one expression: the host-execution stubs and the
 * differential tester both assemble x86 instructions this way.
 */
#ifndef EMBER_X86_ZYDIS_OPERAND_H
#define EMBER_X86_ZYDIS_OPERAND_H

#include <Zydis/Zydis.h>
#include <stdint.h>

static inline ZydisEncoderOperand zop_reg(ZydisRegister reg)
{
    return (ZydisEncoderOperand){ .type = ZYDIS_OPERAND_TYPE_REGISTER, .reg.value = reg };
}

static inline ZydisEncoderOperand zop_imm(uint64_t value)
{
    return (ZydisEncoderOperand){ .type = ZYDIS_OPERAND_TYPE_IMMEDIATE, .imm.u = value };
}

/* [base + disp], size in bytes (0: implied by the instruction) */
static inline ZydisEncoderOperand zop_mem(ZydisRegister base, int64_t disp, unsigned size)
{
    return (ZydisEncoderOperand){ .type = ZYDIS_OPERAND_TYPE_MEMORY, .mem.base = base,
                                  .mem.displacement = disp, .mem.size = (ZyanU16)size };
}

#endif
