// Dead-flag elimination (flags-live.c) does its work: an instruction whose flags the next one overwrites
// before anything reads them records none in the IR, and one whose flags are read keeps them. The results
// are compared with native runs elsewhere; this checks that the translation is the lean one, which a
// broken look-ahead (that sees no instruction after the current one) would silently give up.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/target-x86/tests/harness.h"
extern "C" {
#include "core/tcg/cpu-exec.h"
}

namespace {

// Runs the code once under the interpreter (no optimizer) and counts the IR ops that write the lazy flag
// state (cc_dst, cc_src, cc_src2, cc_op).
int FlagStateWrites(const std::vector<uint8_t> &code)
{
    char *text = nullptr;
    size_t size = 0;
    FILE *log = open_memstream(&text, &size);
    EXPECT_NE(log, nullptr);
    HarnessState *in = static_cast<HarnessState *>(aligned_alloc(64, sizeof(HarnessState)));
    HarnessResult *out = static_cast<HarnessResult *>(aligned_alloc(64, sizeof(HarnessResult)));
    harness_state_init(in);
    harness_emu_set_log(log, TCG_LOG_OP);
    int err = harness_run_emulated(code.data(), code.size(), in, out, harness_backend_named("interp"));
    harness_emu_set_log(nullptr, 0);
    fclose(log);
    EXPECT_EQ(err, 0) << out->error;
    EXPECT_EQ(out->status, HARNESS_DONE);
    std::istringstream lines(text ? text : "");
    free(text);
    free(in);
    free(out);
    static const std::regex writes_flag_state("^\\s*\\w+ cc_(dst|src|src2|op),");
    int n = 0;
    for (std::string line; std::getline(lines, line);) {
        n += std::regex_search(line, writes_flag_state);
    }
    return n;
}

TEST(FlagsLive, AnAddWhoseFlagsTheNextAddOverwritesRecordsNone)
{
    // add eax, ebx; add eax, ecx: no more than the second add alone.
    EXPECT_EQ(FlagStateWrites({0x01, 0xd8, 0x01, 0xc8}), FlagStateWrites({0x01, 0xc8}));
    // add eax, ebx; adc eax, ecx: the adc reads CF, so the first add records its flags too.
    EXPECT_GT(FlagStateWrites({0x01, 0xd8, 0x11, 0xc8}), FlagStateWrites({0x11, 0xc8}));
}

TEST(FlagsLive, TheWindowReachesPastSeveralInstructions)
{
    // ror ebx, 6; mov edx, eax; mov esi, edx; then xor ebx, ecx (writes every flag) or adc ebx, ecx (reads
    // CF): the movs write no flags, so the window must see three instructions ahead.
    const std::vector<uint8_t> ror = {0xc1, 0xcb, 0x06}, movs = {0x89, 0xc2, 0x89, 0xd6};
    const std::vector<uint8_t> xor_ = {0x31, 0xcb}, adc = {0x11, 0xcb};
    auto cat = [](std::vector<std::vector<uint8_t>> parts) {
        std::vector<uint8_t> all;
        for (const auto &p : parts) all.insert(all.end(), p.begin(), p.end());
        return all;
    };
    EXPECT_EQ(FlagStateWrites(cat({ror, movs, xor_})), FlagStateWrites(cat({movs, xor_})));
    EXPECT_GT(FlagStateWrites(cat({ror, movs, adc})), FlagStateWrites(cat({movs, adc})));
}

}  // namespace
