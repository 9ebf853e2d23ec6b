/*
 * The vCPU threads: one per vCPU, each looping on the accelerator's vcpu_run (kvmtool's shape: a switch on
 * the exit reason into the same device dispatch TCG uses). Between runs, with the machine lock held, the
 * loop parks while the machine is not running, applies INIT and SIPI (APs start in wait-for-SIPI), and
 * sleeps on Machine.vcpu_wake while the CPU is halted.
 *
 * Request bits: this loop consumes INIT, SIPI and STOP; INTERRUPT and NMI belong to the accelerator (it
 * delivers them), the loop only looks at them to end a HLT.
 */
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "system/pc/accel.h"
#include "system/pc/options.h"
#include "system/pc/runstate-priv.h"

#define X86_RFLAGS_IF (1ull << 9)

static void pc_vcpu_load(Vcpu *v, const X86VcpuState *s, const char *why)
{
    Machine *m = v->machine;
    GError *err = NULL;
    if (!m->accel->ops->vcpu_set_state(v, s, &err)) {
        fprintf(stderr, PC_PROGRAM_NAME ": vCPU %d: cannot load its %s state: %s\n", v->index, why,
                err ? err->message : "?");
        g_clear_error(&err);
        machine_request_shutdown(m, SHUTDOWN_CAUSE_GUEST_PANIC);
        pc_run_set_exit_code(m, 1);
        return;
    }
    machine_log(m, MACHINE_LOG_CPU_RESET, "CPU %d: %s state cs=%04x:%016" G_GINT64_MODIFIER "x rip=%016"
                G_GINT64_MODIFIER "x cr0=%08" G_GINT64_MODIFIER "x", v->index, why, s->cs.selector,
                (guint64)s->cs.base, (guint64)s->rip, (guint64)s->cr0);
}

/* After a reset: the BSP loads what the boot code left in boot_state, the APs the INIT state. */
static void pc_vcpu_reload(Vcpu *v)
{
    if (v->index == 0) {
        pc_vcpu_load(v, &v->boot_state, "boot");
    } else {
        X86VcpuState s;
        x86_state_reset(&s, v->index, false);
        pc_vcpu_load(v, &s, "reset");
        v->wait_for_sipi = pc_vcpu_waits_for_sipi(v);
    }
}

void pc_vcpus_load_pending(Machine *m)
{
    PcRun *r = pc_run_get(m);
    for (int i = 0; i < m->nr_vcpus; i++) {
        if (r->ctl[i].reload && r->ctl[i].parked) {
            r->ctl[i].reload = false;
            pc_vcpu_reload(&m->vcpus[i]);
        }
    }
}

/* INIT: the CPU takes its INIT state; an AP then waits for a start-up IPI. */
static void pc_vcpu_init(Vcpu *v)
{
    X86VcpuState s;
    x86_state_reset(&s, v->index, v->index == 0);
    pc_vcpu_load(v, &s, "INIT");
    v->halted = false;
    v->wait_for_sipi = pc_vcpu_waits_for_sipi(v);
}

/* SIPI: real mode at vector << 12, i.e. CS = vector << 8, IP = 0 (Intel SDM vol. 3, 9.4.4). */
static void pc_vcpu_sipi(Vcpu *v)
{
    X86VcpuState s;
    x86_state_reset(&s, v->index, false);
    s.cs.selector = (uint16_t)(v->sipi_vector << 8);
    s.cs.base = (uint64_t)v->sipi_vector << 12;
    s.rip = 0;
    pc_vcpu_load(v, &s, "SIPI");
    v->wait_for_sipi = false;
    v->halted = false;
}

/* Does a halted CPU have a reason to run again (lock held)? */
static bool pc_vcpu_halt_ends(PcRun *r, Vcpu *v, unsigned req)
{
    if (req & (VCPU_REQ_NMI | VCPU_REQ_INIT | VCPU_REQ_SIPI)) {
        return true;
    }
    if (!r->ctl[v->index].halt_if) {
        return false;   /* HLT with interrupts off: only NMI, INIT (or a reset) ends it */
    }
    if (r->m->accel->irqchip_in_kernel) {
        return req & VCPU_REQ_INTERRUPT;
    }
    return pc_cpu_interrupt_pending(v);
}

/* Port I/O: count repeats of size bytes each (string I/O), in order. */
static void pc_vcpu_io(Machine *m, AccelExit *e)
{
    for (uint32_t i = 0; i < (e->io.count ? e->io.count : 1); i++) {
        uint8_t *p = e->io.data + (size_t)i * e->io.size;
        uint64_t value = 0;
        if (e->io.is_write) {
            memcpy(&value, p, e->io.size);
            iobus_write(&m->pio, e->io.port, value, e->io.size);
        } else {
            value = iobus_read(&m->pio, e->io.port, e->io.size);
            memcpy(p, &value, e->io.size);
        }
        machine_log(m, MACHINE_LOG_IOPORT, "%s port %04x size %u value %0*" G_GINT64_MODIFIER "x",
                    e->io.is_write ? "out" : "in", e->io.port, e->io.size, e->io.size * 2, (guint64)value);
    }
}

