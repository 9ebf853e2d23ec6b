// The fast paths under KVM at the accelerator's level: ioeventfd (a guest write signals an eventfd, no exit;
// deassigned, the exit comes back), irqfd on MSI routes (the route's message reaches the local APIC, and a
// rewritten route the new vector), kicks out of an in-kernel HLT (QMP stop), and the errors users see when
// the KVM device is missing or is not KVM.
#include "system/kvm/tests/kvm-test-fixture.h"

#include <sys/ioctl.h>

#include <atomic>
#include <cerrno>
#include <chrono>

extern "C" {
// With KVM the irqchip is in the kernel: user-space APICs are never asked (see kvm_accel_test.cc).
void pc_apic_deliver_msi(Machine *, uint64_t, uint32_t) {}
}

namespace {

using KvmIrqTest = KvmAccelTest;

uint64_t EventCount(int fd)
{
    uint64_t count = 0;
    return read(fd, &count, sizeof(count)) == sizeof(count) ? count : 0;
}

// The local APIC's IRR bit for vector, as KVM holds it (KVM_GET_LAPIC: the APIC page, IRR at 0x200).
bool IrrHas(int vcpu_fd, unsigned vector)
{
    kvm_lapic_state lapic;
    if (ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic) < 0) {
        ADD_FAILURE() << "KVM_GET_LAPIC: " << strerror(errno);
        return false;
    }
    uint32_t word;
    memcpy(&word, lapic.regs + 0x200 + 0x10 * (vector / 32), 4);
    return (word >> (vector % 32)) & 1;
}

// Software-enable the local APIC (spurious-interrupt vector register 0x1FF) from outside the guest.
void EnableApic(int vcpu_fd)
{
    kvm_lapic_state lapic;
    ASSERT_EQ(ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic), 0) << strerror(errno);
    uint32_t svr = 0x1ff;
    memcpy(lapic.regs + 0xf0, &svr, 4);
    ASSERT_EQ(ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic), 0) << strerror(errno);
}

TEST_F(KvmIrqTest, MmioIoeventfdTakesTheWriteAndDeassignRestoresTheExit)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(accel_kvm_ops.add_ioeventfd(&m_, 0x90000, 4, false, fd));
    Load(kvm_test_real_mmio, kvm_test_real_mmio_end);
    // The guest stores 0x12345678 at 0x90000 (4 bytes) and loads from 0x90004; both are MMIO.
    auto run = [&](bool *saw_store) {
        SetState(RealMode());
        *saw_store = false;
        return RunUntilDone([&](AccelExit &e) {
            if (e.reason != ACCEL_EXIT_MMIO) {
                return e.reason == ACCEL_EXIT_IO && e.io.port == 0x3f8;
            }
            *saw_store |= e.mmio.is_write && e.mmio.gpa == 0x90000;
            return true;
        });
    };
    bool saw_store = true;
    AccelExit done = run(&saw_store);
    ASSERT_EQ(done.reason, ACCEL_EXIT_IO) << done.error;
    EXPECT_FALSE(saw_store) << "the store to the ioeventfd's address exited to user space";
    EXPECT_EQ(EventCount(fd), 1u);

    ASSERT_TRUE(accel_kvm_ops.del_ioeventfd(&m_, 0x90000, 4, false, fd));
    EXPECT_FALSE(accel_kvm_ops.del_ioeventfd(&m_, 0x90000, 4, false, fd)) << "deassigned twice";
    done = run(&saw_store);
    ASSERT_EQ(done.reason, ACCEL_EXIT_IO) << done.error;
    EXPECT_TRUE(saw_store) << "after KVM_IOEVENTFD_FLAG_DEASSIGN the store must exit again";
    EXPECT_EQ(EventCount(fd), 0u);
    close(fd);
}

TEST_F(KvmIrqTest, IoeventfdOfAnotherLengthLeavesTheExit)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(accel_kvm_ops.add_ioeventfd(&m_, 0x90000, 2, false, fd));   // the guest stores 4 bytes
    Load(kvm_test_real_mmio, kvm_test_real_mmio_end);
    SetState(RealMode());
    bool saw_store = false;
    AccelExit done = RunUntilDone([&](AccelExit &e) {
        saw_store |= e.reason == ACCEL_EXIT_MMIO && e.mmio.is_write && e.mmio.gpa == 0x90000;
        return true;
    });
    ASSERT_EQ(done.reason, ACCEL_EXIT_IO) << done.error;
    EXPECT_TRUE(saw_store);
    EXPECT_EQ(EventCount(fd), 0u);
    close(fd);
}

