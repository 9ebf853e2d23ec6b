// Mismatches the fuzzer found, as replayable reproducers (bytes + input seed, as fuzz-cpu --replay takes
// them). Fixed ones must keep agreeing with the host on every backend; the known, reported ones are
// DISABLED_ until their emitters are fixed (run them with --gtest_also_run_disabled_tests).
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/target-x86/fuzz/fuzz.h"

namespace {

struct Repro {
    const char *what;
    const char *hex;
    uint64_t seed;
};

std::vector<uint8_t> Bytes(const char *hex)
{
    std::vector<uint8_t> b;
    for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
        b.push_back((uint8_t)std::stoul(std::string(hex + i, 2), nullptr, 16));
    }
    return b;
}

void ExpectAgree(const Repro *list, size_t n)
{
    for (const char *backend : {"interp", "jit"}) {
        if (!fuzz_backend_exists(backend)) {
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            std::vector<uint8_t> b = Bytes(list[i].hex);
            EXPECT_EQ(fuzz_replay_agrees(backend, b.data(), b.size(), list[i].seed, stderr), 1)
                << list[i].what << " on " << backend;
        }
    }
}

// Found and fixed: keep them fixed.
const Repro kFixed[] = {
    {"clflushopt of an unmapped address: #PF", "660fae3c2500100000", 1},
    {"clflush of an unmapped address: #PF", "0fae3c2500100000", 1},
    {"incsspd: #UD with shadow stacks off, not a NOP", "f30faee9", 0xae84a927e4218bc7ULL},
    {"bsf r32 with a zero source keeps all 64 bits", "450fbcd0", 0xc848f480ead1a285ULL},
    {"bsr r32, [mem] with a zero source", "48c7c60200000048c7c1f81e10100fbd44713c", 0xef6367980e8fbd0aULL},
};

TEST(FuzzRegress, FixedMismatchesStayFixed) { ExpectAgree(kFixed, sizeof(kFixed) / sizeof(kFixed[0])); }

// Found and reported to the emitters' owners (see the fuzz-cpu report of issue 4).
const Repro kKnown[] = {
    {"fxrstor: FCW bit 6 reads as 1", "0fae0425400a10100fae8c24e0e6ffff", 0x7079452b3245b926ULL},
    {"non-canonical address with an RBP base: #SS, not #GP", "48c7c5a8101010660f2c748d00", 0xd1a334d799a38406ULL},
    {"#XM: no PE flag, destination unchanged", "0fae942460e6ffff660f2cc1", 0x32b8887fa7cc63dbULL},
    {"#XM: vfmsubadd213pd sets only the pre-computation flags",
     "c704254402101009b6000048c7c52800000049c7c06601e949410fae94e89eff26c6c46291a7d1", 0x8d923091cae39f88ULL},
};

TEST(FuzzRegress, DISABLED_KnownMismatches) { ExpectAgree(kKnown, sizeof(kKnown) / sizeof(kKnown[0])); }

}  // namespace