static void pc_vcpu_mmio(Machine *m, AccelExit *e)
{
    uint64_t value = 0;
    if (e->mmio.is_write) {
        memcpy(&value, e->mmio.data, e->mmio.size);
        iobus_write(&m->mmio, e->mmio.gpa, value, e->mmio.size);
    } else {
        value = iobus_read(&m->mmio, e->mmio.gpa, e->mmio.size);
        memcpy(e->mmio.data, &value, e->mmio.size);
    }
}

/* Act on one exit (lock held). */
static void pc_vcpu_handle_exit(PcRun *r, Vcpu *v, AccelExit *e)
{
    Machine *m = r->m;
    switch (e->reason) {
    case ACCEL_EXIT_IO:
        pc_vcpu_io(m, e);
        break;
    case ACCEL_EXIT_MMIO:
        pc_vcpu_mmio(m, e);
        break;
    case ACCEL_EXIT_HALT: {
        X86VcpuState s;
        GError *err = NULL;
        bool got = m->accel->ops->vcpu_get_state(v, &s, &err);
        g_clear_error(&err);
        r->ctl[v->index].halt_if = got ? (s.rflags & X86_RFLAGS_IF) != 0 : true;
        v->halted = true;
        break;
    }
    case ACCEL_EXIT_SHUTDOWN:
        machine_log(m, MACHINE_LOG_GUEST_ERRORS, "CPU %d: triple fault, resetting the machine", v->index);
        machine_request_reset(m, SHUTDOWN_CAUSE_GUEST_RESET);
        break;
    case ACCEL_EXIT_RESET:
        machine_request_reset(m, SHUTDOWN_CAUSE_GUEST_RESET);
        break;
    case ACCEL_EXIT_POWEROFF:
        machine_request_shutdown(m, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        break;
    case ACCEL_EXIT_REQUEST:
        break;
    case ACCEL_EXIT_ERROR:
        fprintf(stderr, PC_PROGRAM_NAME ": vCPU %d: %s\n", v->index, e->error);
        pc_run_set_exit_code(m, 1);
        machine_request_shutdown(m, SHUTDOWN_CAUSE_GUEST_PANIC);
        break;
    }
}

static void pc_vcpu_park(PcRun *r, Vcpu *v)
{
    PcVcpuCtl *c = &r->ctl[v->index];
    c->parked = true;
    r->nr_parked++;
    g_cond_broadcast(&r->parked_cond);
    while (pc_run_must_park(r) && !r->quit) {
        __atomic_fetch_and(&v->requests, ~(unsigned)VCPU_REQ_STOP, __ATOMIC_SEQ_CST);
        g_cond_wait(&r->m->vcpu_wake, &r->m->lock);
    }
    r->nr_parked--;
    c->parked = false;
}

gpointer pc_vcpu_thread(gpointer opaque)
{
    Vcpu *v = opaque;
    Machine *m = v->machine;
    PcRun *r = pc_run_get(m);
    PcVcpuCtl *c = &r->ctl[v->index];
    AccelExit *e = g_new0(AccelExit, 1);
    vcpu_current = v;
    machine_lock(m);
    c->tid = (pid_t)syscall(SYS_gettid);
    g_cond_broadcast(&r->parked_cond);   /* pc_vcpus_start waits for the ids */
    for (;;) {
        if (pc_run_must_park(r)) {
            pc_vcpu_park(r, v);
            if (r->quit) {
                break;
            }
            continue;
        }
        if (c->reload) {
            c->reload = false;
            pc_vcpu_reload(v);
            continue;   /* loading may fail and request a shutdown */
        }
        unsigned req = __atomic_fetch_and(&v->requests, ~(unsigned)(VCPU_REQ_INIT | VCPU_REQ_STOP), __ATOMIC_SEQ_CST);
        if (req & VCPU_REQ_INIT) {
            pc_vcpu_init(v);
        }
        if (v->wait_for_sipi || (req & VCPU_REQ_SIPI)) {
            /* SIPI counts only in wait-for-SIPI (the second one Linux sends is ignored) */
            req = __atomic_fetch_and(&v->requests, ~(unsigned)VCPU_REQ_SIPI, __ATOMIC_SEQ_CST);
            if ((req & VCPU_REQ_SIPI) && v->wait_for_sipi) {
                pc_vcpu_sipi(v);
            }
        }
        if (v->wait_for_sipi) {
            if (!(__atomic_load_n(&v->requests, __ATOMIC_SEQ_CST) & (VCPU_REQ_INIT | VCPU_REQ_SIPI | VCPU_REQ_STOP))) {
                g_cond_wait(&m->vcpu_wake, &m->lock);
            }
            continue;
        }
        if (v->halted) {
            unsigned now = __atomic_load_n(&v->requests, __ATOMIC_SEQ_CST);
            if (!pc_vcpu_halt_ends(r, v, now)) {
                if (!(now & VCPU_REQ_STOP)) {
                    g_cond_wait(&m->vcpu_wake, &m->lock);
                }
                continue;
            }
            v->halted = false;
        }
        machine_unlock(m);
        m->accel->ops->vcpu_run(v, e);
        machine_lock(m);
        pc_vcpu_handle_exit(r, v, e);
    }
    c->started = false;
    r->nr_started--;   /* pc_vcpu_park already uncounted it */
    g_cond_broadcast(&r->parked_cond);
    machine_unlock(m);
    vcpu_current = NULL;
    g_free(e);
    return NULL;
}
