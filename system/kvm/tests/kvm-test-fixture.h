// The KVM accelerator tests' machine: RAM, one vCPU, the KVM VM, and the small guest programs of
// guest-code.S. Each test skips, naming the reason, where /dev/kvm is missing.
#ifndef EMBER_KVM_TEST_FIXTURE_H
#define EMBER_KVM_TEST_FIXTURE_H

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

extern "C" {
#include "system/kvm/kvm-internal.h"
extern const AccelOps accel_kvm_ops;
extern const uint8_t kvm_test_real_io[], kvm_test_real_io_end[];
extern const uint8_t kvm_test_real_mmio[], kvm_test_real_mmio_end[];
extern const uint8_t kvm_test_real_ioeventfd[], kvm_test_real_ioeventfd_end[];
extern const uint8_t kvm_test_real_irq[], kvm_test_real_irq_end[];
extern const uint8_t kvm_test_prot_io[], kvm_test_prot_io_end[];
extern const uint8_t kvm_test_long_io[], kvm_test_long_io_end[];
extern const uint8_t kvm_test_prot_iret[], kvm_test_prot_iret_end[];
extern const uint8_t kvm_test_real_msi[], kvm_test_real_msi_end[];
extern const uint8_t kvm_test_prot_notify[], kvm_test_prot_notify_end[];
extern const uint8_t kvm_test_real_pit_ioapic[], kvm_test_real_pit_ioapic_end[];
}

// Flat 32-bit protected mode in s: a GDT at 0x500 of ram (null, code32 0x08, data32 0x10, code64 0x18),
// every data segment on 0x10, CR0.PE.
inline void kvm_test_flat_protected_mode(X86VcpuState *s, uint8_t *ram)
{
    const uint64_t gdt[] = { 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull, 0x00af9a000000ffffull };
    memcpy(ram + 0x500, gdt, sizeof(gdt));
    X86Segment code = { .base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 0xb, .present = 1,
                        .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1, .avl = 0, .unusable = false };
    X86Segment data = code;
    data.selector = 0x10;
    data.type = 0x3;
    s->cs = code;
    s->ds = s->es = s->ss = s->fs = s->gs = data;
    s->gdt = { 0x500, sizeof(gdt) - 1 };
    s->cr0 = X86_CR0_PE | X86_CR0_ET;
}

constexpr uint64_t kRamSize = 512 * 1024;   // so 0x90000.. in real mode is outside RAM: MMIO
constexpr uint64_t kCode = 0x1000;
constexpr uint16_t kDonePort = 0xf4;

class KvmAccelTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (access("/dev/kvm", R_OK | W_OK) != 0) {
            GTEST_SKIP() << "/dev/kvm is missing or not accessible: no KVM on this host";
        }
        ram_ = static_cast<uint8_t *>(mmap(nullptr, kRamSize, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        ASSERT_NE(ram_, MAP_FAILED);
        memset(&m_, 0, sizeof(m_));
        m_.ram = ram_;
        m_.ram_size = m_.ram_low = kRamSize;
        m_.nr_vcpus = 1;
        m_.vcpus = &vcpu_;
        memset(&vcpu_, 0, sizeof(vcpu_));
        vcpu_.machine = &m_;
        accel_.ops = &accel_kvm_ops;
        m_.accel = &accel_;
        GError *err = nullptr;
        ASSERT_TRUE(accel_kvm_ops.machine_init(&m_, &err)) << err->message;
        ASSERT_TRUE(accel_kvm_ops.vcpu_init(&vcpu_, &err)) << err->message;
        EXPECT_TRUE(accel_.irqchip_in_kernel);
    }

    void TearDown() override
    {
        if (m_.accel) {
            accel_kvm_ops.vcpu_destroy(&vcpu_);
            accel_kvm_ops.machine_destroy(&m_);
        }
        if (ram_) {
            munmap(ram_, kRamSize);
        }
    }

    void Load(const uint8_t *begin, const uint8_t *end, uint64_t at = kCode)
    {
        memcpy(ram_ + at, begin, static_cast<size_t>(end - begin));
    }

    void SetState(const X86VcpuState &s)
    {
        GError *err = nullptr;
        ASSERT_TRUE(accel_kvm_ops.vcpu_set_state(&vcpu_, &s, &err)) << err->message;
    }

    // Real mode at 0000:1000, as after a SIPI with vector 1 (but with CS base 0).
    X86VcpuState RealMode()
    {
        X86VcpuState s;
        x86_state_reset(&s, 0, true);
        s.cs.selector = 0;
        s.cs.base = 0;
        s.rip = kCode;
        s.gpr[X86_RSP] = 0x8000;
        return s;
    }

    // Flat 32-bit protected mode (kvm_test_flat_protected_mode).
    X86VcpuState ProtectedMode()
    {
        X86VcpuState s = RealMode();
        kvm_test_flat_protected_mode(&s, ram_);
        return s;
    }

    // Long mode: identity map of the first 2 MiB (one 2 MiB page) at PML4 0x2000.
    X86VcpuState LongMode()
    {
        uint64_t *pml4 = reinterpret_cast<uint64_t *>(ram_ + 0x2000);
        uint64_t *pdpt = reinterpret_cast<uint64_t *>(ram_ + 0x3000);
        uint64_t *pd = reinterpret_cast<uint64_t *>(ram_ + 0x4000);
        pml4[0] = 0x3000 | 3;
        pdpt[0] = 0x4000 | 3;
        pd[0] = 0 | 0x83;   // present, writable, 2 MiB page
        X86VcpuState s = ProtectedMode();
        s.cs.selector = 0x18;
        s.cs.l = 1;
        s.cs.db = 0;
        s.cr3 = 0x2000;
        s.cr4 = X86_CR4_PAE;
        s.cr0 |= X86_CR0_PG;
        s.efer = X86_EFER_LME | X86_EFER_LMA;
        return s;
    }

    // Run until an exit other than the I/O and MMIO ones `handle` consumes; returns that exit.
    template <typename Handler>
    AccelExit RunUntilDone(Handler handle, int max_exits = 100)
    {
        AccelExit exit;
        memset(&exit, 0, sizeof(exit));
        for (int i = 0; i < max_exits; i++) {
            accel_kvm_ops.vcpu_run(&vcpu_, &exit);
            if (exit.reason == ACCEL_EXIT_IO && exit.io.port == kDonePort) {
                return exit;
            }
            if ((exit.reason != ACCEL_EXIT_IO && exit.reason != ACCEL_EXIT_MMIO) || !handle(exit)) {
                return exit;
            }
        }
        ADD_FAILURE() << "no done exit after " << max_exits << " exits";
        return exit;
    }

    uint8_t *ram_ = nullptr;
    Machine m_;
    Vcpu vcpu_;
    Accel accel_;
};

#endif
