/*
 * ACPI PM1 fixed hardware (ACPI 6.x spec, 4.8 "ACPI Hardware Features", tables "PM1 Status Registers
 * Fixed Hardware Feature Status Bits", "PM1 Enable Registers", "PM1 Control Registers"). Status bits
 * are write-one-to-clear; the SCI is the OR of every status bit whose enable bit is set. SCI_EN reads
 * as 1 always: the machine is always in ACPI mode (the FADT's SMI_CMD is 0, so the OS never switches).
 */
#include "system/pc/devices/acpi-pm.h"

#include "system/pc/devices/pc-devices.h"
#include "system/pc/iobus.h"
#include "system/pc/timer.h"

#define PM1_TMR_STS    0x0001
#define PM1_GBL_STS    0x0020
#define PM1_PWRBTN_STS 0x0100
#define PM1_WAK_STS    0x8000
#define PM1_STS_MASK   (PM1_TMR_STS | PM1_GBL_STS | PM1_PWRBTN_STS | 0x0200 | 0x0400 | PM1_WAK_STS)
#define PM1_EN_MASK    (0x0001 | 0x0020 | 0x0100 | 0x0200 | 0x0400)

#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_SLP_EN 0x2000

#define PM_TIMER_HZ 3579545ull

struct AcpiPm {
    Machine *m;
    IrqLine sci;
    uint16_t sts, en, cnt;
    uint8_t gpe_en[2];
    MachineTimer *timer;        /* TMR_STS: armed only while TMR_EN is set */
    bool sci_level;
};

static uint32_t acpi_pm_timer_now(void)
{
    return (uint32_t)((unsigned __int128)machine_clock_ns() * PM_TIMER_HZ / 1000000000u) & 0xFFFFFF;
}

static void acpi_pm_update_sci(AcpiPm *pm)
{
    bool level = (pm->sts & pm->en) != 0;
    if (level != pm->sci_level) {
        pm->sci_level = level;
        irq_set(&pm->sci, level);
    }
}

/* TMR_STS is set whenever bit 23 of the PM timer changes; arm the timer at the next such carry. */
static void acpi_pm_schedule(AcpiPm *pm)
{
    if (!(pm->en & PM1_TMR_STS)) {
        machine_timer_del(pm->timer);
        return;
    }
    int64_t now = machine_clock_ns();
    uint64_t ticks = (uint64_t)((unsigned __int128)now * PM_TIMER_HZ / 1000000000u);
    uint64_t next = (ticks | 0x7FFFFF) + 1;
    machine_timer_mod(pm->timer, (int64_t)(((unsigned __int128)next * 1000000000u + PM_TIMER_HZ - 1) / PM_TIMER_HZ));
}

static void acpi_pm_timer_cb(void *opaque)
{
    AcpiPm *pm = opaque;
    pm->sts |= PM1_TMR_STS;
    acpi_pm_update_sci(pm);
    acpi_pm_schedule(pm);
}

void acpi_pm_power_button(AcpiPm *pm)
{
    pm->sts |= PM1_PWRBTN_STS;
    acpi_pm_update_sci(pm);
}

static void acpi_pm_sleep(AcpiPm *pm, unsigned slp_typ)
{
    if (slp_typ == PC_ACPI_S5_SLP_TYP) {
        machine_request_shutdown(pm->m, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    } else {
        machine_log(pm->m, MACHINE_LOG_UNIMP, "acpi: sleep type %u not supported (only S5 = %d)", slp_typ,
                    PC_ACPI_S5_SLP_TYP);
    }
}

/* One byte of the block at a time keeps 8-, 16- and 32-bit accesses (all legal per the FADT) simple. */
static uint8_t acpi_pm_read_byte(AcpiPm *pm, unsigned off)
{
    switch (off) {
    case 0: case 1: return pm->sts >> (8 * off);
    case 2: case 3: return pm->en >> (8 * (off - 2));
    case 4: case 5: return (pm->cnt | PM1_CNT_SCI_EN) >> (8 * (off - 4));
    case 8: case 9: case 10: case 11: return (uint8_t)(acpi_pm_timer_now() >> (8 * (off - 8)));
    case 0x20: case 0x21: return 0;                 /* GPE0_STS: nothing ever raises a GPE */
    case 0x22: case 0x23: return pm->gpe_en[off - 0x22];
    default: return 0;
    }
}

static uint64_t acpi_pm_read(void *opaque, uint64_t offset, unsigned size)
{
    AcpiPm *pm = opaque;
    uint64_t v = 0;
    /* The PM timer is read as one 32-bit value: sample it once so the bytes agree. */
    if (offset == 8 && size == 4) {
        return acpi_pm_timer_now();
    }
    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)acpi_pm_read_byte(pm, offset + i) << (8 * i);
    }
    return v;
}

static void acpi_pm_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    AcpiPm *pm = opaque;
    uint16_t sts_clear = 0, en = pm->en, cnt = pm->cnt;
    bool cnt_written = false;
    for (unsigned i = 0; i < size; i++) {
        unsigned off = offset + i;
        uint8_t b = value >> (8 * i);
        switch (off) {
        case 0: case 1: sts_clear |= (uint16_t)b << (8 * off); break;
        case 2: case 3: en = (en & ~(0xFF << (8 * (off - 2)))) | (uint16_t)b << (8 * (off - 2)); break;
        case 4: case 5:
            cnt = (cnt & ~(0xFF << (8 * (off - 4)))) | (uint16_t)b << (8 * (off - 4));
            cnt_written = true;
            break;
        case 0x22: case 0x23: pm->gpe_en[off - 0x22] = b; break;
        default:
            machine_log(pm->m, MACHINE_LOG_GUEST_ERRORS, "acpi: write to read-only PM offset %#x", off);
            break;
        }
    }
    pm->sts &= ~(sts_clear & PM1_STS_MASK);     /* write 1 to clear */
    pm->en = en & PM1_EN_MASK;
    if (cnt_written) {
        pm->cnt = cnt & ~PM1_CNT_SLP_EN;        /* SLP_EN is write-only: it triggers, never reads back */
        if (cnt & PM1_CNT_SLP_EN) {
            acpi_pm_sleep(pm, (cnt >> 10) & 7);
        }
    }
    acpi_pm_update_sci(pm);
    acpi_pm_schedule(pm);
}

static const IoOps acpi_pm_ops = { .read = acpi_pm_read, .write = acpi_pm_write };

void acpi_pm_reset(void *opaque)
{
    AcpiPm *pm = opaque;
    pm->sts = pm->en = 0;
    pm->cnt = PM1_CNT_SCI_EN;
    pm->gpe_en[0] = pm->gpe_en[1] = 0;
    acpi_pm_update_sci(pm);
    acpi_pm_schedule(pm);
}

AcpiPm *acpi_pm_create(Machine *m, IrqLine sci)
{
    AcpiPm *pm = g_new0(AcpiPm, 1);
    pm->m = m;
    pm->sci = sci;
    pm->timer = machine_timer_new(m, acpi_pm_timer_cb, pm);
    acpi_pm_reset(pm);
    /* One range from PM1a_EVT_BLK to the end of GPE0_BLK; the gap between them reads as zero. */
    iobus_add(&m->pio, "acpi-pm", PC_ACPI_PM_BASE, PC_ACPI_GPE0_BLK + PC_ACPI_GPE0_LEN - PC_ACPI_PM_BASE,
              &acpi_pm_ops, pm);
    return pm;
}
