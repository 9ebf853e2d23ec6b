// A sweep over every encoding of the vector and x87 families: each legacy and VEX opcode (every prefix,
// REX.W/VEX.W, VEX.L and ModRM reg field, in a register and a [rbx+disp8] form) that Zydis decodes to one
// of our instructions must build a host stub (or have its own emitter), and one form of each distinct
// shape runs natively and emulated from random inputs with the same result.
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "core/target-x86/tests/harness.h"
// The C headers use C11's _Static_assert.
#define _Static_assert static_assert
extern "C" {
#include "core/target-x86/hostexec.h"
#include "core/tcg/backend.h"
}

namespace {

bool Wanted(ZydisISAExt e)
{
    switch (e) {
    case ZYDIS_ISA_EXT_X87: case ZYDIS_ISA_EXT_MMX: case ZYDIS_ISA_EXT_SSE: case ZYDIS_ISA_EXT_SSE2:
    case ZYDIS_ISA_EXT_SSE3: case ZYDIS_ISA_EXT_SSSE3: case ZYDIS_ISA_EXT_SSE4: case ZYDIS_ISA_EXT_AVX:
    case ZYDIS_ISA_EXT_AVX2: case ZYDIS_ISA_EXT_FMA: case ZYDIS_ISA_EXT_F16C: case ZYDIS_ISA_EXT_AES:
    case ZYDIS_ISA_EXT_AVXAES: case ZYDIS_ISA_EXT_PCLMULQDQ: case ZYDIS_ISA_EXT_SHA:
        return true;
    default:
        return false;
    }
}

// Instructions that are ours but not host stubs (their own emitters), or not ours at all.
bool OwnEmitter(ZydisMnemonic m)
{
    switch (m) {
    case ZYDIS_MNEMONIC_LDMXCSR: case ZYDIS_MNEMONIC_STMXCSR: case ZYDIS_MNEMONIC_VLDMXCSR:
    case ZYDIS_MNEMONIC_VSTMXCSR: case ZYDIS_MNEMONIC_VZEROUPPER: case ZYDIS_MNEMONIC_VZEROALL:
    case ZYDIS_MNEMONIC_CRC32: case ZYDIS_MNEMONIC_POPCNT: case ZYDIS_MNEMONIC_PREFETCHNTA:
    case ZYDIS_MNEMONIC_PREFETCHT0: case ZYDIS_MNEMONIC_PREFETCHT1: case ZYDIS_MNEMONIC_PREFETCHT2:
    case ZYDIS_MNEMONIC_LFENCE: case ZYDIS_MNEMONIC_MFENCE: case ZYDIS_MNEMONIC_SFENCE:
        return true;
    default:
        return false;
    }
}

struct Form {
    std::vector<uint8_t> bytes;
    std::string text;
};

// Every candidate encoding, in order; `each` sees the bytes (padded) and the decoded instruction.
template <typename F>
void ForEachEncoding(F each)
{
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    const int prefixes[] = {-1, 0x66, 0xf2, 0xf3};
    // register form (rm = 1) and memory form [rbx + 0x10] with every reg field; then an immediate
    auto modrms = [](int op, bool x87) {
        std::vector<std::vector<uint8_t>> v;
        for (int reg = 0; reg < 8; reg++) {
            if (x87) {
                for (int rm = 0; rm < 8; rm++) v.push_back({(uint8_t)(0xc0 | reg << 3 | rm)});
            } else {
                v.push_back({(uint8_t)(0xc0 | reg << 3 | 1)});
            }
            v.push_back({(uint8_t)(0x40 | reg << 3 | 3), 0x10});
        }
        (void)op;
        return v;
    };
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    auto try_bytes = [&](std::vector<uint8_t> b) {
        b.push_back(0x5a);   // an immediate byte, if one follows
        b.push_back(0x00);
        std::vector<uint8_t> padded = b;
        padded.resize(16, 0);
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, padded.data(), padded.size(), &zi, ops))) return;
        if (!Wanted(zi.meta.isa_ext)) return;
        b.resize(zi.length);
        each(b, zi, ops);
    };
    for (int op = 0xd8; op <= 0xdf; op++) {
        for (auto &m : modrms(op, true)) {
            std::vector<uint8_t> b = {(uint8_t)op};
            b.insert(b.end(), m.begin(), m.end());
            try_bytes(b);
        }
    }
    for (int p : prefixes) {
        for (int w = 0; w < 2; w++) {
            for (int map = 1; map <= 3; map++) {
                for (int op = 0; op < 256; op++) {
                    for (auto &m : modrms(op, false)) {
                        std::vector<uint8_t> b;
                        if (p >= 0) b.push_back((uint8_t)p);
                        if (w) b.push_back(0x48);
                        b.push_back(0x0f);
                        if (map == 2) b.push_back(0x38);
                        if (map == 3) b.push_back(0x3a);
                        b.push_back((uint8_t)op);
                        b.insert(b.end(), m.begin(), m.end());
                        try_bytes(b);
                    }
                }
            }
        }
    }
    for (int mm = 1; mm <= 3; mm++) {
        for (int pp = 0; pp < 4; pp++) {
            for (int l = 0; l < 2; l++) {
                for (int w = 0; w < 2; w++) {
                    for (int op = 0; op < 256; op++) {
                        for (auto &m : modrms(op, false)) {
                            // vvvv = xmm/ymm2 (inverted), R/X/B clear (inverted set)
                            std::vector<uint8_t> b = {0xc4, (uint8_t)(0xe0 | mm),
                                                      (uint8_t)(w << 7 | (~2 & 15) << 3 | l << 2 | pp), (uint8_t)op};
                            b.insert(b.end(), m.begin(), m.end());
                            try_bytes(b);
                        }
                    }
                }
            }
        }
    }
}

