// Each test kernel prints one line per check it passes and powers off through ACPI S5; the test compares
// COM1's output with the lines it must print, under both backends.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "system/pc/accel-tcg/tests/kernel-driver.h"

namespace {

struct KernelRun {
    int result;
    std::string out;
};

KernelRun RunKernel(const char *name, int timeout_ms = 20000)
{
    static char out[65536], err[512];
    std::string path = std::string("testsuite/kernels/") + name + ".bin";
    int r = kd_run_kernel(path.c_str(), 64ull << 20, timeout_ms, out, sizeof(out), err, sizeof(err));
    if (r == KD_ERROR) {
        ADD_FAILURE() << "driver error: " << err;
    }
    return KernelRun{r, out};
}

class KernelTest : public ::testing::TestWithParam<const char *> {
protected:
    void SetUp() override { setenv("EMBER_TCG_BACKEND", GetParam(), 1); }
};

TEST_P(KernelTest, Serial)
{
    KernelRun r = RunKernel("serial");
    EXPECT_EQ(r.result, KD_POWEROFF);
    EXPECT_EQ(r.out,
              "hello from the serial kernel\n"
              "multiboot magic ok\n"
              "multiboot info ok\n"
              "arithmetic ok\n"
              "rep movsb ok\n"
              "rep outsb ok\n"
              "powering off\n");
}

TEST_P(KernelTest, LongMode)
{
    KernelRun r = RunKernel("longmode");
    EXPECT_EQ(r.result, KD_POWEROFF);
    EXPECT_EQ(r.out,
              "32-bit entry ok\n"
              "long mode ok\n"
              "64-bit arithmetic ok\n"
              "int 0x80 from cpl 0 ok\n"
              "page fault (not present) ok\n"
              "page fault (write protect) ok\n"
              "page fault (no-execute) ok\n"
              "int 0x80 from cpl 3 on the tss stack ok\n"
              "syscall from cpl 3 ok\n"
              "gp from cpl 3 ok\n"
              "powering off\n");
}

TEST_P(KernelTest, ProtectedMode)
{
    KernelRun r = RunKernel("pmode");
    EXPECT_EQ(r.result, KD_POWEROFF);
    EXPECT_EQ(r.out,
              "protected mode ok\n"
              "paging on\n"
              "sse, locked ops and fxsave ok\n"
              "self-modifying code, lsl/lar/verw ok\n"
              "page fault ok\n"
              "gp on a bad selector ok\n"
              "np on a not-present segment ok\n"
              "int 0x30 from cpl 0 ok\n"
              "int 0x30 from cpl 3 on the tss stack ok\n"
              "gp from cli at cpl 3 ok\n"
              "powering off\n");
}

TEST_P(KernelTest, RealMode)
{
    KernelRun r = RunKernel("realmode");
    EXPECT_EQ(r.result, KD_POWEROFF);
    EXPECT_EQ(r.out,
              "protected mode ok\n"
              "real mode ok\n"
              "in the real-mode interrupt handler\n"
              "int 0x40 through the ivt ok\n"
              "real-mode segment arithmetic ok\n"
              "far call ok\n"
              "back in protected mode ok\n"
              "powering off\n");
}

TEST_P(KernelTest, TripleFaultShutsDown)
{
    KernelRun r = RunKernel("triple");
    EXPECT_EQ(r.result, KD_TRIPLE_FAULT);
    EXPECT_EQ(r.out, "about to triple fault\n");
}

TEST_P(KernelTest, TimerInterrupts)
{
    KernelRun r = RunKernel("timer");
    EXPECT_EQ(r.result, KD_POWEROFF);
    EXPECT_EQ(r.out,
              "timer kernel\n"
              "pit through the pic ok\n"
              "apic timer ok\n"
              "powering off\n");
}

INSTANTIATE_TEST_SUITE_P(Backends, KernelTest, ::testing::Values("interp", "jit"));

}  // namespace
