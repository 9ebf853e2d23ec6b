/*
 * The e820 memory map a BIOS would report for this machine: conventional memory up to the EBDA, the
 * BIOS area reserved (it holds the ACPI tables), RAM from 1 MiB to the PCI hole and RAM above 4 GiB.
 * The I/O APIC and local APIC pages lie in the PCI hole, which is absent from the map, so not RAM.
 */
#include "system/pc/boot/boot-internal.h"

int pc_e820_build(const Machine *m, PcE820Entry out[PC_E820_MAX])
{
    int n = 0;
    out[n++] = (PcE820Entry){ 0, PC_BOOT_EBDA, E820_RAM };
    out[n++] = (PcE820Entry){ PC_BOOT_EBDA, PC_BOOT_BIOS_END - PC_BOOT_EBDA, E820_RESERVED };
    if (m->ram_low > PC_BOOT_BIOS_END) {
        out[n++] = (PcE820Entry){ PC_BOOT_BIOS_END, m->ram_low - PC_BOOT_BIOS_END, E820_RAM };
    }
    if (m->ram_high) {
        out[n++] = (PcE820Entry){ PC_HIGH_RAM_BASE, m->ram_high, E820_RAM };
    }
    return n;
}
