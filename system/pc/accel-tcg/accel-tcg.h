/*
 * The TCG accelerator (accel_tcg_ops of accel.h). This header only adds what tests need: the CPU state
 * behind a vCPU.
 */
#ifndef EMBER_PC_ACCEL_TCG_H
#define EMBER_PC_ACCEL_TCG_H

#include "core/target-x86/cpu.h"
#include "system/pc/machine.h"

/* The translator's CPU state of a vCPU (after vcpu_init). */
CPUX86State *accel_tcg_env(Vcpu *v);

/*
 * A debugger's hooks into the vCPU loop (system/pc/gdbstub*.c; NULL without -gdb). before_exec runs right
 * before the translator runs guest code, after interrupts were delivered; after_exec right after it
 * returned. Either returning true ends vcpu_run with ACCEL_EXIT_REQUEST (the debugger has stopped the
 * machine). irq_masked: no interrupts or NMIs are delivered to this vCPU (a debugger single step).
 */
typedef struct AccelTcgDebug {
    bool (*before_exec)(Vcpu *v, CPUX86State *env);
    bool (*after_exec)(Vcpu *v, CPUX86State *env, TCGExitReason why);
    bool (*irq_masked)(Vcpu *v);
} AccelTcgDebug;

extern const AccelTcgDebug *accel_tcg_debug;

#endif
