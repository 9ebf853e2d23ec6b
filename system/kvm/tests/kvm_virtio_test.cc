// virtio-pci on the accelerator's fast paths: queue notifications through ioeventfds (registered at
// DRIVER_OK, following BAR 4, gone at reset) and MSI-X vectors through irqfds on MSI routes (following the
// guest's table). First under a fake accelerator that records what it is asked (runs anywhere), then under
// KVM, where a guest's notify write must reach the device without an MMIO exit and the completion's MSI-X
// message must reach the local APIC through the irqfd.
#include "system/pc/virtio/tests/virtio-driver.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>

#include "system/kvm/tests/kvm-test-fixture.h"   // accel_kvm_ops, the guest programs, flat protected mode

namespace {

constexpr uint16_t kRngDevice = VIRTIO_PCI_DEVICE_BASE + VIRTIO_ID_RNG;

// ---- a fake accelerator: irqchip in the kernel, ioeventfd, irqfd and MSI routes, all recorded ----

struct FakeIoeventfd {
    uint64_t addr;
    unsigned len;
    bool pio;
    int fd;
};

struct FakeRoute {
    bool used;
    uint64_t address;
    uint32_t data;
    int irqfd;
};

struct FakeAccelState {
    std::vector<FakeIoeventfd> ioeventfds;   // assigned now
    std::vector<FakeRoute> routes;           // GSI PC_NUM_GSI + index
    unsigned route_writes = 0;               // set_msi_route calls
    unsigned plain_msis = 0;                 // send_msi calls (the path irqfd replaces)
};

FakeAccelState *fake;

bool FakeAddIoeventfd(Machine *, uint64_t addr, unsigned len, bool pio, int fd)
{
    fake->ioeventfds.push_back({ addr, len, pio, fd });
    return true;
}

bool FakeDelIoeventfd(Machine *, uint64_t addr, unsigned len, bool pio, int fd)
{
    for (auto it = fake->ioeventfds.begin(); it != fake->ioeventfds.end(); ++it) {
        if (it->addr == addr && it->len == len && it->pio == pio && it->fd == fd) {
            fake->ioeventfds.erase(it);
            return true;
        }
    }
    ADD_FAILURE() << "deassigning an ioeventfd that is not assigned, at " << std::hex << addr;
    return false;
}

FakeRoute *FakeRouteOf(int gsi)
{
    size_t i = static_cast<size_t>(gsi - PC_NUM_GSI);
    return gsi >= PC_NUM_GSI && i < fake->routes.size() && fake->routes[i].used ? &fake->routes[i] : nullptr;
}

int FakeAddMsiRoute(Machine *, uint64_t address, uint32_t data)
{
    fake->routes.push_back({ true, address, data, -1 });
    return PC_NUM_GSI + static_cast<int>(fake->routes.size()) - 1;
}

bool FakeSetMsiRoute(Machine *, int gsi, uint64_t address, uint32_t data)
{
    FakeRoute *r = FakeRouteOf(gsi);
    if (r) {
        r->address = address;
        r->data = data;
        fake->route_writes++;
    }
    return r != nullptr;
}

bool FakeAddIrqfd(Machine *, int gsi, int fd)
{
    FakeRoute *r = FakeRouteOf(gsi);
    if (r) {
        r->irqfd = fd;
    }
    return r != nullptr;
}

void FakeSendMsi(Machine *, uint64_t, uint32_t) { fake->plain_msis++; }
void FakeSetGsi(Machine *, int, int) {}
void FakeKick(Vcpu *) {}

const AccelOps fake_ops = [] {
    AccelOps ops = {};
    ops.name = "fake";
    ops.vcpu_kick = FakeKick;
    ops.set_gsi = FakeSetGsi;
    ops.send_msi = FakeSendMsi;
    ops.add_ioeventfd = FakeAddIoeventfd;
    ops.del_ioeventfd = FakeDelIoeventfd;
    ops.add_irqfd = FakeAddIrqfd;
    ops.add_msi_route = FakeAddMsiRoute;
    ops.set_msi_route = FakeSetMsiRoute;
    return ops;
}();

uint64_t EventCount(int fd)
{
    uint64_t count = 0;
    return read(fd, &count, sizeof(count)) == sizeof(count) ? count : 0;
}

class VirtioFastPathTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        fake = &state_;
        accel_.ops = &fake_ops;
        accel_.irqchip_in_kernel = true;
        tm_.m.accel = &accel_;
        bus_ = pci_host_create(&tm_.m);
        GError *err = nullptr;
        ASSERT_TRUE(virtio_rng_create(&tm_.m, bus_, &err));
        drv_ = std::make_unique<VirtioDriver>(tm_, kRngDevice);
        msis_before_ = test_msi_count;
        ASSERT_TRUE(drv_->found());
        vdev_ = static_cast<VirtioDevice *>(pci_bus_device(bus_, drv_->slot())->opaque);
    }
    // The machine's reset hooks are process-wide and the test machine is never freed (see TestMachine):
    // leave the device reset, with nothing registered, for whatever runs machine resets later.
    void TearDown() override
    {
        if (vdev_) {
            machine_lock(&tm_.m);
            virtio_reset(vdev_);
            machine_unlock(&tm_.m);
        }
        fake = nullptr;
    }

    uint64_t NotifyAddr() { return drv_->notify + drv_->queues[0].notify_off * drv_->notify_mult; }
    // The route whose message the guest gave MSI-X vector v (VirtioDriver: data 0x40 + v).
    FakeRoute *RouteFor(unsigned v)
    {
        for (FakeRoute &r : state_.routes) {
            if (r.used && r.address == 0xFEE00000 && r.data == 0x40 + v) {
                return &r;
            }
        }
        return nullptr;
    }
    // Offer a 16-byte buffer on the entropy queue without notifying.
    void OfferBuffer() { drv_->Submit(0, { { drv_->Alloc(16), 16, true } }, false); }

    FakeAccelState state_;
    Accel &accel_ = *new Accel();          // leaked with the machine, which points at it
    TestMachine &tm_ = *new TestMachine();
    PciBus *bus_ = nullptr;
    std::unique_ptr<VirtioDriver> drv_;
    VirtioDevice *vdev_ = nullptr;
    unsigned msis_before_ = 0;
};

