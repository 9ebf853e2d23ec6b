/* The run control's state, shared by runstate.c (main-thread side) and vcpu.c (the vCPU threads). */
#ifndef EMBER_PC_RUNSTATE_PRIV_H
#define EMBER_PC_RUNSTATE_PRIV_H

#include "system/pc/accel.h"
#include "system/pc/runstate.h"

typedef struct PcVcpuCtl {
    pid_t tid;
    bool started;
    bool parked;
    bool reload;             /* load the reset/boot state on the vCPU's own thread before running */
    bool halt_if;            /* IF when it halted: with IF=0 only NMI, INIT, SIPI or STOP wake it */
} PcVcpuCtl;

typedef struct PcListener {
    PcEventFn fn;
    void *opaque;
} PcListener;

struct PcRun {
    Machine *m;
    PcHooks hooks;
    GMainLoop *loop;
    GThread *main_thread;
    PcVcpuCtl *ctl;          /* one per vCPU */
    int nr_started, nr_parked;
    GCond parked_cond;       /* a vCPU parked (with the machine lock) */
    int hold;                /* the main thread needs every vCPU parked (reset, shutdown in progress) */
    bool quit;               /* parked vCPUs leave their thread */
    bool prelaunch;          /* -S and never continued */
    bool request_scheduled;  /* an idle source will run pc_run_process_requests */
    int exit_code;
    GArray *listeners;       /* PcListener */
};

/* The vCPUs must not run: paused, a reset or shutdown pending, quitting (lock held). */
static inline bool pc_run_must_park(PcRun *r)
{
    Machine *m = r->m;
    return r->hold > 0 || r->quit || m->run_state != MACHINE_RUNNING ||
           m->pending_reset != SHUTDOWN_CAUSE_NONE || m->pending_shutdown != SHUTDOWN_CAUSE_NONE;
}

/*
 * Does this vCPU wait for INIT/SIPI in the loop? APs do when the local APICs are ours; with an in-kernel
 * irqchip (KVM) the accelerator's APIC holds them inside vcpu_run until their SIPI.
 */
static inline bool pc_vcpu_waits_for_sipi(const Vcpu *v)
{
    return v->index != 0 && !(v->machine->accel && v->machine->accel->irqchip_in_kernel);
}

/* Ask every vCPU to come back to its loop (lock held). */
void pc_run_kick_all(PcRun *r);
/* Wait until every started vCPU is parked (lock held; releases it while waiting). */
void pc_run_wait_parked(PcRun *r);

gpointer pc_vcpu_thread(gpointer opaque);

#endif
