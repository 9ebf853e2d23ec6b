// Local APICs as CPUs drive them through their MMIO page: identity registers, IPIs (fixed, logical,
// shorthands, INIT/SIPI, illegal vectors), acceptance and EOI with TPR/PPR, and the timer.
#include "system/pc/devices/tests/device-test-util.h"

namespace {

enum : unsigned {
    ID = 0x20, VER = 0x30, TPR = 0x80, PPR = 0xA0, EOI = 0xB0, LDR = 0xD0, DFR = 0xE0, SVR = 0xF0,
    ESR = 0x280, ICR_LO = 0x300, ICR_HI = 0x310, LVT_TIMER = 0x320, LVT_LINT0 = 0x350, LVT_ERROR = 0x370,
    TIMER_INIT = 0x380, TIMER_CUR = 0x390, TIMER_DCR = 0x3E0,
};

class LapicTest : public DeviceTest {
protected:
    void SetUp() override
    {
        DeviceTest::SetUp();
        apic_write(0, SVR, 0x1FF);                      // software enable, spurious vector 0xFF
        apic_write(1, SVR, 0x1FF);
        take_requests(0);
        take_requests(1);
    }
    void ipi(int from, uint32_t dest, uint32_t lo)
    {
        apic_write(from, ICR_HI, dest << 24);
        apic_write(from, ICR_LO, lo);
    }
};

TEST_F(LapicTest, IdentityRegisters)
{
    EXPECT_EQ(apic_read(0, ID), 0u);
    EXPECT_EQ(apic_read(1, ID), 1u << 24) << "the MMIO page is the accessing CPU's";
    EXPECT_EQ(apic_read(0, VER), 0x00050014u) << "integrated APIC, 6 LVT entries";
    EXPECT_EQ(apic_read(1, DFR), 0xFFFFFFFFu);
    EXPECT_EQ(pc_cpu_apic_base(&vcpus[0]), PC_LAPIC_BASE | 0x900) << "enabled, BSP";
    EXPECT_EQ(pc_cpu_apic_base(&vcpus[1]), PC_LAPIC_BASE | 0x800);
    EXPECT_FALSE(pc_cpu_set_apic_base(&vcpus[1], PC_LAPIC_BASE | 0xC00)) << "x2APIC is #GP";
    EXPECT_EQ(apic_read(1, LVT_LINT0), 0x10000u) << "APs' LVTs start masked";
}

TEST_F(LapicTest, FixedIpiAcceptAckEoi)
{
    ipi(0, 1, 0x40);                                    // fixed, physical, vector 0x40, to CPU 1
    EXPECT_TRUE(irr(1, 0x40));
    EXPECT_FALSE(irr(0, 0x40));
    EXPECT_TRUE(take_requests(1) & VCPU_REQ_INTERRUPT);
    EXPECT_EQ(take_requests(0), 0u);
    EXPECT_EQ(apic_read(0, ICR_LO) & 0x1000, 0u) << "delivery status idle";
    ASSERT_TRUE(pc_cpu_interrupt_pending(&vcpus[1]));
    EXPECT_EQ(pc_cpu_interrupt_ack(&vcpus[1]), 0x40);
    EXPECT_FALSE(irr(1, 0x40));
    EXPECT_TRUE(isr(1, 0x40));
    EXPECT_EQ(apic_read(1, PPR), 0x40u);
    EXPECT_FALSE(pc_cpu_interrupt_pending(&vcpus[1]));
    apic_write(1, EOI, 0);
    EXPECT_FALSE(isr(1, 0x40));
    EXPECT_EQ(apic_read(1, PPR), 0u);
}

TEST_F(LapicTest, PriorityClassesAndTpr)
{
    ipi(0, 1, 0x45);
    apic_write(1, TPR, 0x50);
    EXPECT_FALSE(pc_cpu_interrupt_pending(&vcpus[1])) << "class 4 does not beat TPR class 5";
    EXPECT_EQ(pc_cpu_get_tpr(&vcpus[1]), 5);
    take_requests(1);
    pc_cpu_set_tpr(&vcpus[1], 3);                       // CR8 = 3: TPR 0x30
    EXPECT_EQ(apic_read(1, TPR), 0x30u);
    EXPECT_TRUE(take_requests(1) & VCPU_REQ_INTERRUPT) << "lowering TPR lets it through";
    EXPECT_EQ(pc_cpu_interrupt_ack(&vcpus[1]), 0x45);
    ipi(0, 1, 0x48);                                    // same class as the one in service
    EXPECT_FALSE(pc_cpu_interrupt_pending(&vcpus[1]));
    ipi(0, 1, 0x90);
    EXPECT_EQ(pc_cpu_interrupt_ack(&vcpus[1]), 0x90) << "a higher class nests";
    apic_write(1, EOI, 0);                              // retires 0x90
    EXPECT_TRUE(isr(1, 0x45));
    apic_write(1, EOI, 0);
    EXPECT_EQ(pc_cpu_interrupt_ack(&vcpus[1]), 0x48);
}

TEST_F(LapicTest, ShorthandsAndLogicalDestinations)
{
    ipi(0, 0, 0xC0000 | 0x51);                          // all excluding self
    EXPECT_TRUE(irr(1, 0x51));
    EXPECT_FALSE(irr(0, 0x51));
    ipi(1, 0, 0x40000 | 0x52);                          // self
    EXPECT_TRUE(irr(1, 0x52));
    EXPECT_FALSE(irr(0, 0x52));
    ipi(0, 0, 0x80000 | 0x53);                          // all including self
    EXPECT_TRUE(irr(0, 0x53) && irr(1, 0x53));
    apic_write(0, LDR, 0x01000000);                     // flat model: one bit per CPU
    apic_write(1, LDR, 0x02000000);
    ipi(0, 0x02, 0x800 | 0x54);
    EXPECT_TRUE(irr(1, 0x54));
    EXPECT_FALSE(irr(0, 0x54));
    ipi(1, 0x03, 0x800 | 0x55);
    EXPECT_TRUE(irr(0, 0x55) && irr(1, 0x55));
    apic_write(0, DFR, 0x0FFFFFFF);                     // cluster model: cluster 1, CPUs 0 and 1
    apic_write(1, DFR, 0x0FFFFFFF);
    apic_write(0, LDR, 0x11000000);
    apic_write(1, LDR, 0x12000000);
    ipi(0, 0x12, 0x800 | 0x56);
    EXPECT_TRUE(irr(1, 0x56));
    EXPECT_FALSE(irr(0, 0x56));
    ipi(0, 0x22, 0x800 | 0x57);                         // cluster 2 does not exist
    EXPECT_FALSE(irr(0, 0x57) || irr(1, 0x57));
    ipi(0, 7, 0x58);                                    // no CPU 7: dropped, logged
    EXPECT_FALSE(irr(0, 0x58) || irr(1, 0x58));
}

TEST_F(LapicTest, LowestPriorityPicksTheIdlestCpu)
{
    apic_write(0, LDR, 0x01000000);
    apic_write(1, LDR, 0x02000000);
    apic_write(0, TPR, 0x20);
    ipi(1, 0x03, 0x800 | 0x100 | 0x61);                 // lowest priority, logical {0, 1}
    EXPECT_TRUE(irr(1, 0x61));
    EXPECT_FALSE(irr(0, 0x61));
}

TEST_F(LapicTest, InitSipiNmi)
{
    ipi(0, 1, 0x500 | 0x4000);                          // INIT, assert
    EXPECT_TRUE(take_requests(1) & VCPU_REQ_INIT);
    EXPECT_EQ(apic_read(1, SVR), 0xFFu) << "INIT resets the APIC: software disabled";
    ipi(0, 1, 0x500 | 0x8000);                          // INIT level de-assert: nothing
    EXPECT_EQ(take_requests(1), 0u);
    ipi(0, 1, 0x600 | 0x9A);                            // start-up at 0x9A000
    EXPECT_TRUE(take_requests(1) & VCPU_REQ_SIPI);
    EXPECT_EQ(vcpus[1].sipi_vector, 0x9A);
    ipi(1, 0, 0x400);                                   // NMI to CPU 0
    EXPECT_TRUE(take_requests(0) & VCPU_REQ_NMI);
}

TEST_F(LapicTest, IllegalVectorsSetEsr)
{
    ipi(0, 1, 0x05);
    EXPECT_FALSE(irr(1, 0x05));
    apic_write(0, ESR, 0);                              // latch
    EXPECT_EQ(apic_read(0, ESR), 0x20u) << "send illegal vector";
    apic_write(0, ESR, 0);
    EXPECT_EQ(apic_read(0, ESR), 0u);
    apic_write(1, LVT_ERROR, 0xEE);                     // error interrupts on vector 0xEE
    pc_apic_deliver_msi(&m, 0xFEE01000, 0x0007);        // an MSI with vector 7 to CPU 1
    apic_write(1, ESR, 0);
    EXPECT_EQ(apic_read(1, ESR), 0x40u) << "receive illegal vector";
    EXPECT_TRUE(irr(1, 0xEE));
}

TEST_F(LapicTest, MsiDelivery)
{
    pc_apic_deliver_msi(&m, 0xFEE01000, 0x0062);        // physical destination 1, fixed, edge
    EXPECT_TRUE(irr(1, 0x62));
    EXPECT_FALSE(irr(0, 0x62));
    pc_apic_deliver_msi(&m, 0x12345000, 0x0063);        // not an APIC address: dropped
    EXPECT_FALSE(irr(0, 0x63) || irr(1, 0x63));
}

TEST_F(LapicTest, TimerOneShotFires)
{
    apic_write(1, TIMER_DCR, 0x0B);                     // divide by 1
    apic_write(1, LVT_TIMER, 0x30);                     // one-shot, vector 0x30
    int64_t start = g_get_monotonic_time();
    apic_write(1, TIMER_INIT, 2000000);                 // 2 ms at 1 GHz
    uint32_t cur = apic_read(1, TIMER_CUR);
    EXPECT_GT(cur, 0u);
    EXPECT_LE(cur, 2000000u);
    ASSERT_TRUE(run_until([&] { return irr(1, 0x30); }, 2000));
    EXPECT_GE(g_get_monotonic_time() - start, 2000);
    EXPECT_EQ(apic_read(1, TIMER_CUR), 0u) << "a one-shot timer stops at 0";
    EXPECT_TRUE(take_requests(1) & VCPU_REQ_INTERRUPT);
    EXPECT_EQ(apic_read(1, TIMER_INIT), 2000000u);
}

TEST_F(LapicTest, TimerPeriodicAndDivide)
{
    apic_write(0, TIMER_DCR, 0x03);                     // divide by 16
    apic_write(0, LVT_TIMER, 0x20000 | 0x31);           // periodic
    apic_write(0, TIMER_INIT, 62500);                   // 1 ms
    int fired = 0;
    int64_t start = g_get_monotonic_time();
    ASSERT_TRUE(run_until([&] {
        if (pc_cpu_interrupt_pending(&vcpus[0])) {
            EXPECT_EQ(pc_cpu_interrupt_ack(&vcpus[0]), 0x31);
            apic_write(0, EOI, 0);
            fired++;
        }
        return fired >= 5;
    }, 2000));
    EXPECT_GE(g_get_monotonic_time() - start, 4000) << "five 1 ms periods";
    uint32_t cur = apic_read(0, TIMER_CUR);
    EXPECT_GT(cur, 0u) << "periodic reloads";
    EXPECT_LE(cur, 62500u);
    apic_write(0, TIMER_INIT, 0);                       // stop
    EXPECT_EQ(apic_read(0, TIMER_CUR), 0u);
}

TEST_F(LapicTest, MaskedTimerDoesNotInterrupt)
{
    apic_write(1, TIMER_DCR, 0x0B);
    apic_write(1, LVT_TIMER, 0x10000 | 0x30);
    apic_write(1, TIMER_INIT, 100000);
    g_usleep(1000);
    run_until([] { return false; }, 5);
    EXPECT_FALSE(irr(1, 0x30));
    EXPECT_EQ(apic_read(1, TIMER_CUR), 0u) << "it still counted to 0";
}

TEST_F(LapicTest, SoftwareDisableMasksLvts)
{
    apic_write(1, LVT_TIMER, 0x30);
    EXPECT_EQ(apic_read(1, LVT_TIMER), 0x30u);
    apic_write(1, SVR, 0xFF);
    EXPECT_EQ(apic_read(1, LVT_TIMER), 0x10030u);
    apic_write(1, LVT_TIMER, 0x30);
    EXPECT_EQ(apic_read(1, LVT_TIMER), 0x10030u) << "the mask cannot be cleared while disabled";
}

}  // namespace
