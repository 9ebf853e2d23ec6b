/*
 * Run control of the PC machine: the vCPU threads (vcpu.c), pausing and resuming them, machine resets and
 * shutdowns, and the events they raise for QMP. The main thread acts on reset and shutdown requests; the
 * vCPU threads park whenever the machine is not running, so that a reset or a QMP stop always sees every
 * CPU outside the accelerator.
 *
 * The machine's other parts (devices, virtio, boot) are reached through PcHooks, so that this module and
 * the protocols on top of it (qmp.c, monitor.c) are tested with a fake machine and a fake accelerator.
 */
#ifndef EMBER_PC_RUNSTATE_H
#define EMBER_PC_RUNSTATE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "system/pc/machine.h"

/* One disk as query-block and "info block" show it. */
typedef struct PcBlockInfo {
    char *id;
    char *path;
    bool readonly;
    uint64_t size;
} PcBlockInfo;

void pc_block_info_free(gpointer info);

typedef struct PcHooks {
    void (*power_button)(Machine *m);          /* ACPI power button (lock held); NULL: none */
    void (*flush_disks)(Machine *m);           /* before the process ends (no lock) */
    GPtrArray *(*block_list)(Machine *m);      /* of PcBlockInfo *, freed with pc_block_info_free */
} PcHooks;

/* An event listener (QMP): name is "SHUTDOWN"..., data a JSON object text or NULL. Main thread. */
typedef void (*PcEventFn)(void *opaque, const char *name, const char *data_json, int64_t when_us);

typedef struct PcRun PcRun;

/* Attach run control to a machine (m->main_loop points to it) whose main_context is set. */
PcRun *pc_run_new(Machine *m, const PcHooks *hooks);
PcRun *pc_run_get(Machine *m);
void pc_run_add_listener(Machine *m, PcEventFn fn, void *opaque);
void pc_run_remove_listener(Machine *m, PcEventFn fn, void *opaque);
/* Raise an event (any thread; delivered on the main thread). */
void pc_run_emit(Machine *m, const char *name, const char *data_json);
/* The GMainLoop the main thread runs; a shutdown quits it. */
GMainLoop *pc_run_loop(Machine *m);
/* The process's exit status once the loop has quit: 0 after a clean shutdown. */
int pc_run_exit_code(Machine *m);
void pc_run_set_exit_code(Machine *m, int code);
const PcHooks *pc_run_hooks(Machine *m);

/* Start one thread per vCPU (after vcpu_init and boot). With start_paused the CPUs wait for cont (-S). */
bool pc_vcpus_start(Machine *m, bool start_paused, GError **err);
/* Park every vCPU for good and join the threads (after the main loop quit; no lock). */
void pc_vcpus_stop_and_join(Machine *m);
/* The Linux thread id of a vCPU's thread (query-cpus-fast), 0 before it started. */
pid_t pc_vcpu_thread_id(Machine *m, int index);

/*
 * A debugger's stop (the gdb stub; lock held, any thread): hold parks every vCPU as a pause does, without
 * changing the run state that QMP reports; wait_parked returns once they all are; release lets them run
 * again. Holds nest. load_pending gives parked vCPUs the boot/reset state they would load before running
 * (so a debugger attached with -S sees the kernel's entry state, and its register writes are kept).
 */
void pc_run_debug_hold(Machine *m);
void pc_run_debug_wait_parked(Machine *m);
void pc_run_debug_release(Machine *m);
void pc_vcpus_load_pending(Machine *m);

/* QMP stop / cont (lock held; main thread). stop returns once every vCPU is parked. */
void pc_vm_stop(Machine *m);
void pc_vm_cont(Machine *m);
/* "running", "paused", "prelaunch", "shutdown" (lock held). */
const char *pc_vm_status(Machine *m);
bool pc_vm_running(Machine *m);

/* The SHUTDOWN/RESET events' "reason" and "guest" fields. */
const char *pc_shutdown_cause_name(MachineShutdownCause cause);
bool pc_shutdown_cause_is_guest(MachineShutdownCause cause);

/* Run pending reset/shutdown requests now (main thread, lock held); the main loop calls it for you. */
void pc_run_process_requests(Machine *m);

#endif
