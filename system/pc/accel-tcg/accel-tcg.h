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

#endif
