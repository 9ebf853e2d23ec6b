/*
 * A fault in the middle of a run of pushes or pops. A translator may move the stack pointer once for the
 * whole run (as a CPU's stack engine does); when one access of the run faults, the signal frame must still
 * show RSP as the faulting instruction found it, with the pushes before it done and it not. The stack is
 * pointed just above an inaccessible page (pushes) or just below one (pops); the handler runs on an
 * alternate stack, records RSP and RIP relative to the case, and resumes the case's cleanup with the
 * program's own stack back (kept in R12).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static uint8_t *usable;        /* a read-write page between two PROT_NONE ones */
static uintptr_t case_start;   /* the current case's first instruction */
static uintptr_t resume_at;    /* where the handler resumes it, with RSP from R12 */

static char seen[256];         /* what the handler saw last */

static void on_segv(int sig, siginfo_t *si, void *uc_)
{
    greg_t *g = ((ucontext_t *)uc_)->uc_mcontext.gregs;
    snprintf(seen, sizeof(seen), "signal %d, fault at usable%+ld, rsp=usable%+ld, insn at +%ld, rbx=%llx, rsi=%llx",
             sig, (long)((uint8_t *)si->si_addr - usable), (long)((uint8_t *)g[REG_RSP] - usable),
             (long)(g[REG_RIP] - (greg_t)case_start), (unsigned long long)g[REG_RBX],
             (unsigned long long)g[REG_RSI]);
    g[REG_RSP] = g[REG_R12];
    g[REG_RIP] = (greg_t)resume_at;
}

/* A case: R12 keeps the program's stack, RSP = `at`, then `body`; NAME_resume restores RSP (the handler
   resumes there too). */
#define STACK_CASE(name, body)                                          \
    extern const char name##_start[], name##_resume[];                  \
    __attribute__((noinline)) static void name(uint8_t *at)             \
    {                                                                   \
        __asm__ volatile("mov %%rsp, %%r12\n"                           \
                         ".globl " #name "_start\n" #name "_start:\n"   \
                         "mov %0, %%rsp\n" body "\n"                    \
                         ".globl " #name "_resume\n" #name "_resume:\n" \
                         "mov %%r12, %%rsp\n"                           \
                         :                                              \
                         : "r"(at)                                      \
                         : "rbx", "rsi", "r12", "memory", "cc");        \
    }

/* Pushes from usable + 24 down: the fourth writes below the page. Between them, flags and registers
   change, so the run is not only pushes. */
STACK_CASE(pushes, "mov $0x1111, %%rbx\n push %%rbx\n add $0x1000, %%rbx\n push %%rbx\n"
                   "lea 5(%%rbx), %%rsi\n push %%rsi\n push %%rbx\n push %%rsi")

/* Pops from 24 bytes below the page's end: the fourth reads the inaccessible page above it. */
STACK_CASE(pops, "pop %%rbx\n pop %%rsi\n add %%rsi, %%rbx\n pop %%rsi\n pop %%rbx")

int main(void)
{
    /* An inaccessible page on either side of the usable one. */
    uint8_t *three = mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (three == MAP_FAILED || mprotect(three + 4096, 4096, PROT_READ | PROT_WRITE)) {
        return 1;
    }
    usable = three + 4096;
    for (int i = 0; i < 4096; i++) {
        usable[i] = (uint8_t)(i * 7 + 1);
    }
    static uint8_t altstack[65536];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    if (sigaltstack(&ss, NULL) || sigaction(SIGSEGV, &sa, NULL)) {
        return 1;
    }
    /* Enough rounds for a translator's optimized tier to take over; each must see what the first saw. */
    char first_push[sizeof(seen)], first_pop[sizeof(seen)];
    int differing = 0;
    for (int round = 0; round < 5000; round++) {
        case_start = (uintptr_t)pushes_start;
        resume_at = (uintptr_t)pushes_resume;
        seen[0] = 0;
        pushes(usable + 24);
        if (round == 0) {
            printf("pushes: %s\n", seen);
            memcpy(first_push, seen, sizeof(seen));
        }
        differing += strcmp(seen, first_push) != 0;
        case_start = (uintptr_t)pops_start;
        resume_at = (uintptr_t)pops_resume;
        seen[0] = 0;
        pops(usable + 4096 - 24);
        if (round == 0) {
            printf("pops: %s\n", seen);
            memcpy(first_pop, seen, sizeof(seen));
        }
        differing += strcmp(seen, first_pop) != 0;
    }
    printf("rounds that saw something else: %d\n", differing);
    return 0;
}
