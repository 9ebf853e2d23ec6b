/*
 * Booting a guest without firmware: ember loads the kernel itself, the way a boot loader would, and
 * leaves the boot CPU in the state the kernel's entry point expects. Two kinds of kernel:
 *   - Linux bzImages (the x86 boot protocol, 2.06 or later): the protected-mode part is loaded, the zero
 *     page (boot_params) gets the command line, the initrd and the e820 map, and the CPU starts at the
 *     64-bit entry (startup_64) when the kernel has one, else at the 32-bit one;
 *   - multiboot v1 kernels (ELF, or any format through the header's address fields): loaded, given
 *     the multiboot information structure, started in flat 32-bit protected mode.
 * Either way the ACPI tables (RSDP, XSDT, MADT, FADT, FACS, DSDT) are written into the BIOS area so
 * the kernel finds the CPUs, the I/O APIC, the PM block and how to power off.
 */
#ifndef EMBER_PC_BOOT_H
#define EMBER_PC_BOOT_H

#include <glib.h>
#include <stdbool.h>

#include "system/pc/machine.h"

typedef struct PcBootConfig {
    const char *kernel;      /* -kernel: a bzImage or a multiboot kernel (required) */
    const char *initrd;      /* -initrd or NULL: for multiboot, comma-separated files become modules */
    const char *append;      /* -append or NULL: the kernel command line */
} PcBootConfig;

/*
 * Load the kernel (and initrd) into the machine's RAM, build the ACPI tables, and set
 * m->vcpus[0].boot_state to the kernel's entry state. The other vCPUs keep their reset state; the
 * guest starts them with INIT/SIPI. False with a one-line error naming the file on bad input.
 */
bool pc_boot_load(Machine *m, const PcBootConfig *cfg, GError **err);

/* Write the ACPI tables for m (its vCPU count, the I/O APIC, the PM block). pc_boot_load calls it. */
bool pc_acpi_build(Machine *m, GError **err);

/* Where the ACPI root pointer goes: the BIOS read-only area, which Linux also scans for it. */
#define PC_ACPI_RSDP_ADDR   0xF0000ull

/*
 * The sleep type value of \_S5 in the DSDT: when the guest writes SLP_TYP = this with SLP_EN to
 * PM1a_CNT, the machine powers off. (The PM block's code in devices/ compares against it.)
 */
/* Also defined by devices/pc-devices.h: identical definitions are fine, differing ones fail to compile. */
#define PC_ACPI_S5_SLP_TYP  5

#define PC_BOOT_ERROR (pc_boot_error_quark())
GQuark pc_boot_error_quark(void);

#endif
