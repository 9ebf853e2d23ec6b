/*
 * The state a fault handler sees in the middle of a block. A JIT keeps guest registers and flags in host
 * registers between memory accesses; when an access faults, the signal frame must still hold every
 * register and flag exactly as the faulting instruction found them, and RIP must be that instruction.
 * Each case computes values into many registers (so that they are only in host registers when the access
 * comes), sets the flags with an operation whose flags a later instruction would overwrite, then faults
 * with a load, a store, a 16-byte SSE load and a read-modify-write. The handler prints the frame's general
 * registers (RSP relative to the stack it started on), the arithmetic flags and the faulting instruction's
 * offset from the case's start, then resumes after the faulting instruction.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static uint8_t *bad;           /* a PROT_NONE page */
static uint8_t *readonly;      /* a read-only page */
static uint8_t *guard;         /* a PROT_NONE page right after a readable one (page-crossing accesses) */
static uintptr_t case_start;   /* the address of the current case's first instruction */
static uintptr_t stack_at_start;
static int skip;               /* bytes to step over the faulting instruction */

static const char *const names[] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
                                    "r9", "r10", "r11", "r12", "r13", "r14", "r15"};
static const int regs[] = {REG_RAX, REG_RBX, REG_RCX, REG_RDX, REG_RSI, REG_RDI, REG_RBP, REG_R8,
                           REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

static void on_segv(int sig, siginfo_t *si, void *uc_)
{
    ucontext_t *uc = uc_;
    greg_t *g = uc->uc_mcontext.gregs;
    uint8_t *a = si->si_addr;
    const char *page = a >= bad && a < bad + 4096             ? "bad"
                       : a >= readonly && a < readonly + 4096 ? "readonly"
                       : a >= guard && a < guard + 4096       ? "guard"
                                                              : "other";
    printf("  signal %d, code %d, addr %s+%ld, insn at +%ld\n", sig, si->si_code, page,
           (long)((uintptr_t)a & 4095), (long)(g[REG_RIP] - (greg_t)case_start));
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
        if (regs[i] == REG_RDI) {   /* the address: an mmap result, printed relative to its page */
            uint8_t *p = (uint8_t *)g[REG_RDI];
            uint8_t *base = p >= bad && p < bad + 4096 ? bad : p >= readonly && p < readonly + 4096 ? readonly : guard;
            printf("  rdi=%s%+ld\n", base == bad ? "bad" : base == readonly ? "readonly" : "guard",
                   (long)(p - base));
            continue;
        }
        printf("  %s=%016llx\n", names[i], (unsigned long long)g[regs[i]]);
    }
    printf("  rsp=start%+ld flags=%03llx\n", (long)(g[REG_RSP] - (greg_t)stack_at_start),
           (unsigned long long)(g[REG_EFL] & 0x8d5));
    g[REG_RIP] += skip;
}

/* The cases: rdi = the address to access, rsi = a seed. Every general register but rsp is written. */
#define CASE(name, access, len)                                                                             \
    extern const char name##_start[];                                                                       \
    __attribute__((noinline)) static void name(void *addr, uint64_t seed)                                   \
    {                                                                                                       \
        __asm__ volatile(".globl " #name "_start\n" #name "_start:\n"                                       \
                         "push %%rbp\n push %%rbx\n push %%r12\n push %%r13\n push %%r14\n push %%r15\n"       \
                         "mov %%rsi, %%rax\n imul $0x3779b97, %%rax, %%rbx\n lea 1(%%rbx,%%rax,2), %%rcx\n"  \
                         "mov %%rcx, %%rdx\n xor %%rbx, %%rdx\n ror $7, %%rdx\n lea 3(%%rdx), %%rbp\n"        \
                         "mov %%rbp, %%r8\n shl $3, %%r8\n lea (%%r8,%%rcx), %%r9\n mov %%r9, %%r10\n"        \
                         "not %%r10\n lea -5(%%r10), %%r11\n mov %%r11, %%r12\n bswap %%r12\n"               \
                         "lea 7(%%r12,%%rax), %%r13\n mov %%r13, %%r14\n neg %%r14\n lea (%%r14,%%rbx), %%r15\n" \
                         "add %%r15, %%rax\n rol $13, %%rcx\n"                                            \
                         access "\n"                                                                       \
                         "xor %%eax, %%eax\n"                                                               \
                         "pop %%r15\n pop %%r14\n pop %%r13\n pop %%r12\n pop %%rbx\n pop %%rbp\n"            \
                         : "+D"(addr), "+S"(seed)                                                           \
                         :                                                                                  \
                         : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "xmm0", "memory", "cc");           \
    }                                                                                                       \
    static const int name##_len = len;

CASE(load, "mov 8(%%rdi), %%rsi", 4)
CASE(store, "mov %%rcx, 16(%%rdi)", 4)
CASE(sse_load, "movdqu 32(%%rdi), %%xmm0", 5)
CASE(rmw, "add %%rdx, 24(%%rdi)", 4)
CASE(byte_store, "movb %%cl, (%%rdi)", 2)
/* Vector instructions the translator runs as host stubs: a load operand, a store, a misaligned legacy-SSE
   operand (#GP), and a VEX load that starts on a readable page and crosses into an unreadable one (the
   fault address is the hardware's). */
CASE(sse_arith, "paddd 48(%%rdi), %%xmm0", 5)
CASE(sse_store, "movhps %%xmm0, 16(%%rdi)", 4)
CASE(sse_misaligned, "pcmpeqb (%%rdi), %%xmm0", 4)
CASE(avx_cross, "vpaddd (%%rdi), %%xmm0, %%xmm0", 4)

static void run(const char *what, void (*fn)(void *, uint64_t), const char *start, int len, void *addr,
                uint64_t seed)
{
    printf("%s seed %llu:\n", what, (unsigned long long)seed);
    case_start = (uintptr_t)start;
    skip = len;
    uint64_t here;
    __asm__ volatile("mov %%rsp, %0" : "=r"(here));
    stack_at_start = here;
    fn(addr, seed);
    fflush(stdout);
}

int main(void)
{
    bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    readonly = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (bad == MAP_FAILED || readonly == MAP_FAILED || two == MAP_FAILED || mprotect(two + 4096, 4096, PROT_NONE)) {
        return 1;
    }
    guard = two + 4096;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    for (uint64_t seed = 1; seed <= 3; seed++) {
        run("load", load, load_start, load_len, bad, seed);
        run("store", store, store_start, store_len, readonly, seed * 77);
        run("sse load", sse_load, sse_load_start, sse_load_len, bad, seed * 1001);
        run("read-modify-write", rmw, rmw_start, rmw_len, readonly, seed + 0x123456789);
        run("byte store", byte_store, byte_store_start, byte_store_len, readonly, ~seed);
        run("sse arithmetic load", sse_arith, sse_arith_start, sse_arith_len, bad, seed * 3);
        run("sse store", sse_store, sse_store_start, sse_store_len, readonly, seed * 5);
        run("sse misaligned load", sse_misaligned, sse_misaligned_start, sse_misaligned_len, guard - 8, seed * 7);
        if (__builtin_cpu_supports("avx")) {
            run("avx page-crossing load", avx_cross, avx_cross_start, avx_cross_len, guard - 8, seed * 11);
        }
    }
    return 0;
}
