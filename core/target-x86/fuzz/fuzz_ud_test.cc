// #UD for every unimplemented encoding: each (ISA group, mnemonic) the opcode sweep decodes but the CPU
// model does not advertise must raise #UD (SIGILL) at that instruction, on both backends, whatever the host
// itself implements (testsuite/guest/insn_ud.c checks a hand-picked list from a real guest program).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

extern "C" {
#include "core/tcg/backend.h"
}
#include "core/target-x86/fuzz/fuzz.h"

namespace {

struct Encoding {
    std::string what;
    std::vector<uint8_t> code;
};

void Collect(void *opaque, const char *group, ZydisMnemonic m, const uint8_t *code, size_t len)
{
    auto *all = static_cast<std::vector<Encoding> *>(opaque);
    all->push_back({std::string(group ? group : "?") + " " + ZydisMnemonicGetString(m),
                    std::vector<uint8_t>(code, code + len)});
}

std::string Hex(const std::vector<uint8_t> &b)
{
    std::string s;
    char x[4];
    for (uint8_t c : b) {
        snprintf(x, sizeof(x), "%02x", c);
        s += x;
    }
    return s;
}

TEST(FuzzUd, EveryUnadvertisedEncodingRaisesUd)
{
    std::vector<Encoding> all;
    size_t n = fuzz_unadvertised_encodings(Collect, &all);
    ASSERT_EQ(n, all.size());
    // The sweep finds hundreds (AVX-512, XOP, FMA4, 3DNow!, AMX, system instructions...).
    ASSERT_GT(all.size(), 500u);
    std::printf("%zu unadvertised (group, mnemonic) encodings\n", all.size());
    for (const char *name : {"interp", "jit"}) {
        const TCGBackend *backend = tcg_backend_find(name);
        if (!backend) {
            continue;
        }
        size_t checked = 0;
        for (const Encoding &e : all) {
            HarnessState in;
            harness_state_init(&in);
            HarnessResult out;
            ASSERT_EQ(harness_run_emulated(e.code.data(), e.code.size(), &in, &out, backend), 0) << out.error;
            EXPECT_EQ(out.status, HARNESS_SIGNAL) << name << ": " << e.what << " (" << Hex(e.code) << ") ran";
            EXPECT_EQ(out.vector, 6) << name << ": " << e.what << " (" << Hex(e.code) << ") raised "
                                     << out.vector << ", not #UD";
            EXPECT_EQ(out.rip, HARNESS_CODE_ADDR) << name << ": " << e.what << " faulted elsewhere";
            checked++;
        }
        EXPECT_EQ(checked, all.size());
    }
}

}  // namespace
