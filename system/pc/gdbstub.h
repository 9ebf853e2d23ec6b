/*
 * ember-system-x86_64's gdb stub (-gdb tcp:[HOST]:PORT, -s): the GDB remote protocol (core/gdbstub) against
 * the running PC. One gdb thread per vCPU (thread id = CPU index + 1); registers with the control
 * registers; memory by virtual address through the CPU's current page tables; software and hardware
 * breakpoints; single step (interrupts held off meanwhile, as QEMU does); continue; Ctrl-C; detach and kill.
 * All-stop: when one CPU stops, all do. On TCG (gdbstub.c's hooks) breakpoints are a table the translator
 * consults (guest memory is never patched) and write, read and access watchpoints make the CPUs single-step
 * while any is set; on KVM (gdbstub-kvm.c) breakpoints are debug registers and watchpoints are gdb's own.
 *
 * QEMU's behaviour is kept: the machine runs while nobody is connected (unless -S), a connecting gdb stops
 * it, gdb's continue starts a machine created with -S, detaching lets it run on, and gdb hears W00 when the
 * guest powers off.
 */
#ifndef EMBER_PC_GDBSTUB_H
#define EMBER_PC_GDBSTUB_H

#include <glib.h>
#include <stdbool.h>

#include "system/pc/machine.h"

/*
 * Listen (host NULL: every interface; port 0: any free port, printed on stderr) and serve gdb on a thread
 * of its own. Call after the vCPUs exist and before they start. False with *err when the accelerator has no
 * debugging support or the port cannot be bound.
 */
bool pc_gdb_start(Machine *m, const char *host, int port, GError **err);

/* The machine is gone (the main loop ended with this exit code): a waiting gdb hears W. */
void pc_gdb_machine_exit(int code);

#endif
