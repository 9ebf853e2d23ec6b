// The vCPU loop (vcpu.c) and run control (runstate.c) against a fake accelerator: exits reach the device
// buses, HLT sleeps until a request, INIT/SIPI start an AP in real mode, a triple fault resets the
// machine, stop/cont park and resume every vCPU.
#include "system/pc/tests/fake-machine.h"

namespace {

struct TestDevice {
    std::vector<std::pair<uint64_t, uint64_t>> writes;   // offset, value
    uint64_t read_value = 0;
};

uint64_t DevRead(void *opaque, uint64_t, unsigned) { return static_cast<TestDevice *>(opaque)->read_value; }
void DevWrite(void *opaque, uint64_t offset, uint64_t value, unsigned)
{
    static_cast<TestDevice *>(opaque)->writes.push_back({ offset, value });
}
const IoOps dev_ops = { DevRead, DevWrite };

size_t Writes(FakeMachine &fm, TestDevice &dev)
{
    machine_lock(&fm.m);
    size_t n = dev.writes.size();
    machine_unlock(&fm.m);
    return n;
}

TEST(Vcpu, BspLoadsBootStateAndApsWaitForSipi)
{
    FakeMachine fm(2);
    fm.Start();
    ASSERT_TRUE(fm.RunUntil([&] { return fm.Runs(0) >= 1; }));
    EXPECT_EQ(fm.LastLoaded(0).rip, 0x100000u);
    g_usleep(50 * 1000);
    EXPECT_EQ(fm.Runs(1), 0) << "an AP runs only after INIT/SIPI";
    EXPECT_TRUE(fm.m.vcpus[1].wait_for_sipi);
}

TEST(Vcpu, IoAndMmioExitsReachTheBuses)
{
    FakeMachine fm(1);
    TestDevice port_dev, mmio_dev;
    port_dev.read_value = 0xBEEF;
    mmio_dev.read_value = 0x1122334455667788ull;
    ASSERT_EQ(iobus_add(&fm.m.pio, "test", 0x80, 4, &dev_ops, &port_dev), 0);
    ASSERT_EQ(iobus_add(&fm.m.mmio, "test", 0xFED00000, 0x1000, &dev_ops, &mmio_dev), 0);
    uint8_t out_byte = 0x42;
    const char str[] = "abc";
    fm.Script(0, FakeMachine::Io(0x81, 1, true, 1, &out_byte));
    fm.Script(0, FakeMachine::Io(0x80, 2, false, 1, nullptr));
    fm.Script(0, FakeMachine::Io(0x80, 1, true, 3, str));   // rep outsb
    fm.Script(0, FakeMachine::Mmio(0xFED00010, 4, true, 0xCAFEF00D));
    fm.Script(0, FakeMachine::Mmio(0xFED00008, 8, false, 0));
    fm.Start();
    ASSERT_TRUE(fm.RunUntil([&] { return fm.Runs(0) >= 6; }));
    machine_lock(&fm.m);
    ASSERT_EQ(port_dev.writes.size(), 4u);
    EXPECT_EQ(port_dev.writes[0], (std::pair<uint64_t, uint64_t>{ 1, 0x42 }));
    EXPECT_EQ(port_dev.writes[1].second, (uint64_t)'a');
    EXPECT_EQ(port_dev.writes[2].second, (uint64_t)'b');
    EXPECT_EQ(port_dev.writes[3].second, (uint64_t)'c');
    ASSERT_EQ(mmio_dev.writes.size(), 1u);
    EXPECT_EQ(mmio_dev.writes[0], (std::pair<uint64_t, uint64_t>{ 0x10, 0xCAFEF00D }));
    machine_unlock(&fm.m);
    uint64_t mmio_read;
    {
        std::lock_guard<std::mutex> lk(fm.cpus[0].mu);
        memcpy(&mmio_read, fm.cpus[0].completed_mmio, 8);
    }
    EXPECT_EQ(mmio_read, 0x1122334455667788ull);
}

TEST(Vcpu, InExitFillsTheData)
{
    FakeMachine fm(1);
    TestDevice dev;
    dev.read_value = 0xBEEF;
    ASSERT_EQ(iobus_add(&fm.m.pio, "test", 0x80, 4, &dev_ops, &dev), 0);
    fm.Script(0, FakeMachine::Io(0x80, 2, false, 2, nullptr));   // rep insw, 2 words
    fm.Start();
    ASSERT_TRUE(fm.RunUntil([&] { return fm.Runs(0) >= 2; }));
    std::lock_guard<std::mutex> lk(fm.cpus[0].mu);
    ASSERT_EQ(fm.cpus[0].completed_io.size(), 4u);
    EXPECT_EQ(fm.cpus[0].completed_io, (std::vector<uint8_t>{ 0xEF, 0xBE, 0xEF, 0xBE }));
}

TEST(Vcpu, UnclaimedPortsReadAllOnes)
{
    FakeMachine fm(1);
    fm.Script(0, FakeMachine::Io(0x1234, 4, false, 1, nullptr));
    fm.Start();
    ASSERT_TRUE(fm.RunUntil([&] { return fm.Runs(0) >= 2; }));
    std::lock_guard<std::mutex> lk(fm.cpus[0].mu);
    EXPECT_EQ(fm.cpus[0].completed_io, (std::vector<uint8_t>{ 0xFF, 0xFF, 0xFF, 0xFF }));
}

TEST(Vcpu, HaltSleepsUntilAnInterruptIsPending)
{
    FakeMachine fm(1);
    fake_irq_pending[0] = false;
    fm.Script(0, FakeMachine::Simple(ACCEL_EXIT_HALT));
    fm.Start();
    ASSERT_TRUE(fm.RunUntil([&] { return fm.m.vcpus[0].halted; }));
    int runs = fm.Runs(0);
    fm.Request(0, VCPU_REQ_INTERRUPT);   // a request alone, with nothing pending at the controller
    g_usleep(50 * 1000);
    EXPECT_EQ(fm.Runs(0), runs) << "woke without a pending interrupt";
    machine_lock(&fm.m);
    fake_irq_pending[0] = true;
    vcpu_request(&fm.m.vcpus[0], VCPU_REQ_INTERRUPT);
    machine_unlock(&fm.m);
    ASSERT_TRUE(fm.RunUntil([&] { return fm.Runs(0) > runs; }));
    EXPECT_FALSE(fm.m.vcpus[0].halted);
    fake_irq_pending[0] = false;
}

TEST(Vcpu, HaltWithInterruptsOffWakesOnlyOnNmi)
{
    FakeMachine fm(1);
    fm.cpus[0].rflags = 0x2;   // IF=0
    fm.Script(0, FakeMachine::Simple(ACCEL_EXIT_HALT));
    fm.Start();
    ASSERT_TRUE(fm.RunUntil([&] { return fm.m.vcpus[0].halted; }));
    int runs = fm.Runs(0);
    machine_lock(&fm.m);
    fake_irq_pending[0] = true;
    vcpu_request(&fm.m.vcpus[0], VCPU_REQ_INTERRUPT);
    machine_unlock(&fm.m);
    g_usleep(50 * 1000);
    EXPECT_EQ(fm.Runs(0), runs) << "a maskable interrupt ended HLT with IF=0";
    fm.Request(0, VCPU_REQ_NMI);
    ASSERT_TRUE(fm.RunUntil([&] { return fm.Runs(0) > runs; }));
    fake_irq_pending[0] = false;
}

TEST(Vcpu, InitSipiStartsAnApInRealMode)
{
    FakeMachine fm(2);
    fm.Start();
    ASSERT_TRUE(fm.RunUntil([&] { return fm.Runs(0) >= 1 && fm.Loaded(1) >= 1; }));
    machine_lock(&fm.m);
    vcpu_request(&fm.m.vcpus[1], VCPU_REQ_INIT);
    machine_unlock(&fm.m);
    g_usleep(20 * 1000);
    EXPECT_EQ(fm.Runs(1), 0) << "INIT alone must not start an AP";
    machine_lock(&fm.m);
    fm.m.vcpus[1].sipi_vector = 0x9A;
    vcpu_request(&fm.m.vcpus[1], VCPU_REQ_SIPI);
    machine_unlock(&fm.m);
    ASSERT_TRUE(fm.RunUntil([&] { return fm.Runs(1) >= 1; }));
    X86VcpuState s = fm.LastLoaded(1);
    EXPECT_EQ(s.cs.selector, 0x9A00);
    EXPECT_EQ(s.cs.base, 0x9A000u);
    EXPECT_EQ(s.rip, 0u);
    EXPECT_EQ(s.cr0 & X86_CR0_PE, 0u);
    EXPECT_FALSE(fm.m.vcpus[1].wait_for_sipi);
    // A second SIPI (Linux sends two) is ignored once the AP runs.
    size_t loads = fm.Loaded(1);
    fm.Request(1, VCPU_REQ_SIPI);
    g_usleep(20 * 1000);
    EXPECT_EQ(fm.Loaded(1), loads);
}

TEST(Vcpu, TripleFaultResetsTheMachine)
{
    FakeMachine fm(2);
    fm.Start();
    ASSERT_TRUE(fm.RunUntil([&] { return fm.Runs(0) >= 1; }));
    size_t loads = fm.Loaded(0);
    fm.Script(0, FakeMachine::Simple(ACCEL_EXIT_SHUTDOWN));
    ASSERT_TRUE(fm.RunUntil([&] { return fm.HasEvent("RESET"); }));
    EXPECT_EQ(fm.events.back().data, "{\"guest\": true, \"reason\": \"guest-reset\"}");
    EXPECT_EQ(fm.resets, 1);
    ASSERT_TRUE(fm.RunUntil([&] { return fm.Loaded(0) > loads; }));
    EXPECT_EQ(fm.LastLoaded(0).rip, 0x100000u) << "the BSP restarts from the boot state";
    EXPECT_TRUE(fm.m.vcpus[1].wait_for_sipi);
    machine_lock(&fm.m);
    EXPECT_STREQ(pc_vm_status(&fm.m), "running");
    machine_unlock(&fm.m);
}

TEST(Vcpu, TripleFaultWithNoRebootShutsDown)
{
    FakeMachine fm(1, /*no_reboot=*/true);
    fm.Start();
    fm.Script(0, FakeMachine::Simple(ACCEL_EXIT_SHUTDOWN));
    ASSERT_TRUE(fm.RunUntil([&] { return fm.HasEvent("SHUTDOWN"); }));
    EXPECT_EQ(fm.events.back().data, "{\"guest\": true, \"reason\": \"guest-reset\"}");
    EXPECT_FALSE(fm.HasEvent("RESET"));
    EXPECT_EQ(fm.resets, 0);
    EXPECT_FALSE(g_main_loop_is_running(pc_run_loop(&fm.m)));
}

TEST(Vcpu, PoweroffExitShutsDown)
{
    FakeMachine fm(1);
    fm.Start();
    fm.Script(0, FakeMachine::Simple(ACCEL_EXIT_POWEROFF));
    ASSERT_TRUE(fm.RunUntil([&] { return fm.HasEvent("SHUTDOWN"); }));
    EXPECT_EQ(fm.events.back().data, "{\"guest\": true, \"reason\": \"guest-shutdown\"}");
    machine_lock(&fm.m);
    EXPECT_STREQ(pc_vm_status(&fm.m), "shutdown");
    machine_unlock(&fm.m);
}

TEST(Vcpu, StopParksEveryVcpuAndContResumes)
{
    FakeMachine fm(2);
    TestDevice dev;
    ASSERT_EQ(iobus_add(&fm.m.pio, "test", 0x80, 1, &dev_ops, &dev), 0);
    fm.Start();
    ASSERT_TRUE(fm.RunUntil([&] { return fm.Runs(0) >= 1; }));
    machine_lock(&fm.m);
    pc_vm_stop(&fm.m);   // returns with every vCPU parked
    EXPECT_STREQ(pc_vm_status(&fm.m), "paused");
    EXPECT_FALSE(pc_vm_running(&fm.m));
    machine_unlock(&fm.m);
    EXPECT_TRUE(fm.HasEvent("STOP"));
    uint8_t b = 1;
    fm.Script(0, FakeMachine::Io(0x80, 1, true, 1, &b));
    g_usleep(50 * 1000);
    EXPECT_EQ(Writes(fm, dev), 0u) << "a stopped vCPU ran";
    machine_lock(&fm.m);
    pc_vm_cont(&fm.m);
    EXPECT_STREQ(pc_vm_status(&fm.m), "running");
    machine_unlock(&fm.m);
    EXPECT_TRUE(fm.HasEvent("RESUME"));
    ASSERT_TRUE(fm.RunUntil([&] { return Writes(fm, dev) == 1; }));
}

TEST(Vcpu, StartPausedIsPrelaunchUntilCont)
{
    FakeMachine fm(1);
    fm.Start(/*paused=*/true);
    g_usleep(30 * 1000);
    EXPECT_EQ(fm.Runs(0), 0);
    machine_lock(&fm.m);
    EXPECT_STREQ(pc_vm_status(&fm.m), "prelaunch");
    pc_vm_cont(&fm.m);
    machine_unlock(&fm.m);
    ASSERT_TRUE(fm.RunUntil([&] { return fm.Runs(0) >= 1; }));
}

TEST(Vcpu, PowerdownPressesTheButton)
{
    FakeMachine fm(1);
    fm.Start();
    machine_lock(&fm.m);
    machine_request_powerdown(&fm.m);
    machine_unlock(&fm.m);
    EXPECT_EQ(fm.power_button_presses, 1);
    EXPECT_TRUE(fm.HasEvent("POWERDOWN"));
}

TEST(Vcpu, AcceleratorErrorEndsWithFailure)
{
    FakeMachine fm(1);
    AccelExit e = FakeMachine::Simple(ACCEL_EXIT_ERROR);
    strcpy(e.error, "test error");
    fm.Script(0, e);
    fm.Start();
    ASSERT_TRUE(fm.RunUntil([&] { return fm.HasEvent("SHUTDOWN"); }));
    EXPECT_EQ(pc_run_exit_code(&fm.m), 1);
}

}  // namespace