TEST_F(KvmIrqTest, PioIoeventfdDeassignRestoresTheExit)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(accel_kvm_ops.add_ioeventfd(&m_, 0x500, 1, true, fd));
    ASSERT_TRUE(accel_kvm_ops.del_ioeventfd(&m_, 0x500, 1, true, fd));
    Load(kvm_test_real_ioeventfd, kvm_test_real_ioeventfd_end);
    SetState(RealMode());
    bool saw_0x500 = false;
    AccelExit done = RunUntilDone([&](AccelExit &e) {
        saw_0x500 |= e.reason == ACCEL_EXIT_IO && e.io.port == 0x500 && e.io.is_write;
        return true;
    });
    ASSERT_EQ(done.reason, ACCEL_EXIT_IO) << done.error;
    EXPECT_TRUE(saw_0x500);
    EXPECT_EQ(EventCount(fd), 0u);
    close(fd);
}

TEST_F(KvmIrqTest, MsiRoutesTakeGsisBeyondThePinsAndAreReused)
{
    int a = accel_kvm_ops.add_msi_route(&m_, 0xfee00000, 0x41);
    int b = accel_kvm_ops.add_msi_route(&m_, 0xfee00000, 0x42);
    EXPECT_GE(a, PC_NUM_GSI);
    EXPECT_EQ(b, a + 1);
    EXPECT_TRUE(accel_kvm_ops.set_msi_route(&m_, b, 0xfee00000, 0x43));
    EXPECT_FALSE(accel_kvm_ops.set_msi_route(&m_, 5, 0xfee00000, 0x43)) << "a pin is not an MSI route";
    accel_kvm_ops.del_msi_route(&m_, a);
    EXPECT_EQ(accel_kvm_ops.add_msi_route(&m_, 0xfee00000, 0x44), a);
}

