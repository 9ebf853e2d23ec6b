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

// Runs the code once under the interpreter (no optimizer) and counts the IR ops that write cc_op.
int CcOpWrites(const std::vector<uint8_t> &code)
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
    static const std::regex writes_cc_op("^\\s*\\w+ cc_op,");
    int n = 0;
    for (std::string line; std::getline(lines, line);) {
        n += std::regex_search(line, writes_cc_op);
    }
    return n;
}

TEST(FlagsLive, AnAddWhoseFlagsTheNextAddOverwritesRecordsNone)
{
    int dead = CcOpWrites({0x01, 0xd8, 0x01, 0xc8});   // add eax, ebx; add eax, ecx
    int live = CcOpWrites({0x01, 0xd8, 0x11, 0xc8});   // add eax, ebx; adc eax, ecx (reads CF)
    EXPECT_EQ(dead + 1, live);
}

TEST(FlagsLive, TheWindowReachesPastSeveralInstructions)
{
    // ror's flags are dead three instructions on (the movs write none); the last xor's are live.
    int dead = CcOpWrites({0xc1, 0xcb, 0x06, 0x89, 0xc2, 0x89, 0xd6, 0x31, 0xcb});   // ror ebx, 6; mov edx, eax;
                                                                                    // mov esi, edx; xor ebx, ecx
    int live = CcOpWrites({0xc1, 0xcb, 0x06, 0x89, 0xc2, 0x89, 0xd6, 0x11, 0xcb});   // ... adc ebx, ecx
    EXPECT_EQ(dead + 1, live);
}

}  // namespace
