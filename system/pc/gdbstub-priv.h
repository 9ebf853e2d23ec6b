/* Shared by gdbstub.c (sessions, stops, the vCPU hooks) and gdbstub-target.c (what gdb reads and writes). */
#ifndef EMBER_PC_GDBSTUB_PRIV_H
#define EMBER_PC_GDBSTUB_PRIV_H

#include "core/gdbstub/rsp.h"
#include "core/gdbstub/x86-watch.h"
#include "system/pc/accel-tcg/accel-tcg.h"
#include "system/pc/accel.h"
#include "system/pc/gdbstub.h"

typedef enum PcGdbState {
    PC_GDB_IDLE,             /* nobody connected: the machine runs freely */
    PC_GDB_RUNNING,          /* gdb waits for a stop */
    PC_GDB_STOPPING,         /* a stop was taken (a vCPU event or Ctrl-C): the gdb thread will report it */
    PC_GDB_SERVING,          /* every vCPU parked, gdb's commands are being answered */
} PcGdbState;

typedef struct PcGdbCpu {
    GdbResumeKind kind;      /* what gdb said this CPU does; NONE: it stays stopped while others run */
    uint64_t pc_before;      /* pc when the translator was entered */
    bool exit_request_before;
    bool step_after_delivery;   /* a stepped instruction raised an exception: stop once it is delivered */
    bool resume_pc_valid;    /* resumed from a breakpoint at resume_pc: step over it first */
    uint64_t resume_pc;
    bool step_over;          /* KVM: stepping off an execution breakpoint before it continues */
    int npred;               /* watchpoints: what the instruction about to run accesses */
    GdbX86Access pred[GDB_X86_MAX_ACCESSES];
} PcGdbCpu;

typedef struct PcGdbBreak {
    int type;                /* GDB_BP_* / GDB_WP_* */
    uint64_t addr, len;
    /* KVM: the debug register holding it (-1: none), or the INT3 patched into RAM at paddr over orig. */
    int slot;
    bool patched;
    uint64_t paddr;
    uint8_t orig;
} PcGdbBreak;

/* KVM: the register state of a parked vCPU as the stub sees it, read at each stop, written back if gdb
   changed it. env has a system half (env->sys) so the TCG register and page-walk code serves both. */
typedef struct PcGdbShadow {
    CPUX86State *env;
    X86VcpuState state;
    uint8_t xsave[4096];
    bool valid, dirty;
} PcGdbShadow;

#define PC_GDB_MAX_BREAKS 64

typedef struct PcGdb {
    Machine *m;
    int listen_fd;
    int wake[2];             /* a vCPU took a stop: wakes the gdb thread's poll */
    GdbServer server;
    GdbTargetOps ops;
    int state;               /* PcGdbState; changed with the machine lock held */
    GdbStop stop;            /* the stop being reported */
    PcGdbCpu *cpus;
    bool kvm;                /* the accelerator is KVM (else TCG) */
    PcGdbShadow *shadow;     /* KVM: one per vCPU */
    PcGdbShadow *kvm_scratch;   /* KVM: each vCPU's own, for watchpoint decoding while it runs */
    uint32_t kvm_control;    /* KVM: the guest-debug setting of a continuing vCPU, and its debug registers */
    uint64_t kvm_dr[8];
    GCond cond;              /* CPUs told to stay stopped wait here (machine lock) */
    /* Changed only while every vCPU is parked; read by them when they run. */
    PcGdbBreak breaks[PC_GDB_MAX_BREAKS];
    int nbreaks, nbp, nwatch;
} PcGdb;

extern PcGdb pc_gdb;

/* gdbstub-kvm.c */
void pc_gdb_kvm_init(PcGdb *g);
void pc_gdb_kvm_pull(PcGdb *g);
void pc_gdb_kvm_resume(PcGdb *g);
int pc_gdb_kvm_insert(PcGdb *g, PcGdbBreak *b);
void pc_gdb_kvm_remove(PcGdb *g, PcGdbBreak *b);
/* AccelKvmDebug.on_debug_exit: is this #DB / #BP the debugger's? (on the vCPU's thread) */
int pc_gdb_kvm_debug_exit(Vcpu *v, uint32_t exception, uint64_t pc, uint64_t dr6);

/* gdbstub.c: take a stop for vCPU v (on its thread, no lock); true (the vCPU parks). */
bool pc_gdb_vcpu_stop(Vcpu *v, GdbStop *stop);

/* gdbstub-target.c */
/* The CPU state gdb reads and writes for vCPU index i (TCG: the live one; KVM: the shadow). */
CPUX86State *pc_gdb_env(int index);
/* Virtual -> physical through env's page tables, without side effects; false: not mapped. */
bool pc_gdb_virt_to_phys(CPUX86State *env, uint64_t va, uint64_t *pa);
void pc_gdb_target_init(PcGdb *g);
bool pc_gdb_breakpoint_at(uint64_t linear);
/* GDB_BP_SW or GDB_BP_HW when a breakpoint is at linear (software wins when both are), else -1. */
int pc_gdb_break_type(uint64_t linear);
void pc_gdb_clear_breaks(PcGdb *g);
/* The linear address of the CPU's pc. */
uint64_t pc_gdb_linear_pc(CPUX86State *env);
/* Record what the instruction at the pc will access (watchpoints set). */
void pc_gdb_predict(PcGdbCpu *c, CPUX86State *env);
/* Did the predicted accesses touch a watchpoint? Fills the stop's watch fields. */
bool pc_gdb_watch_hit(const PcGdbCpu *c, GdbStop *stop);

#endif
