/*
 * Device timers as GLib sources on the machine's main context. g_source_set_ready_time has microsecond
 * resolution, which is what the PIT's and the APIC timer's periods need; the callback takes the machine
 * lock, as every device entry point runs with it.
 */
#include "system/pc/timer.h"

#include <time.h>

#include "system/pc/machine.h"

struct MachineTimer {
    GSource source;
    Machine *machine;
    MachineTimerCb cb;
    void *opaque;
    int64_t deadline_ns;     /* -1: disarmed */
};

int64_t machine_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static gboolean machine_timer_dispatch(GSource *source, GSourceFunc unused_cb, gpointer unused_data)
{
    (void)unused_cb;
    (void)unused_data;
    MachineTimer *t = (MachineTimer *)source;
    machine_lock(t->machine);
    /* Re-armed for later (or disarmed) by another thread since the source became ready: not yet. */
    if (t->deadline_ns >= 0 && t->deadline_ns <= machine_clock_ns()) {
        t->deadline_ns = -1;
        g_source_set_ready_time(source, -1);
        t->cb(t->opaque);
    }
    machine_unlock(t->machine);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs machine_timer_funcs = { .dispatch = machine_timer_dispatch };

MachineTimer *machine_timer_new(Machine *m, MachineTimerCb cb, void *opaque)
{
    MachineTimer *t = (MachineTimer *)g_source_new(&machine_timer_funcs, sizeof(MachineTimer));
    t->machine = m;
    t->cb = cb;
    t->opaque = opaque;
    t->deadline_ns = -1;
    g_source_set_priority(&t->source, G_PRIORITY_HIGH);
    g_source_attach(&t->source, m->main_context);
    return t;
}

void machine_timer_mod(MachineTimer *t, int64_t deadline_ns)
{
    t->deadline_ns = deadline_ns < 0 ? 0 : deadline_ns;
    /* Ready time is in g_get_monotonic_time()'s microseconds, which is CLOCK_MONOTONIC too; round up so
       the source never fires before the deadline. GLib wakes its context when another thread calls this. */
    g_source_set_ready_time(&t->source, (t->deadline_ns + 999) / 1000);
}

void machine_timer_del(MachineTimer *t)
{
    t->deadline_ns = -1;
    g_source_set_ready_time(&t->source, -1);
}

bool machine_timer_pending(const MachineTimer *t) { return t->deadline_ns >= 0; }

void machine_timer_free(MachineTimer *t)
{
    if (t) {
        g_source_destroy(&t->source);
        g_source_unref(&t->source);
    }
}
