/*
 * The chipset's reset registers: port 0x92 (PS/2 "system control port A": bit 0 fast reset, bit 1 A20)
 * and port 0xCF9 (PIIX/ICH reset control: SYS_RST bit 1, RST_CPU bit 2, FULL_RST bit 3).
 */
#ifndef EMBER_PC_DEVICES_RESET_PORTS_H
#define EMBER_PC_DEVICES_RESET_PORTS_H

#include "system/pc/machine.h"

typedef struct ResetPorts ResetPorts;

ResetPorts *reset_ports_create(Machine *m);
void reset_ports_reset(void *rp);

#endif
