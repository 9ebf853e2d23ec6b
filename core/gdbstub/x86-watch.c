/* Memory operands of one instruction, for read/access watchpoints (see x86-watch.h). */
#include <string.h>

#include "core/gdbstub/x86-watch.h"

/* A general register's value at its own width (EAX in 32-bit addressing is the low half of RAX). */
static bool gpr_value(const CPUX86State *env, ZydisMachineMode mode, ZydisRegister reg, uint64_t *v)
{
    ZydisRegister big = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, reg);
    if (big < ZYDIS_REGISTER_RAX || big > ZYDIS_REGISTER_R15) {
        return false;
    }
    uint64_t x = env->regs[big - ZYDIS_REGISTER_RAX];   /* Zydis orders them by encoding, as ember does */
    unsigned width = ZydisRegisterGetWidth(mode, reg);
    *v = width >= 64 ? x : (x & ((1ull << width) - 1));
    return true;
}

static int seg_index(ZydisRegister seg)
{
    switch (seg) {
    case ZYDIS_REGISTER_ES: return R_ES;
    case ZYDIS_REGISTER_CS: return R_CS;
    case ZYDIS_REGISTER_SS: return R_SS;
    case ZYDIS_REGISTER_DS: return R_DS;
    case ZYDIS_REGISTER_FS: return R_FS;
    case ZYDIS_REGISTER_GS: return R_GS;
    default: return -1;
    }
}

int gdb_x86_mem_accesses(const CPUX86State *env, ZydisMachineMode mode, const uint8_t *code, size_t len,
                         uint64_t pc, GdbX86Access *out)
{
    ZydisStackWidth sw = mode == ZYDIS_MACHINE_MODE_LONG_64 ? ZYDIS_STACK_WIDTH_64
                         : (mode == ZYDIS_MACHINE_MODE_LEGACY_16 || mode == ZYDIS_MACHINE_MODE_REAL_16)
                             ? ZYDIS_STACK_WIDTH_16 : ZYDIS_STACK_WIDTH_32;
    ZydisDecoder dec;
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderInit(&dec, mode, sw)) ||
        !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, code, len, &insn, ops))) {
        return 0;
    }
    bool long64 = mode == ZYDIS_MACHINE_MODE_LONG_64;
    int n = 0;
    for (unsigned i = 0; i < insn.operand_count && n < GDB_X86_MAX_ACCESSES; i++) {
        const ZydisDecodedOperand *op = &ops[i];
        if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || op->mem.type != ZYDIS_MEMOP_TYPE_MEM) {
            continue;   /* LEA's address generation and MIB operands touch no memory */
        }
        uint64_t addr = (uint64_t)op->mem.disp.value, v;
        if (op->mem.base == ZYDIS_REGISTER_RIP || op->mem.base == ZYDIS_REGISTER_EIP) {
            addr += pc + insn.length;
        } else if (op->mem.base != ZYDIS_REGISTER_NONE) {
            if (!gpr_value(env, mode, op->mem.base, &v)) {
                continue;
            }
            addr += v;
        }
        if (op->mem.index != ZYDIS_REGISTER_NONE && gpr_value(env, mode, op->mem.index, &v)) {
            addr += v * (op->mem.scale ? op->mem.scale : 1);
        }
        if (insn.address_width < 64) {
            addr &= insn.address_width == 16 ? 0xffffu : 0xffffffffu;
        }
        int seg = seg_index(op->mem.segment);
        if (seg >= 0 && (!long64 || seg == R_FS || seg == R_GS)) {
            addr += env->seg_base[seg];
        }
        if (!long64) {
            addr &= 0xffffffffu;
        }
        uint64_t bytes = op->size / 8;
        out[n] = (GdbX86Access){
            .addr = addr,
            .len = bytes ? bytes : 1,
            .read = (op->actions & ZYDIS_OPERAND_ACTION_MASK_READ) != 0,
            .write = (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) != 0,
        };
        n++;
    }
    return n;
}
