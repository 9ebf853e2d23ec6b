/*
 * The ACPI fixed-hardware power management block at PC_ACPI_PM_BASE: PM1a_EVT_BLK (PM1_STS, PM1_EN),
 * PM1a_CNT_BLK (SCI_EN, SLP_TYP, SLP_EN), the 24-bit PM timer, and an empty GPE0 block; its SCI is
 * ISA IRQ 9, level triggered. The FADT (system/pc/boot) describes these addresses: see pc-devices.h.
 */
#ifndef EMBER_PC_DEVICES_ACPI_PM_H
#define EMBER_PC_DEVICES_ACPI_PM_H

#include "system/pc/machine.h"

typedef struct AcpiPm AcpiPm;

AcpiPm *acpi_pm_create(Machine *m, IrqLine sci);
/* The power button was pressed: PWRBTN_STS, and an SCI if the guest enabled it. */
void acpi_pm_power_button(AcpiPm *pm);
void acpi_pm_reset(void *pm);

#endif
