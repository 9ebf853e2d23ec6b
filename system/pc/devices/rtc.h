/*
 * The MC146818 real-time clock and its CMOS RAM at ports 0x70 (index; bit 7, the NMI mask, is ignored)
 * and 0x71 (data). It keeps the host's wall-clock time (plus whatever offset the guest sets), raises
 * IRQ 8 for periodic, alarm and update-ended interrupts, and holds the BIOS memory-size bytes.
 */
#ifndef EMBER_PC_DEVICES_RTC_H
#define EMBER_PC_DEVICES_RTC_H

#include "system/pc/machine.h"

typedef struct Rtc Rtc;

/* Fills the CMOS memory-size bytes from m's RAM layout and m->nr_vcpus. */
Rtc *rtc_create(Machine *m, IrqLine irq8);
void rtc_reset(void *rtc);

#endif
