/*
 * The PC's legacy and interrupt devices, created in one call: 8259 PIC pair, 8254 PIT and port 0x61,
 * MC146818 RTC, two 16550A UARTs, i8042, reset ports 0x92 and 0xCF9, local APICs, I/O APIC and the
 * ACPI PM block. With an in-kernel irqchip (m->accel->irqchip_in_kernel) the PIC, PIT, I/O APIC and
 * local APICs are the accelerator's and are not created here.
 *
 * Interrupt wiring: devices raise their ISA IRQ number as GSI n through machine_set_gsi(); the machine
 * sends GSI n < 16 to the PIC's input n (m->pic_in) and to m->ioapic_in[n]. m->ioapic_in[0] leads to
 * I/O APIC pin 2 (the MADT's "ISA IRQ 0 -> GSI 2" override); every other GSI n to pin n. The PIC's INT
 * goes to the BSP's LINT0.
 */
#ifndef EMBER_PC_DEVICES_PC_DEVICES_H
#define EMBER_PC_DEVICES_PC_DEVICES_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "system/pc/chardev-out.h"
#include "system/pc/devices/uart.h"
#include "system/pc/machine.h"

/* The \_S5 sleep type in the DSDT (system/pc/boot agrees): SLP_TYP 5 + SLP_EN powers off. */
#define PC_ACPI_S5_SLP_TYP  5

/* The ACPI PM block's parts, for the FADT. */
#define PC_ACPI_PM1_EVT_BLK (PC_ACPI_PM_BASE + 0x00)   /* PM1_STS, PM1_EN: 4 bytes */
#define PC_ACPI_PM1_EVT_LEN 4
#define PC_ACPI_PM1_CNT_BLK (PC_ACPI_PM_BASE + 0x04)   /* PM1_CNT: 2 bytes */
#define PC_ACPI_PM1_CNT_LEN 2
#define PC_ACPI_PM_TMR_BLK  (PC_ACPI_PM_BASE + 0x08)   /* 24-bit PM timer, 3.579545 MHz: 4 bytes */
#define PC_ACPI_PM_TMR_LEN  4
#define PC_ACPI_GPE0_BLK    (PC_ACPI_PM_BASE + 0x20)   /* GPE0_STS, GPE0_EN (optional; nothing raises GPEs) */
#define PC_ACPI_GPE0_LEN    4

#define PC_NUM_UARTS 2

typedef struct PcDevices PcDevices;

typedef struct PcDevicesConfig {
    CharOut uart_out[PC_NUM_UARTS];     /* COM1, COM2 output (write NULL: dropped) */
    /* Optional: the guest read from UART `index`, so uart_can_receive() may be nonzero again. Called
       with the machine lock held (so it may call uart_receive() directly). */
    void (*uart_rx_ready)(void *opaque, int index);
    void *uart_rx_opaque;
} PcDevicesConfig;

#define PC_DEVICES_ERROR (pc_devices_error_quark())
GQuark pc_devices_error_quark(void);

/* Creates and wires every device; registers their reset hooks. NULL with err set on failure. */
PcDevices *pc_devices_create(Machine *m, const PcDevicesConfig *cfg, GError **err);
/* The ACPI power button (QMP system_powerdown, monitor): lock held. */
void pc_devices_power_button(PcDevices *d);
/* COM1 (index 0) or COM2 (1), NULL otherwise. */
Uart *pc_devices_uart(PcDevices *d, int index);

#endif
