/* CPU state basics: reset for user mode, the exception path, -d cpu. */
#include <string.h>

#include "core/target-x86/helpers.h"
#include "core/target-x86/translate.h"

void x86_cpu_reset_user(CPUX86State *env)
{
    memset(&env->regs, 0, sizeof(env->regs));
    env->tcg.pc = 0;
    env->cc_op = 0;   /* CC_OP_EFLAGS with cc_src = 0: all arithmetic flags clear */
    env->cc_src = env->cc_dst = env->cc_src2 = 0;
    env->eflags = 0x202;   /* bit 1 is always set; IF is set in user mode */
    env->df = 1;
    memset(env->seg_base, 0, sizeof(env->seg_base));
    env->seg_sel[R_CS] = 0x33;
    env->seg_sel[R_SS] = env->seg_sel[R_DS] = env->seg_sel[R_ES] = 0x2b;
    env->cs_flags = 0;
    x86_fpu_reset(env);
    env->xcr0 = 0x7;
}

void x86_fpu_reset(CPUX86State *env)
{
    memset(env->ymm, 0, sizeof(env->ymm));
    memset(&env->fx, 0, sizeof(env->fx));
    env->fx.fcw = 0x37f;          /* what the kernel gives a new process */
    env->fx.mxcsr = 0x1f80;
    env->fx.mxcsr_mask = 0xffff;
}

void x86_raise_exception(CPUX86State *env, int vector, int error_code, uint64_t addr)
{
    env->exception = vector;
    env->error_code = error_code;
    env->fault_addr = addr;
    env->tcg.pc = env->tcg.insn_pc;
    tcg_cpu_loop_exit(&env->tcg, TCG_EXIT_EXCEPTION);
}

/* The translator stored the pc to report (the instruction, or the next one for traps). */
void helper_raise_exception(CPUX86State *env, uint32_t vector, uint32_t error_code)
{
    env->exception = (int32_t)vector;
    env->error_code = (int32_t)error_code;
    env->fault_addr = 0;
    tcg_cpu_loop_exit(&env->tcg, TCG_EXIT_EXCEPTION);
}

void x86_dump_state(TCGCPU *cpu, FILE *out)
{
    static const char *const names[16] = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
                                          "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15"};
    CPUX86State *env = x86_env(cpu);
    for (int i = 0; i < 16; i++) {
        fprintf(out, "%s=%016llx%s", names[i], (unsigned long long)env->regs[i], i % 4 == 3 ? "\n" : " ");
    }
    fprintf(out, "RIP=%016llx RFL=%08llx FS=%016llx GS=%016llx\n", (unsigned long long)env->tcg.pc,
            (unsigned long long)x86_get_eflags(env), (unsigned long long)env->seg_base[R_FS],
            (unsigned long long)env->seg_base[R_GS]);
}