X86Insn MakeInsn(const std::vector<uint8_t> &b, const ZydisDecodedInstruction &zi, const ZydisDecodedOperand *ops)
{
    X86Insn insn;
    memset(&insn, 0, sizeof(insn));
    insn.zi = zi;
    memcpy(insn.op, ops, sizeof(insn.op));
    insn.bytes = b.data();
    insn.pc = HARNESS_CODE_ADDR;
    insn.next_pc = HARNESS_CODE_ADDR + zi.length;
    return insn;
}

// Every decodable form of ours builds a stub.
TEST(VecSweepTest, EveryFormBuildsAStub)
{
    int forms = 0;
    std::set<std::string> failed;
    ForEachEncoding([&](const std::vector<uint8_t> &b, const ZydisDecodedInstruction &zi,
                        const ZydisDecodedOperand *ops) {
        if (OwnEmitter(zi.mnemonic) || zi.meta.isa_set == ZYDIS_ISA_SET_AVX2GATHER) return;
        forms++;
        X86Insn insn = MakeInsn(b, zi, ops);
        if (hostexec_stub_get(&insn) == nullptr) failed.insert(ZydisMnemonicGetString(zi.mnemonic));
    });
    EXPECT_GT(forms, 3000);
    std::string names;
    for (const auto &n : failed) names += n + " ";
    EXPECT_TRUE(failed.empty()) << failed.size() << " mnemonics without a stub: " << names;
}

void PointRegs(HarnessState *s, HarnessRng *, void *)
{
    s->regs[HR_RBX] = HARNESS_DATA_ADDR + 0x400;
    s->regs[HR_RDI] = HARNESS_DATA_ADDR + 0x800;   // MASKMOVDQU/MASKMOVQ store through [rdi]
}

class VecSweepRun : public ::testing::TestWithParam<std::string> {};

// One form of each shape runs the same natively and emulated.
TEST_P(VecSweepRun, EveryShapeAgrees)
{
    const TCGBackend *backend = static_cast<const TCGBackend *>(harness_backend_named(GetParam().c_str()));
    if (!backend) GTEST_SKIP() << "no backend called " << GetParam();
    std::set<std::tuple<int, int, int, std::string>> seen;
    std::vector<std::vector<uint8_t>> todo;
    ForEachEncoding([&](const std::vector<uint8_t> &b, const ZydisDecodedInstruction &zi,
                        const ZydisDecodedOperand *ops) {
        if (zi.meta.isa_ext == ZYDIS_ISA_EXT_AVX2 && !harness_host_has_avx()) return;
        std::string shape;
        for (int i = 0; i < zi.operand_count_visible; i++) {
            shape += std::to_string(ops[i].type) + ":" + std::to_string(ops[i].size) + ",";
        }
        if (seen.insert({zi.mnemonic, zi.encoding, zi.avx.vector_length, shape}).second) todo.push_back(b);
    });
    int bad = 0;
    std::string names;
    uint64_t seed = 1;
    for (const auto &b : todo) {
        HarnessCase c = {};
        c.code = b.data();
        c.len = b.size();
        c.backend = backend;
        int n = harness_compare_random_ex(&c, 2, seed++, PointRegs, nullptr);
        if (n) {
            bad++;
            ZydisDisassembledInstruction d;
            if (ZYAN_SUCCESS(
                    ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, HARNESS_CODE_ADDR, b.data(), b.size(), &d))) {
                names += std::string(d.text) + "; ";
            }
        }
    }
    EXPECT_GT(todo.size(), 900u);
    EXPECT_EQ(bad, 0) << names;
}

INSTANTIATE_TEST_SUITE_P(Backends, VecSweepRun, ::testing::Values("interp", "jit", "jit_cold"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
