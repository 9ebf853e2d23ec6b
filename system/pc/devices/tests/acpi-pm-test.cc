// The ACPI PM block: S5 through SLP_TYP/SLP_EN, the PM timer's rate, the power button's status bit and
// SCI, and SCI_EN always set.
#include "system/pc/devices/tests/device-test-util.h"

namespace {

class AcpiPmTest : public DeviceTest {};

TEST_F(AcpiPmTest, S5PowersOff)
{
    EXPECT_EQ(inw(PC_ACPI_PM1_CNT_BLK) & 1, 1) << "SCI_EN: always in ACPI mode";
    outw(PC_ACPI_PM1_CNT_BLK, (1 << 10) | (1 << 13) | 1);     // S1: not supported, no power-off
    EXPECT_EQ(test_shutdown_requests, 0);
    outw(PC_ACPI_PM1_CNT_BLK, (PC_ACPI_S5_SLP_TYP << 10) | 1);   // SLP_TYP alone does nothing
    EXPECT_EQ(test_shutdown_requests, 0);
    EXPECT_EQ(inw(PC_ACPI_PM1_CNT_BLK), (PC_ACPI_S5_SLP_TYP << 10) | 1);
    outw(PC_ACPI_PM1_CNT_BLK, (PC_ACPI_S5_SLP_TYP << 10) | (1 << 13) | 1);
    EXPECT_EQ(test_shutdown_requests, 1);
    EXPECT_EQ(test_last_cause, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    EXPECT_EQ(inw(PC_ACPI_PM1_CNT_BLK) & (1 << 13), 0) << "SLP_EN reads as 0";
    EXPECT_EQ(test_reset_requests, 0);
}

TEST_F(AcpiPmTest, PmTimerRuns)
{
    uint32_t a = inl(PC_ACPI_PM_TMR_BLK);
    int64_t t0 = g_get_monotonic_time();
    g_usleep(10000);
    uint32_t b = inl(PC_ACPI_PM_TMR_BLK);
    int64_t t1 = g_get_monotonic_time();
    EXPECT_LT(a, 1u << 24);
    EXPECT_LT(b, 1u << 24);
    uint32_t ticks = (b - a) & 0xFFFFFF;
    EXPECT_GE(ticks, 35795u) << "10 ms at 3.579545 MHz";
    EXPECT_LE(ticks, (uint32_t)((t1 - t0 + 2000) * 3.579545));
}

TEST_F(AcpiPmTest, PowerButtonRaisesSci)
{
    LineRecorder sci;
    record_gsi(PC_ACPI_SCI_IRQ, &sci);
    pc_devices_power_button(d);
    EXPECT_EQ(inw(PC_ACPI_PM1_EVT_BLK) & 0x100, 0x100) << "PWRBTN_STS";
    EXPECT_EQ(sci.level, 0) << "not enabled yet";
    outw(PC_ACPI_PM1_EVT_BLK + 2, 0x100);                    // PWRBTN_EN
    EXPECT_EQ(inw(PC_ACPI_PM1_EVT_BLK + 2), 0x100);
    EXPECT_EQ(sci.level, 1) << "level-triggered SCI while status and enable are both set";
    outw(PC_ACPI_PM1_EVT_BLK, 0x0001);                       // clearing another bit changes nothing
    EXPECT_EQ(sci.level, 1);
    outw(PC_ACPI_PM1_EVT_BLK, 0x100);                        // write 1 to clear
    EXPECT_EQ(inw(PC_ACPI_PM1_EVT_BLK) & 0x100, 0);
    EXPECT_EQ(sci.level, 0);
}

}  // namespace
