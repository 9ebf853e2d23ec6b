/*
 * Run control, main-thread side: pause/resume, the reset and shutdown requests that any thread may raise
 * (a device on a vCPU thread, QMP, a signal) and that the main thread carries out once every vCPU is
 * parked, and the events these raise. See runstate.h.
 */
#include "system/pc/runstate-priv.h"

#include <stdio.h>
#include <string.h>

#include "system/pc/accel.h"

static PcRun *pc_run_of(Machine *m) { return m->main_loop; }

PcRun *pc_run_get(Machine *m) { return pc_run_of(m); }

void pc_block_info_free(gpointer p)
{
    PcBlockInfo *b = p;
    g_free(b->id);
    g_free(b->path);
    g_free(b);
}

PcRun *pc_run_new(Machine *m, const PcHooks *hooks)
{
    PcRun *r = g_new0(PcRun, 1);
    r->m = m;
    if (hooks) {
        r->hooks = *hooks;
    }
    r->loop = g_main_loop_new(m->main_context, FALSE);
    r->main_thread = g_thread_self();
    r->ctl = g_new0(PcVcpuCtl, m->nr_vcpus > 0 ? m->nr_vcpus : 1);
    g_cond_init(&r->parked_cond);
    r->listeners = g_array_new(FALSE, FALSE, sizeof(PcListener));
    m->main_loop = r;
    return r;
}

GMainLoop *pc_run_loop(Machine *m) { return pc_run_of(m)->loop; }
int pc_run_exit_code(Machine *m) { return pc_run_of(m)->exit_code; }
void pc_run_set_exit_code(Machine *m, int code) { pc_run_of(m)->exit_code = code; }
const PcHooks *pc_run_hooks(Machine *m) { return &pc_run_of(m)->hooks; }

void pc_run_add_listener(Machine *m, PcEventFn fn, void *opaque)
{
    PcListener l = { fn, opaque };
    g_array_append_val(pc_run_of(m)->listeners, l);
}

void pc_run_remove_listener(Machine *m, PcEventFn fn, void *opaque)
{
    GArray *ls = pc_run_of(m)->listeners;
    for (guint i = 0; i < ls->len; i++) {
        PcListener *l = &g_array_index(ls, PcListener, i);
        if (l->fn == fn && l->opaque == opaque) {
            g_array_remove_index(ls, i);
            return;
        }
    }
}

typedef struct PcPendingEvent {
    PcRun *r;
    char *name, *data;
    int64_t when_us;
} PcPendingEvent;

static void pc_run_deliver(PcRun *r, const char *name, const char *data, int64_t when_us)
{
    for (guint i = 0; i < r->listeners->len; i++) {
        PcListener *l = &g_array_index(r->listeners, PcListener, i);
        l->fn(l->opaque, name, data, when_us);
    }
}

static gboolean pc_run_deliver_later(gpointer p)
{
    PcPendingEvent *e = p;
    pc_run_deliver(e->r, e->name, e->data, e->when_us);
    return G_SOURCE_REMOVE;
}

static void pc_pending_event_free(gpointer p)
{
    PcPendingEvent *e = p;
    g_free(e->name);
    g_free(e->data);
    g_free(e);
}

void pc_run_emit(Machine *m, const char *name, const char *data_json)
{
    PcRun *r = pc_run_of(m);
    if (!r) {
        return;
    }
    int64_t now = g_get_real_time();
    if (g_thread_self() == r->main_thread) {
        pc_run_deliver(r, name, data_json, now);
        return;
    }
    PcPendingEvent *e = g_new0(PcPendingEvent, 1);
    *e = (PcPendingEvent){ r, g_strdup(name), g_strdup(data_json), now };
    GSource *s = g_idle_source_new();
    g_source_set_priority(s, G_PRIORITY_DEFAULT);
    g_source_set_callback(s, pc_run_deliver_later, e, pc_pending_event_free);
    g_source_attach(s, m->main_context);
    g_source_unref(s);
}

static const struct {
    MachineShutdownCause cause;
    const char *name;
    bool guest;
} pc_causes[] = {
    { SHUTDOWN_CAUSE_NONE, "none", false },
    { SHUTDOWN_CAUSE_HOST_QMP_QUIT, "host-qmp-quit", false },
    { SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET, "host-qmp-system-reset", false },
    { SHUTDOWN_CAUSE_HOST_SIGNAL, "host-signal", false },
    { SHUTDOWN_CAUSE_HOST_UI, "host-ui", false },
    { SHUTDOWN_CAUSE_GUEST_SHUTDOWN, "guest-shutdown", true },
    { SHUTDOWN_CAUSE_GUEST_RESET, "guest-reset", true },
    { SHUTDOWN_CAUSE_GUEST_PANIC, "guest-panic", true },
};

