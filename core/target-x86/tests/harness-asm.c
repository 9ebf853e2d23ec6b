/*
 * Writing test code with Zydis's encoder (the only assembler the project may use): one request per
 * instruction, appended to a code buffer at its final address so relative branches can name targets.
 */
#include <stdarg.h>
#include <string.h>

#include "core/target-x86/tests/harness.h"

size_t harness_encode(const ZydisEncoderRequest *req, uint8_t *out, size_t cap)
{
    ZydisEncoderRequest r = *req;
    if (r.machine_mode == 0) {
        r.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    }
    ZyanUSize len = cap;
    if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&r, out, &len))) {
        return 0;
    }
    return len;
}

ZydisEncoderOperand harness_reg(ZydisRegister r)
{
    ZydisEncoderOperand op;
    memset(&op, 0, sizeof(op));
    op.type = ZYDIS_OPERAND_TYPE_REGISTER;
    op.reg.value = r;
    return op;
}

ZydisEncoderOperand harness_imm(int64_t v)
{
    ZydisEncoderOperand op;
    memset(&op, 0, sizeof(op));
    op.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
    op.imm.s = v;
    return op;
}

ZydisEncoderOperand harness_mem(unsigned size_bytes, ZydisRegister base, ZydisRegister index, unsigned scale,
                                int64_t disp)
{
    ZydisEncoderOperand op;
    memset(&op, 0, sizeof(op));
    op.type = ZYDIS_OPERAND_TYPE_MEMORY;
    op.mem.base = base;
    op.mem.index = index;
    op.mem.scale = (ZyanU8)(index == ZYDIS_REGISTER_NONE ? 0 : scale);
    op.mem.displacement = disp;
    op.mem.size = (ZyanU16)size_bytes;
    return op;
}

/*
 * LEA computes an address and reads nothing, and Zydis's encoder wants its memory operand sized as the
 * address (8 bytes, or 4 with 32-bit base/index registers), whatever the destination width. Tests naturally
 * size it like the destination, so the size is set here.
 */
static void harness_lea_size(ZydisEncoderRequest *req)
{
    for (int i = 0; i < req->operand_count; i++) {
        ZydisEncoderOperand *op = &req->operands[i];
        if (op->type != ZYDIS_OPERAND_TYPE_MEMORY) {
            continue;
        }
        ZydisRegister r = op->mem.base != ZYDIS_REGISTER_NONE ? op->mem.base : op->mem.index;
        bool addr32 = r != ZYDIS_REGISTER_NONE && ZydisRegisterGetClass(r) == ZYDIS_REGCLASS_GPR32;
        op->mem.size = addr32 ? 4 : 8;
    }
}

size_t harness_emit(HarnessCode *code, ZydisMnemonic mnemonic, int n, ...)
{
    if (code->failed || n < 0 || n > ZYDIS_ENCODER_MAX_OPERANDS) {
        code->failed = true;
        return 0;
    }
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof(req));
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.mnemonic = mnemonic;
    req.operand_count = (ZyanU8)n;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        req.operands[i] = va_arg(ap, ZydisEncoderOperand);
    }
    va_end(ap);
    if (mnemonic == ZYDIS_MNEMONIC_LEA) {
        harness_lea_size(&req);
    }
    ZyanUSize len = sizeof(code->bytes) - code->len;
    if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstructionAbsolute(&req, code->bytes + code->len, &len,
                                                            HARNESS_CODE_ADDR + code->len))) {
        code->failed = true;
        return 0;
    }
    code->len += len;
    return len;
}

void harness_emit_bytes(HarnessCode *code, const void *bytes, size_t len)
{
    if (code->failed || len > sizeof(code->bytes) - code->len) {
        code->failed = true;
        return;
    }
    memcpy(code->bytes + code->len, bytes, len);
    code->len += len;
}
