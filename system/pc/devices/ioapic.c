/*
 * Intel 82093AA I/O APIC (datasheet order no. 290566). Software selects a register through IOREGSEL
 * (offset 0x00) and accesses it through IOWIN (offset 0x10): 0x00 ID, 0x01 version, 0x02 arbitration,
 * 0x10 + 2n / 0x11 + 2n the low and high halves of redirection entry n. An edge-triggered input sends
 * its message on each rising edge (remembered while masked, sent when unmasked); a level-triggered one
 * sends while asserted unless remote IRR is set, which the local APIC's EOI clears.
 *
 * Polarity (bit 13) is stored but not applied: our lines carry "asserted", not electrical levels, so
 * an active-low PCI INTx raised by its device reads as asserted whatever the guest programs.
 */
#include "system/pc/devices/ioapic.h"

#include "system/pc/devices/lapic.h"
#include "system/pc/iobus.h"

#define IOAPIC_PINS      PC_NUM_GSI
#define IOAPIC_VERSION   0x11                  /* 82093AA */

#define RTE_MASKED       (1ull << 16)
#define RTE_LEVEL        (1ull << 15)
#define RTE_REMOTE_IRR   (1ull << 14)
#define RTE_WMASK_LO     0x1AFFFull            /* vector, delivery mode, dest mode, polarity, trigger, mask */

struct IoApic {
    Machine *m;
    uint8_t sel;
    uint32_t id;
    uint64_t rte[IOAPIC_PINS];
    uint32_t lines;             /* input levels */
    uint32_t edge_pending;      /* edges that arrived while masked */
};

static void ioapic_send(IoApic *s, int pin)
{
    uint64_t e = s->rte[pin];
    bool level = e & RTE_LEVEL;
    if (level) {
        s->rte[pin] |= RTE_REMOTE_IRR;  /* until the EOI for this vector comes back */
    }
    apic_bus_deliver(s->m, e >> 56, e & (1u << 11), (e >> 8) & 7, e & 0xFF, level);
}

/* Deliver whatever the pin's state and entry call for now. */
static void ioapic_service(IoApic *s, int pin)
{
    uint64_t e = s->rte[pin];
    uint32_t bit = 1u << pin;
    if (e & RTE_MASKED) {
        return;
    }
    if (e & RTE_LEVEL) {
        if ((s->lines & bit) && !(e & RTE_REMOTE_IRR)) {
            ioapic_send(s, pin);
        }
    } else if (s->edge_pending & bit) {
        s->edge_pending &= ~bit;
        ioapic_send(s, pin);
    }
}

static void ioapic_set_irq(void *opaque, int pin, int level)
{
    IoApic *s = opaque;
    if (pin < 0 || pin >= IOAPIC_PINS) {
        return;
    }
    uint32_t bit = 1u << pin;
    bool rising = level && !(s->lines & bit);
    s->lines = level ? (s->lines | bit) : (s->lines & ~bit);
    if (!(s->rte[pin] & RTE_LEVEL) && rising) {
        s->edge_pending |= bit;
    }
    ioapic_service(s, pin);
}

IrqLine ioapic_input(IoApic *s, int pin) { return (IrqLine){ .handler = ioapic_set_irq, .opaque = s, .n = pin }; }

void ioapic_eoi(IoApic *s, uint8_t vector)
{
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = s->rte[pin];
        if ((e & RTE_LEVEL) && (e & RTE_REMOTE_IRR) && (e & 0xFF) == vector) {
            s->rte[pin] &= ~RTE_REMOTE_IRR;
            ioapic_service(s, pin);     /* still asserted: the device wants service again */
        }
    }
}

static uint32_t ioapic_read_reg(IoApic *s)
{
    unsigned sel = s->sel;
    switch (sel) {
    case 0x00: return s->id;
    case 0x01: return IOAPIC_VERSION | (IOAPIC_PINS - 1) << 16;
    case 0x02: return s->id;            /* arbitration ID */
    default:
        if (sel >= 0x10 && sel < 0x10 + 2 * IOAPIC_PINS) {
            uint64_t e = s->rte[(sel - 0x10) / 2];
            return (sel & 1) ? e >> 32 : (uint32_t)e;
        }
        machine_log(s->m, MACHINE_LOG_GUEST_ERRORS, "ioapic: read of register %#x", sel);
        return 0;
    }
}

static void ioapic_write_reg(IoApic *s, uint32_t val)
{
    unsigned sel = s->sel;
    if (sel == 0x00) {
        s->id = val & 0x0F000000;
        return;
    }
    if (sel < 0x10 || sel >= 0x10 + 2 * IOAPIC_PINS) {
        machine_log(s->m, MACHINE_LOG_GUEST_ERRORS, "ioapic: write 0x%x to register %#x", val, sel);
        return;
    }
    int pin = (sel - 0x10) / 2;
    uint64_t e = s->rte[pin];
    if (sel & 1) {
        e = (e & 0xFFFFFFFFull) | (uint64_t)(val & 0xFF000000) << 32;
    } else {
        e = (e & ~RTE_WMASK_LO & ~0xFFFFFFFFull) | (e & RTE_REMOTE_IRR) | (val & RTE_WMASK_LO);
        if (!(e & RTE_LEVEL)) {
            e &= ~RTE_REMOTE_IRR;       /* remote IRR is only meaningful for level-triggered entries */
        }
    }
    s->rte[pin] = e;
    ioapic_service(s, pin);             /* an unmask delivers a remembered edge or an asserted level */
}

static uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    IoApic *s = opaque;
    if (offset == 0x00) {
        return s->sel;
    }
    if (offset == 0x10) {
        return ioapic_read_reg(s);
    }
    return 0;
}

static void ioapic_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    IoApic *s = opaque;
    if (offset == 0x00) {
        s->sel = value & 0xFF;
    } else if (offset == 0x10 && size == 4) {
        ioapic_write_reg(s, value);
    } else {
        machine_log(s->m, MACHINE_LOG_GUEST_ERRORS, "ioapic: %u-byte write at offset %#llx ignored", size,
                    (unsigned long long)offset);
    }
}

static const IoOps ioapic_ops = { .read = ioapic_mmio_read, .write = ioapic_mmio_write };

void ioapic_reset(void *opaque)
{
    IoApic *s = opaque;
    s->sel = 0;
    s->id = PC_IOAPIC_ID << 24;
    s->edge_pending = 0;
    for (int i = 0; i < IOAPIC_PINS; i++) {
        s->rte[i] = RTE_MASKED;         /* datasheet: every entry masked after reset */
    }
}

IoApic *ioapic_create(Machine *m)
{
    IoApic *s = g_new0(IoApic, 1);
    s->m = m;
    ioapic_reset(s);
    iobus_add(&m->mmio, "ioapic", PC_IOAPIC_BASE, 0x1000, &ioapic_ops, s);
    return s;
}
