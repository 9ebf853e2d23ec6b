/*
 * ember-x86_64's gdb stub (-g PORT / EMBER_GDB): the user-mode glue around core/gdbstub's protocol.
 * The CPU loop calls the hooks below only while linux_gdb_active is set. All-stop: when one guest thread
 * stops (breakpoint, step, watchpoint, fault), every other thread is stopped at its next block boundary
 * (threads blocked in system calls count as stopped) before gdb is told. gdb's Ctrl-C is read by a watcher
 * thread while the guest runs; the next thread to leave guest code reports SIGINT.
 */
#ifndef EMBER_LINUX_GDBSTUB_H
#define EMBER_LINUX_GDBSTUB_H

#include <stdbool.h>
#include <stdint.h>

#include "core/gdbstub/rsp.h"
#include "user/linux/thread.h"

extern bool linux_gdb_active;

/* Listen on port (0: any free port; the port is printed on stderr), wait for gdb; 0 or -1. */
int linux_gdb_start(int port);

/* Before a thread runs guest code: report what it stopped for, wait while the process is stopped. */
void linux_gdb_before_exec(LinuxThread *t);
/* After it ran: note breakpoints and finished steps; a guest fault is reported to gdb here, and the reason
   becomes TCG_EXIT_NONE when gdb continues without the signal. */
TCGExitReason linux_gdb_after_exec(LinuxThread *t, TCGExitReason why);
/* The process is ending with exit_group(code), or by signal sig: tell gdb (W / X). */
void linux_gdb_exit(int code);
void linux_gdb_killed(int sig);

/* ---- between gdbstub.c and gdbstub-target.c ---- */

typedef struct LinuxGdbBreak {
    int type;                   /* GDB_BP_* / GDB_WP_* */
    uint64_t addr, len;
    uint8_t old[8];             /* write watchpoints: the value last seen */
} LinuxGdbBreak;

#define LINUX_GDB_MAX_BREAKS 64

extern LinuxGdbBreak linux_gdb_breaks[LINUX_GDB_MAX_BREAKS];
extern int linux_gdb_nbreaks, linux_gdb_nwatch;

extern const GdbTargetOps linux_gdb_target_ops;
/* The ids of the live guest threads (at most max); their number. */
int linux_gdb_thread_ids(int *tids, int max);
/* The calling thread's guest thread has ended: gdb no longer lists it (waits while gdb has the process
   stopped). Called whether or not gdb is active. */
void linux_gdb_thread_exit(void);
/* The live guest thread with this id, or NULL. */
LinuxThread *linux_gdb_thread(int tid);
/* Guest memory through /proc/self/mem: faults become short counts, and writes reach read-only code. */
long linux_gdb_read_mem(uint64_t addr, void *buf, size_t len);
/* Is there a breakpoint (software or hardware) at pc? */
bool linux_gdb_breakpoint_at(uint64_t pc);
/* Drop every breakpoint and watchpoint (detach), invalidating the translations they changed. */
void linux_gdb_clear_breaks(void);

#endif
