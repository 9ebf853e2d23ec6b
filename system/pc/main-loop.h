/*
 * The main thread's loop: GLib on Machine.main_context, running device timers, character input, block
 * completions, QMP and the run control's requests; SIGINT/SIGTERM shut the machine down cleanly.
 */
#ifndef EMBER_PC_MAIN_LOOP_H
#define EMBER_PC_MAIN_LOOP_H

#include <glib.h>
#include <stdbool.h>

#include "system/pc/machine.h"

/* Install the signal handlers and write the pid file (removed again by pc_main_loop_run). */
bool pc_main_loop_prepare(Machine *m, const char *pidfile, GError **err);
/* Run until the machine shuts down; then stop the vCPUs, flush the disks, remove the pid file and
   return the process's exit status. */
int pc_main_loop_run(Machine *m);

#endif
