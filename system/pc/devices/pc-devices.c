/* Creates the PC's devices and wires their interrupt lines (see pc-devices.h). */
#include "system/pc/devices/pc-devices.h"

#include "system/pc/accel.h"
#include "system/pc/devices/acpi-pm.h"
#include "system/pc/devices/i8042.h"
#include "system/pc/devices/ioapic.h"
#include "system/pc/devices/lapic.h"
#include "system/pc/devices/pic.h"
#include "system/pc/devices/pit.h"
#include "system/pc/devices/reset-ports.h"
#include "system/pc/devices/rtc.h"

#define ISA_IRQ_KBD 1
#define ISA_IRQ_PIT 0
#define ISA_IRQ_RTC 8
#define ISA_IRQ_AUX 12

typedef struct PcUartPort {
    PcDevices *d;
    int index;
} PcUartPort;

struct PcDevices {
    Machine *m;
    Pic *pic;
    Pit *pit;
    IoApic *ioapic;
    Rtc *rtc;
    Uart *uart[PC_NUM_UARTS];
    PcUartPort uart_port[PC_NUM_UARTS];
    I8042 *kbc;
    ResetPorts *reset_ports;
    AcpiPm *acpi_pm;
    void (*uart_rx_ready)(void *opaque, int index);
    void *uart_rx_opaque;
};

G_DEFINE_QUARK(pc-devices-error-quark, pc_devices_error)

/* The master PIC's INT pin: wired to the BSP's LINT0. */
static void pc_devices_pic_output(void *opaque, int n, int level)
{
    (void)n;
    PcDevices *d = opaque;
    if (d->m->nr_vcpus > 0 && d->m->vcpus[0].apic) {
        lapic_set_lint0(d->m->vcpus[0].apic, level);
    }
}

static void pc_devices_uart_rx_space(void *opaque)
{
    PcUartPort *port = opaque;
    if (port->d->uart_rx_ready) {
        port->d->uart_rx_ready(port->d->uart_rx_opaque, port->index);
    }
}

static void pc_devices_create_irqchips(PcDevices *d)
{
    Machine *m = d->m;
    d->ioapic = ioapic_create(m);
    machine_register_reset(m, ioapic_reset, d->ioapic);
    for (int gsi = 0; gsi < PC_NUM_GSI; gsi++) {
        m->ioapic_in[gsi] = ioapic_input(d->ioapic, gsi);
    }
    /* ISA IRQ 0 (the PIT) is I/O APIC pin 2, as the MADT's interrupt source override says; pin 0 is
       left to nothing, like the 8259 cascade input on a real board. */
    m->ioapic_in[ISA_IRQ_PIT] = ioapic_input(d->ioapic, 2);

    d->pic = pic_create(m, (IrqLine){ .handler = pc_devices_pic_output, .opaque = d, .n = 0 });
    machine_register_reset(m, pic_reset, d->pic);
    for (int irq = 0; irq < 16; irq++) {
        m->pic_in[irq] = pic_input(d->pic, irq);
    }

    for (int i = 0; i < m->nr_vcpus; i++) {
        Vcpu *v = &m->vcpus[i];
        v->apic = lapic_create(m, v, i == 0 ? d->pic : NULL, d->ioapic);
        machine_register_reset(m, lapic_reset, v->apic);
    }
    lapic_register_mmio(m);

    d->pit = pit_create(m, machine_gsi(m, ISA_IRQ_PIT));
    machine_register_reset(m, pit_reset, d->pit);
}

PcDevices *pc_devices_create(Machine *m, const PcDevicesConfig *cfg, GError **err)
{
    static const struct { const char *name; uint16_t port; int irq; } uarts[PC_NUM_UARTS] = {
        { "com1", PC_COM1_PORT, PC_COM1_IRQ },
        { "com2", PC_COM2_PORT, PC_COM2_IRQ },
    };
    if (m->nr_vcpus < 1 || m->nr_vcpus > 255) {
        g_set_error(err, PC_DEVICES_ERROR, 0, "devices: %d CPUs do not fit xAPIC IDs",
                    m->nr_vcpus);
        return NULL;
    }
    /* Every range we claim must be free: a clash means two devices were given the same ports. */
    static const uint16_t ports[] = { 0x20, 0xA0, 0x4D0, 0x40, 0x61, 0x70, 0x60, 0x64, 0x92,
                                      PC_COM1_PORT, PC_COM2_PORT, PC_ACPI_PM_BASE };
    for (size_t i = 0; i < G_N_ELEMENTS(ports); i++) {
        const IoRange *r = iobus_find(&m->pio, ports[i]);
        if (r) {
            g_set_error(err, PC_DEVICES_ERROR, 0, "devices: port %#x is already %s's", ports[i],
                        r->name);
            return NULL;
        }
    }

    PcDevices *d = g_new0(PcDevices, 1);
    d->m = m;
    d->uart_rx_ready = cfg ? cfg->uart_rx_ready : NULL;
    d->uart_rx_opaque = cfg ? cfg->uart_rx_opaque : NULL;

    if (!(m->accel && m->accel->irqchip_in_kernel)) {
        pc_devices_create_irqchips(d);
    }

    d->rtc = rtc_create(m, machine_gsi(m, ISA_IRQ_RTC));
    machine_register_reset(m, rtc_reset, d->rtc);
    for (int i = 0; i < PC_NUM_UARTS; i++) {
        CharOut out = cfg ? cfg->uart_out[i] : (CharOut){ 0 };
        d->uart_port[i] = (PcUartPort){ .d = d, .index = i };
        d->uart[i] = uart_create(m, uarts[i].name, uarts[i].port, machine_gsi(m, uarts[i].irq), out,
                                 pc_devices_uart_rx_space, &d->uart_port[i]);
        machine_register_reset(m, uart_reset, d->uart[i]);
    }
    d->kbc = i8042_create(m, machine_gsi(m, ISA_IRQ_KBD), machine_gsi(m, ISA_IRQ_AUX));
    machine_register_reset(m, i8042_reset, d->kbc);
    d->reset_ports = reset_ports_create(m);
    machine_register_reset(m, reset_ports_reset, d->reset_ports);
    d->acpi_pm = acpi_pm_create(m, machine_gsi(m, PC_ACPI_SCI_IRQ));
    machine_register_reset(m, acpi_pm_reset, d->acpi_pm);
    return d;
}

void pc_devices_power_button(PcDevices *d)
{
    acpi_pm_power_button(d->acpi_pm);
}

Uart *pc_devices_uart(PcDevices *d, int index)
{
    return index >= 0 && index < PC_NUM_UARTS ? d->uart[index] : NULL;
}
