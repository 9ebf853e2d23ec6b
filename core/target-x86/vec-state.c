/* Helpers for the vector-state instructions that do not run on the host: LDMXCSR, VZERO*, XGETBV, CPUID. */
#include <string.h>

#include "core/target-x86/cpuid.h"
#include "core/target-x86/helpers.h"

void helper_ldmxcsr(CPUX86State *env, uint32_t value)
{
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
