/*
 * The legacy devices' side of ember-system-x86_64's wiring (devices/pc-devices.h): kept apart from main.c
 * so that the front end links while that library is being written (stubs.c stands in for board.c).
 */
#ifndef EMBER_PC_BOARD_H
#define EMBER_PC_BOARD_H

#include <glib.h>
#include <stdbool.h>

#include "system/pc/chardev-out.h"
#include "system/pc/chardev.h"
#include "system/pc/machine.h"

/* Create the PC's legacy devices; com_out are the two UARTs' outputs, com_in receives their inputs, and
   rx_ready(opaque, index) says UART index has room for input again (lock held, any thread). */
bool pc_board_create_devices(Machine *m, const CharOut com_out[2], PcCharFrontend com_in[2],
                             void (*rx_ready)(void *opaque, int index), void *rx_opaque, GError **err);
/* The ACPI power button (lock held). */
void pc_board_power_button(Machine *m);

#endif
