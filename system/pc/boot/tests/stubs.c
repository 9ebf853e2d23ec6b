/* The machine library calls into the local APIC (devices/) for MSIs; the boot tests never send any. */
#include "system/pc/accel.h"

void pc_apic_deliver_msi(Machine *m, uint64_t address, uint32_t data)
{
    (void)m;
    (void)address;
    (void)data;
}
