/*
 * The i8042 keyboard controller at ports 0x60 (data) and 0x64 (status / command): enough of it, with a
 * keyboard and a PS/2 mouse that never send anything, for Linux's i8042 and atkbd/psmouse probes; its
 * output port bit 0 (command 0xFE, or 0xD1 with bit 0 clear) is the CPU reset line.
 */
#ifndef EMBER_PC_DEVICES_I8042_H
#define EMBER_PC_DEVICES_I8042_H

#include "system/pc/machine.h"

typedef struct I8042 I8042;

I8042 *i8042_create(Machine *m, IrqLine kbd_irq1, IrqLine aux_irq12);
void i8042_reset(void *kbc);

#endif