TEST_F(VirtioFastPathTest, DriverOkRegistersOneIoeventfdPerQueueAndTheMainLoopRunsTheDevice)
{
    EXPECT_TRUE(state_.ioeventfds.empty()) << "no registration before the driver is ready";
    ASSERT_TRUE(drv_->Init(1ull << VIRTIO_F_VERSION_1, 1, 8));
    ASSERT_EQ(state_.ioeventfds.size(), 1u);
    EXPECT_EQ(state_.ioeventfds[0].addr, NotifyAddr());
    EXPECT_EQ(state_.ioeventfds[0].len, 2u);
    EXPECT_FALSE(state_.ioeventfds[0].pio);
    uint64_t base = 0;
    EXPECT_TRUE(virtio_ioeventfd_active(vdev_, &base));
    EXPECT_EQ(base, drv_->notify);

    // What KVM does on the guest's notify write: signal the eventfd. The main loop runs the queue.
    OfferBuffer();
    uint64_t one = 1;
    ASSERT_EQ(write(state_.ioeventfds[0].fd, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
    ASSERT_TRUE(drv_->WaitUsed(0, 1));
    EXPECT_EQ(drv_->Used(0, 0).second, 16u);

    // The completion's interrupt: MSI-X vector 1 through its irqfd, not a plain MSI.
    FakeRoute *r = RouteFor(1);
    ASSERT_NE(r, nullptr);
    ASSERT_GE(r->irqfd, 0);
    EXPECT_EQ(EventCount(r->irqfd), 1u);
    EXPECT_EQ(state_.plain_msis, 0u);
    EXPECT_EQ(test_msi_count, msis_before_) << "nothing reached the user-space APIC";
    EXPECT_TRUE(machine_msi_route_uses_irqfd(vdev_->pci->msix.routes[1]));

    // The trapped path still works beside it (a write the accelerator did not take).
    OfferBuffer();
    drv_->Kick(0);
    ASSERT_TRUE(drv_->WaitUsed(0, 2));
}

TEST_F(VirtioFastPathTest, RegistrationFollowsBarMovesMemoryDecodingAndReset)
{
    ASSERT_TRUE(drv_->Init(1ull << VIRTIO_F_VERSION_1, 1, 8));
    ASSERT_EQ(state_.ioeventfds.size(), 1u);
    int fd = state_.ioeventfds[0].fd;

    // The guest moves BAR 4 (64-bit: the low dword carries the address here).
    uint64_t moved = 0xD0000000;
    tm_.cfg_write(drv_->slot(), PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR, static_cast<uint32_t>(moved), 4);
    drv_->WalkCaps();
    ASSERT_EQ(drv_->BarAddr(VIRTIO_PCI_BAR), moved);
    ASSERT_EQ(state_.ioeventfds.size(), 1u);
    EXPECT_EQ(state_.ioeventfds[0].addr, moved + VIRTIO_PCI_NOTIFY_OFFSET);
    EXPECT_EQ(state_.ioeventfds[0].fd, fd) << "the same eventfd, at the new address";

    // Memory decoding off: nothing decodes the address, so nothing may catch writes there.
    tm_.cfg_write(drv_->slot(), PCI_COMMAND, PCI_COMMAND_MASTER, 2);
    EXPECT_TRUE(state_.ioeventfds.empty());
    EXPECT_FALSE(virtio_ioeventfd_active(vdev_, nullptr));
    tm_.cfg_write(drv_->slot(), PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    ASSERT_EQ(state_.ioeventfds.size(), 1u);
    EXPECT_EQ(state_.ioeventfds[0].addr, moved + VIRTIO_PCI_NOTIFY_OFFSET);

    // Device reset (status 0): deassigned; a kick left in the eventfd finds the queue disabled.
    OfferBuffer();
    uint64_t one = 1;
    ASSERT_EQ(write(fd, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
    drv_->SetCommon(VIRTIO_COMMON_STATUS, 0, 1);
    EXPECT_TRUE(state_.ioeventfds.empty());
    EXPECT_FALSE(virtio_ioeventfd_active(vdev_, nullptr));
    for (int i = 0; i < 20; i++) {
        g_main_context_iteration(tm_.m.main_context, FALSE);
    }
    EXPECT_EQ(drv_->UsedIdx(0), 0u) << "a stale kick must not run a reset queue";

    // The driver starts again: registered again. A machine reset removes it too.
    ASSERT_TRUE(drv_->Init(1ull << VIRTIO_F_VERSION_1, 1, 8));
    EXPECT_EQ(state_.ioeventfds.size(), 1u);
    machine_lock(&tm_.m);
    machine_reset_devices(&tm_.m);
    machine_unlock(&tm_.m);
    EXPECT_TRUE(state_.ioeventfds.empty());
}

TEST_F(VirtioFastPathTest, MsiRoutesFollowTheTableAndMaskedVectorsWait)
{
    ASSERT_TRUE(drv_->Init(1ull << VIRTIO_F_VERSION_1, 1, 8));
    FakeRoute *r = RouteFor(1);
    ASSERT_NE(r, nullptr) << "enabling MSI-X with unmasked vectors creates their routes";
    int irqfd = r->irqfd;
    uint64_t entry = drv_->msix_table + 16 * 1;

    // Masked, the guest rewrites the message: the route stays (nothing can send through it) ...
    tm_.wr(entry + 12, 1, 4);
    tm_.wr(entry + 8, 0x55, 4);
    unsigned writes = state_.route_writes;
    EXPECT_EQ(r->data, 0x41u);
    // ... and an interrupt while masked waits in the PBA, without touching the irqfd.
    OfferBuffer();
    drv_->Kick(0);
    ASSERT_TRUE(drv_->WaitUsed(0, 1));
    EXPECT_EQ(EventCount(irqfd), 0u);
    EXPECT_EQ(tm_.rd(drv_->msix_table + 0x800, 8) & 2, 2u) << "vector 1 pending";

    // Unmasked: the route takes the new message first, then the held-back interrupt goes out.
    tm_.wr(entry + 12, 0, 4);
    EXPECT_EQ(state_.route_writes, writes + 1);
    EXPECT_EQ(r->data, 0x55u);
    EXPECT_EQ(EventCount(irqfd), 1u);
    EXPECT_EQ(tm_.rd(drv_->msix_table + 0x800, 8) & 2, 0u);
    EXPECT_EQ(state_.plain_msis, 0u);
}

// An accelerator without the fast paths and with user-space interrupt controllers (TCG's shape): nothing
// is registered, notifications stay trapped and MSI-X messages go to the user-space APICs.
TEST_F(VirtioFastPathTest, WithoutFastPathsEverythingStaysTrapped)
{
    static const AccelOps plain_ops = [] {
        AccelOps ops = {};
        ops.name = "plain";
        ops.vcpu_kick = FakeKick;
        return ops;
    }();
    accel_.ops = &plain_ops;
    accel_.irqchip_in_kernel = false;
    ASSERT_TRUE(drv_->Init(1ull << VIRTIO_F_VERSION_1, 1, 8));
    EXPECT_FALSE(virtio_ioeventfd_active(vdev_, nullptr));
    EXPECT_TRUE(state_.ioeventfds.empty());
    unsigned before = test_msi_count;
    OfferBuffer();
    drv_->Kick(0);
    ASSERT_TRUE(drv_->WaitUsed(0, 1));
    EXPECT_EQ(test_msi_count, before + 1);
    EXPECT_EQ(test_msi_data[before % TEST_MSI_MAX], 0x41u);
    EXPECT_FALSE(machine_msi_route_uses_irqfd(vdev_->pci->msix.routes[1]));
    EXPECT_TRUE(state_.routes.empty());
}

// ---- the same device under KVM ----

class VirtioKvmTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (access("/dev/kvm", R_OK | W_OK) != 0) {
            GTEST_SKIP() << "/dev/kvm is missing or not accessible: no KVM on this host";
        }
        // KVM needs page-aligned guest RAM: a mapping of our own in place of the test machine's.
        void *ram = mmap(nullptr, tm_.m.ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(ram, MAP_FAILED);
        tm_.m.ram = static_cast<uint8_t *>(ram);
        memset(&vcpu_, 0, sizeof(vcpu_));
        vcpu_.machine = &tm_.m;
        tm_.m.vcpus = &vcpu_;
        tm_.m.nr_vcpus = 1;
        accel_.ops = &accel_kvm_ops;
        tm_.m.accel = &accel_;
        GError *err = nullptr;
        ASSERT_TRUE(accel_kvm_ops.machine_init(&tm_.m, &err)) << err->message;
        ASSERT_TRUE(accel_kvm_ops.vcpu_init(&vcpu_, &err)) << err->message;
        initialized_ = true;
    }
    void TearDown() override
    {
        if (initialized_) {
            accel_kvm_ops.vcpu_destroy(&vcpu_);
            accel_kvm_ops.machine_destroy(&tm_.m);
        }
    }

    // Flat 32-bit protected mode at 0x1000 (kvm_test_flat_protected_mode).
    X86VcpuState ProtectedMode()
    {
        X86VcpuState s;
        x86_state_reset(&s, 0, true);
        kvm_test_flat_protected_mode(&s, tm_.m.ram);
        s.rip = 0x1000;
        s.gpr[X86_RSP] = 0x8000;
        return s;
    }

    bool IrrHas(unsigned vector)
    {
        kvm_lapic_state lapic;
        int fd = static_cast<KvmVcpu *>(vcpu_.accel_state)->fd;
        if (ioctl(fd, KVM_GET_LAPIC, &lapic) < 0) {
            return false;
        }
        uint32_t word;
        memcpy(&word, lapic.regs + 0x200 + 0x10 * (vector / 32), 4);
        return (word >> (vector % 32)) & 1;
    }

    TestMachine tm_;
    Vcpu vcpu_;
    Accel accel_ = {};
    bool initialized_ = false;
};

TEST_F(VirtioKvmTest, GuestNotifyReachesTheDeviceWithoutAnExitAndItsMsiTheApic)
{
    PciBus *bus = pci_host_create(&tm_.m);
    GError *err = nullptr;
    ASSERT_TRUE(virtio_rng_create(&tm_.m, bus, &err));
    VirtioDriver drv(tm_, kRngDevice);
    ASSERT_TRUE(drv.found());
    unsigned msis_before = test_msi_count;
    ASSERT_TRUE(drv.Init(1ull << VIRTIO_F_VERSION_1, 1, 8));
    VirtioDevice *vdev = static_cast<VirtioDevice *>(pci_bus_device(bus, drv.slot())->opaque);
    ASSERT_TRUE(virtio_ioeventfd_active(vdev, nullptr)) << "KVM took the notify addresses";
    ASSERT_EQ(tm_.m.accel->ops, &accel_kvm_ops);

    // Software-enable the local APIC so that it accepts the fixed MSI (vector 0x41) it will be sent.
    kvm_lapic_state lapic;
    int vcpu_fd = static_cast<KvmVcpu *>(vcpu_.accel_state)->fd;
    ASSERT_EQ(ioctl(vcpu_fd, KVM_GET_LAPIC, &lapic), 0);
    uint32_t svr = 0x1ff;
    memcpy(lapic.regs + 0xf0, &svr, 4);
    ASSERT_EQ(ioctl(vcpu_fd, KVM_SET_LAPIC, &lapic), 0);

    drv.Submit(0, { { drv.Alloc(16), 16, true } }, false);
    uint64_t notify = drv.notify + drv.queues[0].notify_off * drv.notify_mult;
    memcpy(tm_.m.ram + 0x1000, kvm_test_prot_notify, kvm_test_prot_notify_end - kvm_test_prot_notify);
    X86VcpuState s = ProtectedMode();
    s.gpr[X86_RAX] = 0;   // queue 0
    s.gpr[X86_RBX] = notify;
    ASSERT_TRUE(accel_kvm_ops.vcpu_set_state(&vcpu_, &s, &err)) << err->message;

    AccelExit e;
    memset(&e, 0, sizeof(e));
    bool notify_exit = false, done = false;
    for (int i = 0; i < 20 && !done; i++) {
        accel_kvm_ops.vcpu_run(&vcpu_, &e);
        if (e.reason == ACCEL_EXIT_MMIO) {   // anything else reaches the device dispatch, as in vcpu.c
            notify_exit |= e.mmio.gpa == notify;
            uint64_t value = 0;
            memcpy(&value, e.mmio.data, e.mmio.size);
            if (e.mmio.is_write) {
                tm_.wr(e.mmio.gpa, value, e.mmio.size);
            } else {
                value = tm_.rd(e.mmio.gpa, e.mmio.size);
                memcpy(e.mmio.data, &value, e.mmio.size);
            }
            continue;
        }
        ASSERT_EQ(e.reason, ACCEL_EXIT_IO) << e.error;
        done = e.io.port == 0xf4;
    }
    ASSERT_TRUE(done);
    EXPECT_FALSE(notify_exit) << "the notify write exited to user space";
    ASSERT_TRUE(drv.WaitUsed(0, 1)) << "the eventfd's main-loop source ran the queue";
    EXPECT_EQ(drv.Used(0, 0).second, 16u);

    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!IrrHas(0x41) && std::chrono::steady_clock::now() < end) {
        usleep(1000);
    }
    EXPECT_TRUE(IrrHas(0x41)) << "MSI-X vector 1 (data 0x41) through its irqfd";
    EXPECT_TRUE(machine_msi_route_uses_irqfd(vdev->pci->msix.routes[1]));
    EXPECT_EQ(test_msi_count, msis_before) << "nothing reached the user-space APIC";
}

}  // namespace
