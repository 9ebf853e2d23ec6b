/*
 * Host execution of guest vector and x87 instructions. The host is x86-64, so such an instruction runs
 * exactly by executing the same instruction on the host with its operands remapped: a small stub, built
 * once per distinct instruction at translation time with Zydis's encoder,
 *
 *   - loads the XMM/YMM registers it uses from env->ymm[] into the same host registers (legacy SSE: 128
 *     bits in and out, so the guest's upper halves stay as they were; VEX: all 256 bits),
 *   - loads its explicit GPR operands into r8..r11 (implicit ones — RAX, RCX, RDX, RDI — into themselves)
 *     and stores the written ones back whole (the host already applied x86's write rules),
 *   - runs it with its memory operand replaced by [rsi] (the guest address: guest_base is 0),
 *   - under the guest's MXCSR and, for x87/MMX instructions, the guest's x87 state (FXRSTOR64/FXSAVE64 of
 *     env->fx), restoring the host's MXCSR, FCW and an empty x87 stack (the SysV ABI's rules) after,
 *   - takes the guest's arithmetic flags in (FCMOVcc) and returns the host's RFLAGS (COMISS, PTEST, FCOMI).
 *
 * The IR calls helper_hostexec_call(env, stub, address, flags in, pc info) -> flags out; that helper
 * also keeps guest floating-point exceptions out of the host (see hostexec-run.c).
 */
#ifndef EMBER_X86_HOSTEXEC_H
#define EMBER_X86_HOSTEXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/target-x86/translate.h"

enum {
    HOSTEXEC_X87 = 1 << 0,         /* uses the x87/MMX state: the stub moves env->fx in and out */
    HOSTEXEC_VEX = 1 << 1,         /* VEX-encoded: whole YMM registers, vzeroupper before returning */
    HOSTEXEC_FLAGS_IN = 1 << 2,    /* reads CF/ZF/PF...: the helper's flags argument is loaded first */
    HOSTEXEC_FLAGS_OUT = 1 << 3,   /* writes arithmetic flags: the helper returns them */
    HOSTEXEC_MEM_READ = 1 << 4,
    HOSTEXEC_MEM_WRITE = 1 << 5,
    HOSTEXEC_NO_PROBE = 1 << 6,    /* masked access: only the enabled elements may fault */
    HOSTEXEC_HIDDEN_MEM = 1 << 7,  /* the memory operand is implicit ([rdi]: MASKMOVDQU, MASKMOVQ) */
    HOSTEXEC_X87_CONTROL = 1 << 8, /* an x87 control instruction that does not wait (FNSTENV, FNINIT...) */
    HOSTEXEC_X87_ARITH = 1 << 9,   /* an x87 instruction that can raise arithmetic exceptions */
    HOSTEXEC_ALIGNED = 1 << 10,    /* the memory operand must be aligned to its size (#GP otherwise) */
    HOSTEXEC_MXCSR = 1 << 11,      /* reads or writes MXCSR (floating point, or LDMXCSR-like) */
};

typedef uint64_t (*HostStubFn)(CPUX86State *env, void *mem, uint64_t flags_in);

typedef struct HostStub {
    HostStubFn code;
    uint32_t flags;                /* HOSTEXEC_* */
    uint32_t mem_bytes;            /* size of the memory operand, 0 if none */
    uint32_t code_size;
    int mem_operand;               /* index in the decoded operands of the memory operand, or -1 */
    int mask_reg;                  /* masked access: the XMM/YMM register whose element MSBs enable, or -1 */
    uint32_t mask_elem;            /* ... and the element size in bytes */
    ZydisMnemonic mnemonic;
    /* The same instruction for the JIT to emit inline (core/tcg/host-insn.h), or NULL when the stub's run
       does more than the instruction: x87 state, flags in, masked or hidden memory operands, GPRs beyond
       the three the inline form has. With HOSTEXEC_MXCSR it is only right while the guest's MXCSR has the
       host's control bits (X86_TBFLAG_MXCSR_HOST; see x86_mxcsr_fold). */
    const struct TCGHostInsn *inline_insn;
} HostStub;

/*
 * The stub for a decoded instruction (cached: identical instructions share one), or NULL if it cannot run
 * on the host (an operand we cannot remap, a control-flow instruction, an encoding that failed).
 */
const HostStub *hostexec_stub_get(const X86Insn *insn);

/* The pc argument of the helper: the guest pc, and for x87 instructions the FOP value to record. */
#define HOSTEXEC_PC_FOP_SHIFT 48
#define HOSTEXEC_PC_HAS_FOP (1ULL << 63)
#define HOSTEXEC_PC_MASK ((1ULL << HOSTEXEC_PC_FOP_SHIFT) - 1)

/*
 * Around a host fork of a process that may have other threads (user mode's fork, vfork, clone): lock (true)
 * before fork, unlock (false) after it in parent and child, so that no lock is inherited held by a thread
 * the child does not have. tcg_fork_lock does the same for the translator core; call this one first.
 */
void x86_fork_lock(bool lock);

/* Run a stub on env (what the helper does, callable directly by tests). */
uint64_t hostexec_run(CPUX86State *env, const HostStub *stub, void *mem, uint64_t flags_in, uint64_t pc_info);

#endif
