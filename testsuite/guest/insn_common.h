/*
 * Shared by the directed instruction tests (insn_*.c): catching the signal an instruction raises and
 * printing flags. Everything printed must be the same natively and under ember, so addresses are
 * printed only as comparisons ("si_addr ok").
 *
 *   insn_catch_signals();                   once, in main
 *   if (INSN_TRY()) { ...asm... } else { ...insn_fault describes the signal... }
 *
 * The handler records the signal, si_code, si_addr, RIP and a few registers from the ucontext, then
 * siglongjmps back into the INSN_TRY that is active.
 */
#ifndef EMBER_GUEST_INSN_COMMON_H
#define EMBER_GUEST_INSN_COMMON_H

#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

#include "check.h"

struct insn_fault {
    int sig, code;
    uint64_t addr, rip, rax, rcx, rdx, rsi, rdi, rflags;
    uint32_t mxcsr, xmm0[4]; /* from the signal frame's FPU image */
    uint16_t fsw;
};

static struct insn_fault insn_fault;
static sigjmp_buf insn_env;

/* Where the instruction expected to fault is: asm blocks store it with INSN_MARK_AT before reaching it.
   INSN_MARK_AT takes a local label number ("8" marks the instruction after "8:"). */
static volatile uint64_t insn_at;
#define INSN_MARK_AT(label) "lea " #label "f(%%rip), %%r11\n\tmov %%r11, insn_at(%%rip)\n\t"

static inline void insn_on_signal(int sig, siginfo_t *si, void *uc_)
{
    ucontext_t *uc = uc_;
    greg_t *g = uc->uc_mcontext.gregs;
    insn_fault.sig = sig;
    insn_fault.code = si->si_code;
    insn_fault.addr = (uint64_t)(uintptr_t)si->si_addr;
    insn_fault.rip = (uint64_t)g[REG_RIP];
    insn_fault.rax = (uint64_t)g[REG_RAX];
    insn_fault.rcx = (uint64_t)g[REG_RCX];
    insn_fault.rdx = (uint64_t)g[REG_RDX];
    insn_fault.rsi = (uint64_t)g[REG_RSI];
    insn_fault.rdi = (uint64_t)g[REG_RDI];
    insn_fault.rflags = (uint64_t)g[REG_EFL];
    if (uc->uc_mcontext.fpregs != NULL) {
        insn_fault.mxcsr = uc->uc_mcontext.fpregs->mxcsr;
        memcpy(insn_fault.xmm0, uc->uc_mcontext.fpregs->_xmm[0].element, 16);
        insn_fault.fsw = uc->uc_mcontext.fpregs->swd;
    }
    siglongjmp(insn_env, 1);
}

static inline void insn_catch_signals(void)
{
    static const int sigs[] = {SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGTRAP};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = insn_on_signal;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        CHECK(sigaction(sigs[i], &sa, NULL) == 0);
}

/* True on the first pass; false after a signal (insn_fault then says which). */
#define INSN_TRY() (memset(&insn_fault, 0, sizeof insn_fault), sigsetjmp(insn_env, 1) == 0)

static inline const char *insn_sig_name(int sig)
{
    switch (sig) {
    case 0: return "none";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGTRAP: return "SIGTRAP";
    default: return "other";
    }
}

/* The arithmetic flags of an RFLAGS value as letters, upper case when set: "c p a z s o". */
static inline const char *insn_flags_str(uint64_t f, uint64_t mask)
{
    static char buf[8][16];
    static int next;
    char *b = buf[next++ & 7];
    static const struct { int bit; char c; } fl[] = {{0, 'c'}, {2, 'p'}, {4, 'a'}, {6, 'z'}, {7, 's'}, {11, 'o'}};
    int n = 0;
    for (int i = 0; i < 6; i++) {
        if (!((mask >> fl[i].bit) & 1))
            b[n++] = '-';
        else
            b[n++] = (f >> fl[i].bit) & 1 ? (char)(fl[i].c - 32) : fl[i].c;
    }
    b[n] = 0;
    return b;
}

#define FL_CF 0x001ull
#define FL_PF 0x004ull
#define FL_AF 0x010ull
#define FL_ZF 0x040ull
#define FL_SF 0x080ull
#define FL_OF 0x800ull
#define FL_ALL (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)
#define FL_DF 0x400ull

/* In an asm statement: RFLAGS into operand [name], stepping over the red zone the compiler may use. */
#define PUSHF_TO(name) "lea -128(%%rsp), %%rsp\n\tpushfq\n\tpop %[" #name "]\n\tlea 128(%%rsp), %%rsp"

#endif
