/*
 * Device timers on the host's monotonic clock. Callbacks run on the main thread's GLib main context with
 * the machine lock held, like every other device entry point. A timer fires once per arming.
 */
#ifndef EMBER_PC_TIMER_H
#define EMBER_PC_TIMER_H

#include <stdbool.h>
#include <stdint.h>

struct Machine;
typedef struct MachineTimer MachineTimer;
typedef void (*MachineTimerCb)(void *opaque);

/* CLOCK_MONOTONIC in nanoseconds: the time base of every device. */
int64_t machine_clock_ns(void);

MachineTimer *machine_timer_new(struct Machine *m, MachineTimerCb cb, void *opaque);
/* Fire at deadline_ns (absolute, machine_clock_ns()); re-arming replaces the previous deadline. */
void machine_timer_mod(MachineTimer *t, int64_t deadline_ns);
void machine_timer_del(MachineTimer *t);           /* disarm */
bool machine_timer_pending(const MachineTimer *t);
void machine_timer_free(MachineTimer *t);

#endif
