/*
 * Instructions the operand-form probe cannot produce, built by hand on top of the generator's helpers:
 * the 4-operand VEX blends (Zydis 4.0's encoder refuses them) and the AVX2 gathers (VSIB operands).
 */
#include <string.h>

#include "core/target-x86/fuzz/fuzz-internal.h"
#include "core/target-x86/zydis-operand.h"

/*
 * Zydis 4.0's encoder refuses the 4-operand VBLENDVPS/VBLENDVPD/VPBLENDVB (their fourth register is encoded
 * in an immediate's upper nibble), so they are built from their immediate-blend siblings, which share the
 * VEX map (0F3A), the operand layout and the position of the immediate: opcode 0C/0D/0E becomes 4A/4B/4C
 * and the immediate names the fourth register.
 */
static const struct { ZydisMnemonic m, sibling; uint8_t from, to; } fuzz_blendv[] = {
    {ZYDIS_MNEMONIC_VBLENDVPS, ZYDIS_MNEMONIC_VBLENDPS, 0x0c, 0x4a},
    {ZYDIS_MNEMONIC_VBLENDVPD, ZYDIS_MNEMONIC_VBLENDPD, 0x0d, 0x4b},
    {ZYDIS_MNEMONIC_VPBLENDVB, ZYDIS_MNEMONIC_VPBLENDW, 0x0e, 0x4c},
};

ZydisMnemonic fuzz_form_source(ZydisMnemonic m)
{
    for (size_t i = 0; i < sizeof(fuzz_blendv) / sizeof(fuzz_blendv[0]); i++) {
        if (fuzz_blendv[i].m == m) {
            return fuzz_blendv[i].sibling;
        }
    }
    return m;
}

bool fuzz_patch_blendv(ZydisMnemonic m, uint8_t *insn, size_t len)
{
    for (size_t i = 0; i < sizeof(fuzz_blendv) / sizeof(fuzz_blendv[0]); i++) {
        if (fuzz_blendv[i].m != m) {
            continue;
        }
        for (size_t k = 0; k + 3 < len; k++) {
            if (insn[k] == 0xc4 && insn[k + 3] == fuzz_blendv[i].from) {
                insn[k + 3] = fuzz_blendv[i].to;
                insn[len - 1] &= 0xf0;   /* the register number; bits 3:0 are ignored, kept zero */
                return true;
            }
        }
        return false;
    }
    return true;
}

/*
 * AVX2 gathers: their VSIB memory operand indexes with a vector register, which the form probe does not
 * offer. Built here: the index register is loaded with small signed indexes (stored to a scratch slot,
 * then VMOVDQU), the base points into the data buffer, and destination, index and mask are distinct
 * (the same register twice is #UD).
 */
static const struct { ZydisMnemonic m; uint8_t idx_size, elem_size; } fuzz_gathers[] = {
    {ZYDIS_MNEMONIC_VGATHERDPS, 4, 4}, {ZYDIS_MNEMONIC_VPGATHERDD, 4, 4},
    {ZYDIS_MNEMONIC_VGATHERDPD, 4, 8}, {ZYDIS_MNEMONIC_VPGATHERDQ, 4, 8},
    {ZYDIS_MNEMONIC_VGATHERQPS, 8, 4}, {ZYDIS_MNEMONIC_VPGATHERQD, 8, 4},
    {ZYDIS_MNEMONIC_VGATHERQPD, 8, 8}, {ZYDIS_MNEMONIC_VPGATHERQQ, 8, 8},
};

bool fuzz_is_gather(ZydisMnemonic m)
{
    for (size_t i = 0; i < sizeof(fuzz_gathers) / sizeof(fuzz_gathers[0]); i++) {
        if (fuzz_gathers[i].m == m) {
            return true;
        }
    }
    return false;
}

/* The gather request (the unit's setup is emitted into g). */
bool fuzz_gather_request(FuzzGen *g, ZydisMnemonic m, ZydisEncoderRequest *req)
{
    size_t k = 0;
    while (fuzz_gathers[k].m != m) {
        k++;
    }
    unsigned isz = fuzz_gathers[k].idx_size, esz = fuzz_gathers[k].elem_size;
    bool wide = fuzz_rand(g, 2);
    /* Register widths: the wider of index and data spans 256 bits in the wide form. */
    bool idx_ymm = wide && !(isz == 4 && esz == 8);
    bool dst_ymm = wide && !(isz == 8 && esz == 4);
    int d = (int)fuzz_rand(g, 16), i, msk;
    do {
        i = (int)fuzz_rand(g, 16);
    } while (i == d);
    do {
        msk = (int)fuzz_rand(g, 16);
    } while (msk == d || msk == i);
    /* Indexes in [-16, 47], stored at a scratch slot and loaded into the index register. */
    uint64_t scratch = HARNESS_DATA_ADDR + HARNESS_DATA_SIZE - 64;
    for (unsigned off = 0; off < 32; off += isz) {
        int32_t v = (int32_t)fuzz_rand(g, 64) - 16;
        fuzz_emit_store32(g, scratch + off, (uint32_t)v, 32);
        if (isz == 8) {
            fuzz_emit_store32(g, scratch + off + 4, v < 0 ? 0xffffffffu : 0, 32);
        }
    }
    ZydisEncoderRequest mv;
    memset(&mv, 0, sizeof(mv));
    mv.mnemonic = ZYDIS_MNEMONIC_VMOVDQU;
    mv.operand_count = 2;
    mv.operands[0] = zop_reg((ZydisRegister)((idx_ymm ? ZYDIS_REGISTER_YMM0 : ZYDIS_REGISTER_XMM0) + i));
    mv.operands[1].type = ZYDIS_OPERAND_TYPE_MEMORY;
    mv.operands[1].mem.displacement = (int64_t)scratch;
    mv.operands[1].mem.size = idx_ymm ? 32 : 16;
    if (!fuzz_emit_req(g, &mv)) {
        return false;
    }
    int base = fuzz_pick_free(g, g->setup_regs);
    uint64_t target = HARNESS_DATA_ADDR + 0x800 + (fuzz_rand(g, 0x800) & ~7ULL);
    int64_t disp = fuzz_rand(g, 2) ? (int8_t)fuzz_rand(g, 256) : 0;
    fuzz_emit_load(g, base, target - (uint64_t)disp);
    memset(req, 0, sizeof(*req));
    req->mnemonic = m;
    req->operand_count = 3;
    req->operands[0] = zop_reg((ZydisRegister)((dst_ymm ? ZYDIS_REGISTER_YMM0 : ZYDIS_REGISTER_XMM0) + d));
    req->operands[1].type = ZYDIS_OPERAND_TYPE_MEMORY;
    req->operands[1].mem.base = fuzz_gpr(64, base);
    req->operands[1].mem.index = (ZydisRegister)((idx_ymm ? ZYDIS_REGISTER_YMM0 : ZYDIS_REGISTER_XMM0) + i);
    req->operands[1].mem.scale = (ZyanU8)(1 << fuzz_rand(g, 4));
    req->operands[1].mem.displacement = disp;
    req->operands[1].mem.size = (ZyanU16)esz;
    req->operands[2] = zop_reg((ZydisRegister)((dst_ymm ? ZYDIS_REGISTER_YMM0 : ZYDIS_REGISTER_XMM0) + msk));
    return !g->failed;
}
