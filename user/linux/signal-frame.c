/*
 * x86-64 signal frames, laid out as Linux lays them out (arch/x86 ABI): below the interrupted stack (or on
 * the alternate stack) an XSAVE-format FPU image, then
 *     struct rt_sigframe { void *pretcode; struct ucontext uc; siginfo_t info; }
 * with the handler entered as if called: RSP points at pretcode (the sa_restorer that calls rt_sigreturn).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "core/target-x86/cpuid.h"
#include "user/linux/guest-mem.h"
#include "user/linux/syscall.h"
#include "user/linux/thread.h"

/* The kernel's struct sigcontext (x86-64), the same as glibc's mcontext_t gregs order. */
typedef struct GuestSigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;
    uint64_t reserved[8];
} GuestSigcontext;

typedef struct GuestStack {
    uint64_t ss_sp;
    int32_t ss_flags;
    int32_t pad;
    uint64_t ss_size;
} GuestStack;

typedef struct GuestUcontext {
    uint64_t uc_flags;
    uint64_t uc_link;
    GuestStack uc_stack;
    GuestSigcontext uc_mcontext;
    uint64_t uc_sigmask;
} GuestUcontext;

typedef struct GuestRtSigframe {
    uint64_t pretcode;
    GuestUcontext uc;
    uint8_t info[128];
} GuestRtSigframe;

_Static_assert(sizeof(GuestSigcontext) == 256, "struct sigcontext is 256 bytes");
_Static_assert(sizeof(GuestUcontext) == 304, "struct ucontext is 304 bytes");
_Static_assert(sizeof(siginfo_t) == 128, "siginfo is 128 bytes");

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define GUEST_FP_XSTATE_MAGIC1 0x46505853u
#define GUEST_FP_XSTATE_MAGIC2 0x46505845u
#define GUEST_SA_ONSTACK 0x08000000ULL
#define XSTATE_X87_SSE_AVX 0x7ULL
#define XSAVE_SIZE_AVX 832u        /* legacy area 512 + header 64 + AVX 256 */

/* The software-reserved words at the end of the FXSAVE area that describe the extended state. */
typedef struct FpxSwBytes {
    uint32_t magic1;
    uint32_t extended_size;
    uint64_t xfeatures;
    uint32_t xstate_size;
    uint32_t padding[7];
} FpxSwBytes;

static bool on_altstack(const LinuxThread *t, uint64_t sp)
{
    return t->altstack.ss_size && sp - (uint64_t)(uintptr_t)t->altstack.ss_sp < t->altstack.ss_size;
}

static bool guest_writable(uint64_t start, uint64_t len)
{
    int prot = guest_mem_prot_at(start);
    return guest_mem_is_guest(start, len) && prot >= 0 && (prot & PROT_WRITE) &&
           (guest_mem_prot_at(start + len - 1) & PROT_WRITE);
}

