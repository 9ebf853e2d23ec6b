/*
 * Helpers for the vector-state instructions that do not run on the host: LDMXCSR, VZERO*, XGETBV, CPUID;
 * and the rules for MXCSR while generated code runs.
 *
 * MXCSR. Floating-point vector instructions emitted inline (vec-emit.c, core/tcg/host-insn.h) run under
 * the host's MXCSR, which is right only when the guest's control bits are the host's (X86_TBFLAG_MXCSR_HOST
 * in the block key; the instructions that change them end their block). Their exception flags then
 * accumulate in the host's MXCSR: the guest's MXCSR is env->fx.mxcsr with the host's flags ORed in (the
 * flags are sticky, so the order does not matter). x86_mxcsr_fold moves them into env and clears them on
 * the host; it runs when generated code is left (the loop, a fault's signal context) and before any helper
 * reads or replaces env->fx.mxcsr mid-block (STMXCSR, LDMXCSR, FXSAVE/XSAVE and their restores). Host
 * stubs keep the host's MXCSR as it was around their own run, so they need nothing. System mode inlines
 * nothing and keeps none of this (its vCPU threads' own C code, devices and timers, uses floating point).
 */
#include <string.h>
#include <ucontext.h>

#include "core/target-x86/cpuid.h"
#include "core/target-x86/helpers.h"

#define MXCSR_FLAGS 0x3fu

/* The exception flags in the host's MXCSR, cleared there. */
static uint32_t host_mxcsr_take_flags(void)
{
    uint32_t m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    if (m & MXCSR_FLAGS) {
        uint32_t cleared = m & ~MXCSR_FLAGS;
        __asm__ volatile("ldmxcsr %0" : : "m"(cleared));
    }
    return m & MXCSR_FLAGS;
}

void x86_mxcsr_fold(CPUX86State *env)
{
    if (!env->sys) {   /* system mode inlines no floating point; its devices' and timers' is not the guest's */
        env->fx.mxcsr |= host_mxcsr_take_flags();
    }
}

void x86_fold_host_state(TCGCPU *cpu, const void *ucontext)
{
    const ucontext_t *uc = ucontext;
    if (uc == NULL) {
        x86_mxcsr_fold(x86_env(cpu));
    } else if (!x86_env(cpu)->sys && uc->uc_mcontext.fpregs != NULL) {
        x86_env(cpu)->fx.mxcsr |= uc->uc_mcontext.fpregs->mxcsr & MXCSR_FLAGS;
    }
}

void x86_clear_host_state(TCGCPU *cpu)
{
    if (!x86_env(cpu)->sys) {
        host_mxcsr_take_flags();
    }
}

void helper_mxcsr_fold(CPUX86State *env)
{
    x86_mxcsr_fold(env);
}

void helper_ldmxcsr(CPUX86State *env, uint32_t value)
{
    x86_mxcsr_fold(env);   /* what inline code raised before is replaced too */
    if (value & ~x86_mxcsr_mask()) {
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
    env->fx.mxcsr = value;
}

void helper_vzero(CPUX86State *env, uint32_t all)
{
    for (int i = 0; i < 16; i++) {
        if (all) {
            memset(&env->ymm[i], 0, sizeof(env->ymm[i]));
        } else {
            env->ymm[i].q[2] = env->ymm[i].q[3] = 0;
        }
    }
}

void helper_xgetbv(CPUX86State *env)
{
    uint32_t ecx = (uint32_t)env->regs[R_ECX];
    if (ecx != 0) {
        /* XCR0 is the only register; XGETBV with ECX=1 needs XGETBV1, which we do not advertise. */
        x86_raise_exception(env, EXCP_GP, 0, 0);
    }
    uint64_t xcr0 = x86_guest_xcr0(env);
    env->regs[R_EAX] = (uint32_t)xcr0;
    env->regs[R_EDX] = (uint32_t)(xcr0 >> 32);
}

void helper_cpuid(CPUX86State *env)
{
    uint32_t out[4];
    x86_cpuid(env->model, (uint32_t)env->regs[R_EAX], (uint32_t)env->regs[R_ECX], out);
    env->regs[R_EAX] = out[0];
    env->regs[R_EBX] = out[1];
    env->regs[R_ECX] = out[2];
    env->regs[R_EDX] = out[3];
}
