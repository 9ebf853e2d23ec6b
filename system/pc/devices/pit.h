/*
 * The Intel 8254 programmable interval timer at ports 0x40-0x43 (counter 0 drives ISA IRQ 0, counter 2
 * the speaker and port 0x61's OUT2 bit), and port 0x61 (NMI status and control: counter 2's gate,
 * the speaker enable, the refresh toggle) that Linux reads to calibrate the TSC.
 */
#ifndef EMBER_PC_DEVICES_PIT_H
#define EMBER_PC_DEVICES_PIT_H

#include "system/pc/machine.h"

#define PIT_FREQ_HZ 1193182ull   /* 14.31818 MHz / 12 */

typedef struct Pit Pit;

/* irq0 is counter 0's OUT (the machine's GSI 0). */
Pit *pit_create(Machine *m, IrqLine irq0);
void pit_reset(void *pit);

#endif
