/*
 * The human monitor, as QEMU's: on the console after Ctrl-A c (or from the start with -monitor stdio).
 * Commands: info status, info cpus, info block, stop, cont, system_reset, system_powerdown, quit, help.
 */
#ifndef EMBER_PC_MONITOR_H
#define EMBER_PC_MONITOR_H

#include <stdint.h>

#include "system/pc/machine.h"

typedef void (*PcMonitorWrite)(void *opaque, const char *text);

typedef struct PcMonitor PcMonitor;

PcMonitor *pc_monitor_new(Machine *m, PcMonitorWrite write, void *opaque);
void pc_monitor_free(PcMonitor *mon);
/* The console switched to the monitor: print the prompt. */
void pc_monitor_enter(PcMonitor *mon);
/* One byte typed (raw terminal: the monitor echoes and edits the line itself). Lock NOT held. */
void pc_monitor_input(PcMonitor *mon, uint8_t byte);
/* Run one command line; returns its output (g_free it). Main thread, machine lock held. */
char *pc_monitor_command(Machine *m, const char *line);

#endif
