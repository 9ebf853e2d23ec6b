/*
 * The x86-64 CPU state. It begins with the loop's TCGCPU (whose pc is RIP); generated code and helpers
 * reach every field at a fixed offset from env.
 */
#ifndef EMBER_X86_CPU_H
#define EMBER_X86_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "core/tcg/cpu-exec.h"

enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI, R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15 };
enum { R_ES, R_CS, R_SS, R_DS, R_FS, R_GS, X86_NB_SEGS };

/* RFLAGS bits */
#define X86_CF (1u << 0)
#define X86_PF (1u << 2)
#define X86_AF (1u << 4)
#define X86_ZF (1u << 6)
#define X86_SF (1u << 7)
#define X86_TF (1u << 8)
#define X86_IF (1u << 9)
#define X86_DF (1u << 10)
#define X86_OF (1u << 11)
#define X86_AC (1u << 18)
#define X86_ID (1u << 21)
#define X86_ARITH_FLAGS (X86_CF | X86_PF | X86_AF | X86_ZF | X86_SF | X86_OF)

/* Exception vectors */
enum {
    EXCP_DE = 0, EXCP_DB = 1, EXCP_BP = 3, EXCP_OF = 4, EXCP_BR = 5, EXCP_UD = 6, EXCP_NM = 7,
    EXCP_DF = 8, EXCP_TS = 10, EXCP_NP = 11, EXCP_SS = 12, EXCP_GP = 13, EXCP_PF = 14, EXCP_MF = 16,
    EXCP_AC = 17, EXCP_MC = 18, EXCP_XM = 19,
};

typedef union X86YMMReg {
    uint8_t b[32];
    uint16_t w[16];
    uint32_t d[8];
    uint64_t q[4];
    float s[8];
    double f[4];
} __attribute__((aligned(32))) X86YMMReg;

/*
 * The x87 unit and MXCSR are kept as an FXSAVE image (Intel SDM vol. 1, table 10-2): host FXRSTOR/FXSAVE
 * move it in and out of the host FPU for exact 80-bit results. Its XMM area is unused: XMM/YMM registers
 * live in ymm[] below. MXCSR lives only here (fx + 24).
 */
typedef struct X86FxArea {
    uint16_t fcw, fsw;
    uint8_t ftw, reserved1;
    uint16_t fop;
    uint64_t fip, fdp;
    uint32_t mxcsr, mxcsr_mask;
    uint8_t st[8][16];       /* ST0..ST7 (80 bits each in 16-byte slots) */
    uint8_t xmm_unused[16][16];
    uint8_t reserved2[96];
} __attribute__((aligned(64))) X86FxArea;

_Static_assert(sizeof(X86FxArea) == 512, "FXSAVE image is 512 bytes");
_Static_assert(offsetof(X86FxArea, mxcsr) == 24, "MXCSR at FXSAVE offset 24");

typedef struct CPUX86State {
    TCGCPU tcg;                          /* tcg.pc is RIP */
    uint64_t regs[16];
    /* Lazy flags: the last flag-setting operation and its operands (see cc.h). CF..OF are derived from
       them; every other RFLAGS bit lives in `eflags`. */
    uint64_t cc_dst, cc_src, cc_src2;
    uint64_t cc_op;
    uint64_t eflags;                     /* non-arithmetic bits only (DF, TF, IF, AC, ID, bit 1) */
    int64_t df;                          /* +1 or -1: the string-instruction step, mirrors DF */
    uint64_t seg_base[X86_NB_SEGS];
    uint16_t seg_sel[X86_NB_SEGS];
    uint32_t cs_flags;                   /* translation mode flags (X86_TBFLAG_*) */
    X86YMMReg ymm[16];
    X86FxArea fx;
    uint64_t xcr0;
    /* The exception being delivered to the front end (TCG_EXIT_EXCEPTION). */
    int32_t exception;                   /* EXCP_* vector */
    int32_t error_code;
    uint64_t fault_addr;                 /* #PF/#GP address, for si_addr */
    uint64_t tsc_offset;
    const struct X86CPUModel *model;     /* CPUID answers; see cpuid.h */
    void *opaque;                        /* the front end's per-CPU data (user/linux's thread) */
    struct X86SysState *sys;             /* system mode only (sys.h); NULL for a user-mode CPU */
} CPUX86State;

#define X86_TBFLAG_CODE32 (1u << 0)      /* 32-bit compatibility-mode code segment */
/* System mode only (sys.h); all clear in user mode. Neither CODE32 nor CODE16: 64-bit code. */
#define X86_TBFLAG_CODE16 (1u << 1)      /* 16-bit code segment (real mode or D=0) */
#define X86_TBFLAG_SYS (1u << 2)         /* a system CPU: segment bases, privileged instructions */
#define X86_TBFLAG_SS16 (1u << 3)        /* 16-bit stack (SS.B = 0) outside 64-bit mode */
#define X86_TBFLAG_CPL_SHIFT 4           /* 2 bits */
#define X86_TBFLAG_PE (1u << 6)          /* protected mode */
#define X86_TBFLAG_LMA (1u << 7)         /* long mode active */
#define X86_TBFLAG_MODE_MASK 0xffu       /* the bits above; the rest of a key's flags identify the code */
/* User mode only: the guest's MXCSR has the host's control bits (all exceptions masked, round to nearest,
   no DAZ/FTZ), so its floating-point vector instructions may run inline in generated code (vec-emit.c). */
#define X86_TBFLAG_MXCSR_HOST (1u << 8)

/* MXCSR's exception flags raised by inline code, moved from the host's MXCSR into env (vec-state.c); and
   the target's TCGTargetOps hooks that do it when generated code is left / clear them before it runs. */
void x86_mxcsr_fold(CPUX86State *env);
void x86_fold_host_state(TCGCPU *cpu, const void *ucontext);
void x86_clear_host_state(TCGCPU *cpu);

static inline CPUX86State *x86_env(TCGCPU *cpu) { return (CPUX86State *)cpu; }

#define ENV_OFF(field) ((uint32_t)offsetof(CPUX86State, field))

/* Raise a guest exception from a helper: records it at the current instruction and unwinds to the loop. */
__attribute__((noreturn)) void x86_raise_exception(CPUX86State *env, int vector, int error_code, uint64_t addr);

/* The whole RFLAGS value (computes the lazy flags) and its inverse. */
uint64_t x86_get_eflags(const CPUX86State *env);
void x86_set_eflags(CPUX86State *env, uint64_t value, uint64_t mask);

/* The x87/SSE/AVX state as FNINIT + a default MXCSR leave it (a new process, a signal handler). */
void x86_fpu_reset(CPUX86State *env);

/* A fresh CPU in 64-bit user mode. */
void x86_cpu_reset_user(CPUX86State *env);

#endif