const char *pc_shutdown_cause_name(MachineShutdownCause cause)
{
    for (size_t i = 0; i < G_N_ELEMENTS(pc_causes); i++) {
        if (pc_causes[i].cause == cause) {
            return pc_causes[i].name;
        }
    }
    return "none";
}

bool pc_shutdown_cause_is_guest(MachineShutdownCause cause)
{
    for (size_t i = 0; i < G_N_ELEMENTS(pc_causes); i++) {
        if (pc_causes[i].cause == cause) {
            return pc_causes[i].guest;
        }
    }
    return false;
}

static void pc_run_emit_cause(Machine *m, const char *event, MachineShutdownCause cause)
{
    char *data = g_strdup_printf("{\"guest\": %s, \"reason\": \"%s\"}",
                                 pc_shutdown_cause_is_guest(cause) ? "true" : "false", pc_shutdown_cause_name(cause));
    pc_run_emit(m, event, data);
    g_free(data);
}

void pc_run_kick_all(PcRun *r)
{
    for (int i = 0; i < r->m->nr_vcpus; i++) {
        vcpu_request(&r->m->vcpus[i], VCPU_REQ_STOP);
    }
    g_cond_broadcast(&r->m->vcpu_wake);
}

void pc_run_wait_parked(PcRun *r)
{
    while (r->nr_parked < r->nr_started) {
        g_cond_wait(&r->parked_cond, &r->m->lock);
    }
}

static gboolean pc_run_requests_cb(gpointer opaque)
{
    PcRun *r = opaque;
    machine_lock(r->m);
    r->request_scheduled = false;
    pc_run_process_requests(r->m);
    machine_unlock(r->m);
    return G_SOURCE_REMOVE;
}

/* Have the main thread look at the pending requests soon (lock held). */
static void pc_run_schedule(PcRun *r)
{
    if (r->request_scheduled) {
        return;
    }
    r->request_scheduled = true;
    GSource *s = g_idle_source_new();
    g_source_set_priority(s, G_PRIORITY_HIGH);
    g_source_set_callback(s, pc_run_requests_cb, r, NULL);
    g_source_attach(s, r->m->main_context);
    g_source_unref(s);
}

void machine_request_reset(Machine *m, MachineShutdownCause cause)
{
    PcRun *r = pc_run_of(m);
    if (!r) {
        /* Before run control exists (the machine is being built): remembered for when it runs. */
        m->pending_reset = m->pending_reset ? m->pending_reset : cause;
        return;
    }
    if (m->no_reboot) {
        machine_request_shutdown(m, cause);   /* -no-reboot: a reset ends the process (SHUTDOWN event) */
        return;
    }
    if (m->pending_reset == SHUTDOWN_CAUSE_NONE) {
        m->pending_reset = cause;
    }
    pc_run_kick_all(r);
    pc_run_schedule(r);
}

void machine_request_shutdown(Machine *m, MachineShutdownCause cause)
{
    PcRun *r = pc_run_of(m);
    if (!r) {
        m->pending_shutdown = m->pending_shutdown ? m->pending_shutdown : cause;
        return;
    }
    if (m->pending_shutdown == SHUTDOWN_CAUSE_NONE) {
        m->pending_shutdown = cause;
    }
    pc_run_kick_all(r);
    pc_run_schedule(r);
}

void machine_request_powerdown(Machine *m)
{
    PcRun *r = pc_run_of(m);
    if (!r) {
        return;
    }
    pc_run_emit(m, "POWERDOWN", NULL);
    if (r->hooks.power_button) {
        r->hooks.power_button(m);
    }
}

/* Reset: every vCPU parked, devices reset (the boot code's hook reloads the kernel), CPUs reloaded. */
static void pc_run_do_reset(PcRun *r, MachineShutdownCause cause)
{
    Machine *m = r->m;
    r->hold++;
    pc_run_kick_all(r);
    pc_run_wait_parked(r);
    machine_reset_devices(m);
    for (int i = 0; i < m->nr_vcpus; i++) {
        Vcpu *v = &m->vcpus[i];
        __atomic_store_n(&v->requests, 0, __ATOMIC_SEQ_CST);
        v->halted = false;
        v->wait_for_sipi = pc_vcpu_waits_for_sipi(v);
        r->ctl[i].reload = true;
    }
    machine_log(m, MACHINE_LOG_CPU_RESET, "machine reset (%s)", pc_shutdown_cause_name(cause));
    m->pending_reset = SHUTDOWN_CAUSE_NONE;
    r->hold--;
    pc_run_emit_cause(m, "RESET", cause);
    g_cond_broadcast(&m->vcpu_wake);
}