bool linux_signal_frame_setup(LinuxThread *t, int sig, const siginfo_t *info, uint64_t handler, uint64_t flags,
                              uint64_t restorer, uint64_t old_mask)
{
    CPUX86State *env = &t->env;
    uint64_t sp = env->regs[R_ESP];

    if ((flags & GUEST_SA_ONSTACK) && t->altstack.ss_size && !(t->altstack.ss_flags & SS_DISABLE) &&
        !on_altstack(t, sp)) {
        sp = (uint64_t)(uintptr_t)t->altstack.ss_sp + t->altstack.ss_size;
    } else {
        sp -= 128;   /* the red zone */
    }
    uint64_t fp = (sp - (XSAVE_SIZE_AVX + 4)) & ~63ULL;
    uint64_t frame_addr = ((fp - sizeof(GuestRtSigframe)) & ~15ULL) - 8;
    if (!guest_writable(frame_addr, sp - frame_addr)) {
        return false;
    }

    /* The FPU state, XSAVE format, with the words that tell the restorer about it. */
    uint8_t *fpstate = (uint8_t *)(uintptr_t)fp;
    memset(fpstate, 0, XSAVE_SIZE_AVX + 4);
    x86_xsave_image(env, fpstate, XSTATE_X87_SSE_AVX);
    /* Like Linux, mark x87 and SSE as present even in their initial state: a handler may edit the
       legacy area (uc_mcontext.fpregs) and expects sigreturn to load what it wrote. */
    uint64_t xstate_bv;
    memcpy(&xstate_bv, fpstate + 512, 8);
    xstate_bv |= 0x3;
    memcpy(fpstate + 512, &xstate_bv, 8);
    FpxSwBytes sw = {.magic1 = GUEST_FP_XSTATE_MAGIC1,
                     .extended_size = XSAVE_SIZE_AVX + 4,
                     .xfeatures = XSTATE_X87_SSE_AVX,
                     .xstate_size = XSAVE_SIZE_AVX};
    memcpy(fpstate + 464, &sw, sizeof(sw));
    uint32_t magic2 = GUEST_FP_XSTATE_MAGIC2;
    memcpy(fpstate + XSAVE_SIZE_AVX, &magic2, 4);

    GuestRtSigframe *frame = (GuestRtSigframe *)(uintptr_t)frame_addr;
    memset(frame, 0, sizeof(*frame));
    frame->pretcode = (flags & 0x04000000ULL) ? restorer : 0;
    frame->uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
    frame->uc.uc_stack.ss_sp = (uint64_t)(uintptr_t)t->altstack.ss_sp;
    frame->uc.uc_stack.ss_flags = t->altstack.ss_size ? (on_altstack(t, env->regs[R_ESP]) ? SS_ONSTACK : 0)
                                                      : SS_DISABLE;
    frame->uc.uc_stack.ss_size = t->altstack.ss_size;
    GuestSigcontext *sc = &frame->uc.uc_mcontext;
    const uint64_t *r = env->regs;
    sc->r8 = r[R_R8], sc->r9 = r[R_R9], sc->r10 = r[R_R10], sc->r11 = r[R_R11];
    sc->r12 = r[R_R12], sc->r13 = r[R_R13], sc->r14 = r[R_R14], sc->r15 = r[R_R15];
    sc->rdi = r[R_EDI], sc->rsi = r[R_ESI], sc->rbp = r[R_EBP], sc->rbx = r[R_EBX];
    sc->rdx = r[R_EDX], sc->rax = r[R_EAX], sc->rcx = r[R_ECX], sc->rsp = r[R_ESP];
    sc->rip = env->tcg.pc;
    sc->eflags = x86_get_eflags(env);
    sc->cs = 0x33;
    sc->ss = 0x2b;
    if (info->si_signo == SIGSEGV && info->si_code > 0) {
        sc->trapno = EXCP_PF;
        sc->err = (uint64_t)env->error_code;
        sc->cr2 = (uint64_t)(uintptr_t)info->si_addr;
    }
    sc->oldmask = old_mask;
    sc->fpstate = fp;
    frame->uc.uc_sigmask = old_mask;
    memcpy(frame->info, info, sizeof(frame->info));

    /* Enter the handler as if it had been called, with a fresh FPU state as Linux gives it. */
    env->regs[R_ESP] = frame_addr;
    env->regs[R_EDI] = (uint64_t)sig;
    env->regs[R_ESI] = frame_addr + offsetof(GuestRtSigframe, info);
    env->regs[R_EDX] = frame_addr + offsetof(GuestRtSigframe, uc);
    env->regs[R_EAX] = 0;
    env->tcg.pc = handler;
    x86_set_eflags(env, 0, X86_DF | X86_TF);
    memset(env->ymm, 0, sizeof(env->ymm));
    x86_fpu_reset(env);
    return true;
}

long linux_signal_frame_return(LinuxThread *t)
{
    CPUX86State *env = &t->env;
    uint64_t frame_addr = env->regs[R_ESP] - 8;
    if (!guest_mem_is_guest(frame_addr, sizeof(GuestRtSigframe))) {
        linux_die_by_signal(SIGSEGV);
    }
    const GuestRtSigframe *frame = (const GuestRtSigframe *)(uintptr_t)frame_addr;
    const GuestSigcontext *sc = &frame->uc.uc_mcontext;
    uint64_t *r = env->regs;
    r[R_R8] = sc->r8, r[R_R9] = sc->r9, r[R_R10] = sc->r10, r[R_R11] = sc->r11;
    r[R_R12] = sc->r12, r[R_R13] = sc->r13, r[R_R14] = sc->r14, r[R_R15] = sc->r15;
    r[R_EDI] = sc->rdi, r[R_ESI] = sc->rsi, r[R_EBP] = sc->rbp, r[R_EBX] = sc->rbx;
    r[R_EDX] = sc->rdx, r[R_EAX] = sc->rax, r[R_ECX] = sc->rcx, r[R_ESP] = sc->rsp;
    env->tcg.pc = sc->rip;
    /* The flags a user program may change (the kernel's FIX_EFLAGS set). */
    x86_set_eflags(env, sc->eflags, X86_ARITH_FLAGS | X86_TF | X86_DF | X86_AC | X86_ID | (1u << 14) | (1u << 16));
    if (sc->fpstate && guest_mem_is_guest(sc->fpstate, 512)) {
        const uint8_t *fpstate = (const uint8_t *)(uintptr_t)sc->fpstate;
        FpxSwBytes sw;
        memcpy(&sw, fpstate + 464, sizeof(sw));
        if (sw.magic1 == GUEST_FP_XSTATE_MAGIC1 && sw.xstate_size >= 576) {
            x86_xrstor_image(env, fpstate, sw.xfeatures & XSTATE_X87_SSE_AVX);
        } else {
            x86_fxrstor_image(env, fpstate);
        }
    } else {
        x86_fpu_reset(env);
    }
    if (frame->uc.uc_stack.ss_flags != SS_ONSTACK) {
        t->altstack.ss_sp = (void *)(uintptr_t)frame->uc.uc_stack.ss_sp;
        t->altstack.ss_size = frame->uc.uc_stack.ss_size;
        t->altstack.ss_flags = frame->uc.uc_stack.ss_flags;
    }
    linux_signal_set_mask(t, frame->uc.uc_sigmask);
    return LINUX_SYSCALL_REGS_SET;
}