// irqfd on an MSI route: the write puts the route's vector into the local APIC's IRR (the vCPU is not
// running, so nothing takes it), and a rewritten route delivers its new vector.
TEST_F(KvmIrqTest, IrqfdOnAnMsiRouteRaisesTheVectorInTheApic)
{
    int vcpu_fd = static_cast<KvmVcpu *>(vcpu_.accel_state)->fd;
    EnableApic(vcpu_fd);
    int fd = eventfd(0, EFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    int gsi = accel_kvm_ops.add_msi_route(&m_, 0xfee00000, 0x51);   // physical destination APIC 0, fixed
    ASSERT_GE(gsi, PC_NUM_GSI) << strerror(-gsi);
    ASSERT_TRUE(accel_kvm_ops.add_irqfd(&m_, gsi, fd));
    EXPECT_FALSE(IrrHas(vcpu_fd, 0x51));
    uint64_t one = 1;
    ASSERT_EQ(write(fd, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
    auto wait_irr = [&](unsigned vector) {
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (!IrrHas(vcpu_fd, vector) && std::chrono::steady_clock::now() < end) {
            usleep(1000);   // irqfd injection may run on a kernel worker
        }
        return IrrHas(vcpu_fd, vector);
    };
    EXPECT_TRUE(wait_irr(0x51));
    ASSERT_TRUE(accel_kvm_ops.set_msi_route(&m_, gsi, 0xfee00000, 0x62));
    ASSERT_EQ(write(fd, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
    EXPECT_TRUE(wait_irr(0x62));
    ASSERT_TRUE(accel_kvm_ops.del_irqfd(&m_, gsi, fd));
    close(fd);
}

// The same seen by the guest: real mode with the APIC enabled takes vector 0x41 through its IVT, EOIs, and
// after the test rewrites the route, vector 0x42.
TEST_F(KvmIrqTest, GuestTakesTheIrqfdMsiAndTheRewrittenRoute)
{
    int fd = eventfd(0, EFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    int gsi = accel_kvm_ops.add_msi_route(&m_, 0xfee00000, 0x41);
    ASSERT_GE(gsi, PC_NUM_GSI);
    ASSERT_TRUE(accel_kvm_ops.add_irqfd(&m_, gsi, fd));
    Load(kvm_test_real_msi, kvm_test_real_msi_end);
    X86VcpuState s = RealMode();
    s.es.base = PC_LAPIC_BASE;   // the guest reaches the APIC through ES
    SetState(s);
    std::string out;
    int ready = 0;
    AccelExit done = RunUntilDone([&](AccelExit &e) {
        if (e.reason != ACCEL_EXIT_IO || !e.io.is_write) {
            return false;
        }
        if (e.io.port == 0x3f9) {
            if (ready++ == 1) {
                EXPECT_TRUE(accel_kvm_ops.set_msi_route(&m_, gsi, 0xfee00000, 0x42));
            }
            uint64_t one = 1;
            EXPECT_EQ(write(fd, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
            return true;
        }
        if (e.io.port == 0x3f8) {
            out.push_back(static_cast<char>(e.io.data[0]));
            return true;
        }
        return false;
    });
    ASSERT_EQ(done.reason, ACCEL_EXIT_IO) << done.error;
    EXPECT_EQ(out, "\x41\x42");
    close(fd);
}

// The GSI routing table: the in-kernel PIT's IRQ 0 reaches I/O APIC pin 2, where the MADT's override tells
// the guest to look for it (KVM's default table would send it to pin 0 and this guest would wait forever).
TEST_F(KvmIrqTest, PitTickArrivesAtIoapicPinTwo)
{
    Load(kvm_test_real_pit_ioapic, kvm_test_real_pit_ioapic_end);
    X86VcpuState s = RealMode();
    s.es.base = PC_IOAPIC_BASE;
    s.fs.base = PC_LAPIC_BASE;
    SetState(s);
    std::atomic<bool> finished{ false };
    std::thread watchdog([&] {
        for (int i = 0; i < 300 && !finished; i++) {
            usleep(10 * 1000);
        }
        if (!finished) {
            vcpu_request(&vcpu_, VCPU_REQ_STOP);   // no tick: end the in-kernel HLT
        }
    });
    std::string out;
    AccelExit done = RunUntilDone([&](AccelExit &e) {
        if (e.reason == ACCEL_EXIT_IO && e.io.is_write && e.io.port == 0x3f8) {
            out.push_back(static_cast<char>(e.io.data[0]));
            return true;
        }
        return false;
    });
    finished = true;
    watchdog.join();
    __atomic_fetch_and(&vcpu_.requests, ~static_cast<unsigned>(VCPU_REQ_STOP), __ATOMIC_SEQ_CST);
    ASSERT_EQ(done.reason, ACCEL_EXIT_IO) << (done.reason == ACCEL_EXIT_REQUEST ? "no timer interrupt in 3 s"
                                                                                 : done.error);
    EXPECT_EQ(out, "\x30");
}

// QMP stop under KVM: a vCPU halted inside the kernel (HLT with the irqchip there never exits) must come
// back when kicked, with the request, as the vCPU loop needs to park it.
TEST_F(KvmIrqTest, KickEndsAGuestHaltedInTheKernel)
{
    static const uint8_t cli_hlt[] = { 0xfa, 0xf4, 0xeb, 0xfd };   // cli; 1: hlt; jmp 1b
    Load(cli_hlt, cli_hlt + sizeof(cli_hlt));
    SetState(RealMode());
    std::thread kicker([&] {
        usleep(200 * 1000);
        vcpu_request(&vcpu_, VCPU_REQ_STOP);
    });
    AccelExit exit;
    memset(&exit, 0, sizeof(exit));
    auto start = std::chrono::steady_clock::now();
    accel_kvm_ops.vcpu_run(&vcpu_, &exit);
    kicker.join();
    EXPECT_EQ(exit.reason, ACCEL_EXIT_REQUEST) << exit.error;
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150)) << "it did halt";
    // With the request still pending, the next run returns at once instead of entering the guest.
    memset(&exit, 0, sizeof(exit));
    accel_kvm_ops.vcpu_run(&vcpu_, &exit);
    EXPECT_EQ(exit.reason, ACCEL_EXIT_REQUEST);
    __atomic_fetch_and(&vcpu_.requests, ~static_cast<unsigned>(VCPU_REQ_STOP), __ATOMIC_SEQ_CST);
}

// The errors users see when KVM is not usable: these need no KVM at all.
class KvmDeviceErrorTest : public ::testing::Test {
protected:
    void TearDown() override { kvm_device_path = "/dev/kvm"; }

    std::string InitError(const char *path)
    {
        kvm_device_path = path;
        Machine m;
        memset(&m, 0, sizeof(m));
        Accel accel = {};
        accel.ops = &accel_kvm_ops;
        m.accel = &accel;
        GError *err = nullptr;
        bool ok = accel_kvm_ops.machine_init(&m, &err);
        std::string msg = err ? err->message : "";
        g_clear_error(&err);
        accel_kvm_ops.machine_destroy(&m);
        EXPECT_FALSE(ok);
        EXPECT_EQ(accel.state, nullptr);
        return msg;
    }
};

TEST_F(KvmDeviceErrorTest, MissingDeviceSaysThereIsNoKvm)
{
    std::string msg = InitError("/nonexistent/kvm");
    EXPECT_NE(msg.find("cannot open /nonexistent/kvm"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no KVM on this host"), std::string::npos) << msg;
}

TEST_F(KvmDeviceErrorTest, ADeviceThatIsNotKvmIsRefused)
{
    std::string msg = InitError("/dev/null");
    EXPECT_NE(msg.find("/dev/null is not a KVM device"), std::string::npos) << msg;
}

}  // namespace