void pc_run_process_requests(Machine *m)
{
    PcRun *r = pc_run_of(m);
    if (m->pending_shutdown != SHUTDOWN_CAUSE_NONE && m->run_state != MACHINE_SHUTDOWN) {
        MachineShutdownCause cause = m->pending_shutdown;
        m->run_state = MACHINE_SHUTDOWN;
        pc_run_kick_all(r);
        pc_run_wait_parked(r);
        pc_run_emit_cause(m, "SHUTDOWN", cause);
        g_main_loop_quit(r->loop);
        return;
    }
    if (m->pending_reset != SHUTDOWN_CAUSE_NONE && m->run_state != MACHINE_SHUTDOWN) {
        pc_run_do_reset(r, m->pending_reset);
    }
}

void pc_run_debug_hold(Machine *m)
{
    PcRun *r = pc_run_of(m);
    r->hold++;
    pc_run_kick_all(r);
}

void pc_run_debug_wait_parked(Machine *m)
{
    pc_run_wait_parked(pc_run_of(m));
}

void pc_run_debug_release(Machine *m)
{
    PcRun *r = pc_run_of(m);
    if (r->hold > 0) {
        r->hold--;
    }
    g_cond_broadcast(&m->vcpu_wake);
}

void pc_vm_stop(Machine *m)
{
    PcRun *r = pc_run_of(m);
    if (m->run_state != MACHINE_RUNNING) {
        return;
    }
    m->run_state = MACHINE_PAUSED;
    pc_run_kick_all(r);
    pc_run_wait_parked(r);
    pc_run_emit(m, "STOP", NULL);
}

void pc_vm_cont(Machine *m)
{
    PcRun *r = pc_run_of(m);
    if (m->run_state != MACHINE_PAUSED) {
        return;
    }
    m->run_state = MACHINE_RUNNING;
    r->prelaunch = false;
    g_cond_broadcast(&m->vcpu_wake);
    pc_run_emit(m, "RESUME", NULL);
}

const char *pc_vm_status(Machine *m)
{
    PcRun *r = pc_run_of(m);
    switch (m->run_state) {
    case MACHINE_RUNNING:
        return "running";
    case MACHINE_PAUSED:
        return r->prelaunch ? "prelaunch" : "paused";
    case MACHINE_SHUTDOWN:
        return "shutdown";
    }
    return "running";
}

bool pc_vm_running(Machine *m) { return m->run_state == MACHINE_RUNNING; }

pid_t pc_vcpu_thread_id(Machine *m, int index)
{
    PcRun *r = pc_run_of(m);
    return index >= 0 && index < m->nr_vcpus ? r->ctl[index].tid : 0;
}

bool pc_vcpus_start(Machine *m, bool start_paused, GError **err)
{
    PcRun *r = pc_run_of(m);
    machine_lock(m);
    if (start_paused) {
        m->run_state = MACHINE_PAUSED;
        r->prelaunch = true;
    }
    for (int i = 0; i < m->nr_vcpus; i++) {
        Vcpu *v = &m->vcpus[i];
        v->wait_for_sipi = pc_vcpu_waits_for_sipi(v);   /* APs wait for INIT/SIPI from the BSP */
        r->ctl[i].reload = true;
        r->ctl[i].started = true;
        r->nr_started++;
        char *name = g_strdup_printf("vcpu%d", i);
        v->thread = g_thread_try_new(name, pc_vcpu_thread, v, err);
        g_free(name);
        if (!v->thread) {
            r->ctl[i].started = false;
            r->nr_started--;
            machine_unlock(m);
            return false;
        }
    }
    /* Every thread has its id before QMP can ask for it (query-cpus-fast). */
    for (int i = 0; i < m->nr_vcpus; i++) {
        while (r->ctl[i].tid == 0) {
            g_cond_wait(&r->parked_cond, &m->lock);
        }
    }
    if (m->pending_reset != SHUTDOWN_CAUSE_NONE || m->pending_shutdown != SHUTDOWN_CAUSE_NONE) {
        pc_run_schedule(r);   /* requested while the machine was being built */
    }
    machine_unlock(m);
    return true;
}

void pc_vcpus_stop_and_join(Machine *m)
{
    PcRun *r = pc_run_of(m);
    machine_lock(m);
    r->quit = true;
    pc_run_kick_all(r);
    machine_unlock(m);
    for (int i = 0; i < m->nr_vcpus; i++) {
        if (m->vcpus[i].thread) {
            g_thread_join(m->vcpus[i].thread);
            m->vcpus[i].thread = NULL;
        }
    }
}
