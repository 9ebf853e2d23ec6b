/*
 * DIV and IDIV at 8/16/32/64 bits: ordinary quotients and remainders (signs of both for IDIV), and the
 * three ways to raise #DE: a zero divisor, a quotient too large for the destination (DIV with the high
 * half >= the divisor), and IDIV of the most negative dividend by -1. #DE is a fault: SIGFPE with
 * si_code FPE_INTDIV, si_addr and RIP at the DIV itself, and RAX/RDX as they were before it. A divisor
 * in unmapped memory faults with SIGSEGV first. Also MUL/IMUL's high halves and CF/OF at each width.
 */
#include "insn_common.h"

enum { DIV, IDIV };

/* RDX:RAX (or AX for 8 bits) divided by d; the divisor from a register, or from memory if mem. */
static void divide(int op, int bits, uint64_t *rax, uint64_t *rdx, uint64_t d, const uint64_t *mem)
{
    uint64_t a = *rax, dx = *rdx;
#define DIVR(insn, m) \
    asm volatile(INSN_MARK_AT(8) "8: " insn " %" m "[d]" : "+a"(a), "+d"(dx) : [d] "r"(d) : "r11", "cc")
#define DIVM(insn) \
    asm volatile(INSN_MARK_AT(8) "8: " insn " %[d]" : "+a"(a), "+d"(dx) : [d] "m"(*mem) : "r11", "cc")
    if (mem == NULL) {
        switch (bits * 2 + op) {
        case 16: DIVR("divb", "b"); break;
        case 17: DIVR("idivb", "b"); break;
        case 32: DIVR("divw", "w"); break;
        case 33: DIVR("idivw", "w"); break;
        case 64: DIVR("divl", "k"); break;
        case 65: DIVR("idivl", "k"); break;
        case 128: DIVR("divq", "q"); break;
        case 129: DIVR("idivq", "q"); break;
        }
    } else {
        switch (bits * 2 + op) {
        case 16: DIVM("divb"); break;
        case 17: DIVM("idivb"); break;
        case 32: DIVM("divw"); break;
        case 33: DIVM("idivw"); break;
        case 64: DIVM("divl"); break;
        case 65: DIVM("idivl"); break;
        case 128: DIVM("divq"); break;
        case 129: DIVM("idivq"); break;
        }
    }
    *rax = a;
    *rdx = dx;
}

static const char *fpe_code(int code)
{
    switch (code) {
    case FPE_INTDIV: return "FPE_INTDIV";
    case FPE_INTOVF: return "FPE_INTOVF";
    case FPE_FLTDIV: return "FPE_FLTDIV";
    default: return "other";
    }
}

static void one(int op, int bits, uint64_t rax, uint64_t rdx, uint64_t d, int from_mem)
{
    static uint64_t cell;
    uint64_t a = rax, dx = rdx;
    printf("%s%d%s %llx:%llx / %llx: ", op == IDIV ? "idiv" : "div", bits, from_mem ? "m" : "r",
           (unsigned long long)rdx, (unsigned long long)rax, (unsigned long long)d);
    cell = d;
    if (INSN_TRY()) {
        divide(op, bits, &a, &dx, d, from_mem ? &cell : NULL);
        printf("rax %llx rdx %llx\n", (unsigned long long)a, (unsigned long long)dx);
    } else {
        printf("%s %s si_addr %s rip %s rax/rdx %s\n", insn_sig_name(insn_fault.sig), fpe_code(insn_fault.code),
               insn_fault.addr == insn_at ? "ok" : "WRONG", insn_fault.rip == insn_at ? "ok" : "WRONG",
               insn_fault.rax == rax && insn_fault.rdx == rdx ? "unchanged" : "CHANGED");
    }
}

static void divisor_unmapped(void)
{
    uint64_t a = 100, dx = 0;
    const uint64_t *bad = (const uint64_t *)(uintptr_t)0x18;
    if (INSN_TRY()) {
        divide(DIV, 64, &a, &dx, 0, bad);
        printf("div by unmapped memory: no fault\n");
    } else {
        printf("div by unmapped memory: %s si_addr %s rip %s\n", insn_sig_name(insn_fault.sig),
               insn_fault.addr == 0x18 ? "ok" : "WRONG", insn_fault.rip == insn_at ? "ok" : "WRONG");
    }
}

static void multiply(void)
{
    static const uint64_t v[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
                                 0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 0x123456789abcdefull};
    size_t n = sizeof v / sizeof v[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            uint64_t a, d, f;
#define MUL1(insn, m, in_d)                                                                         \
    a = v[i], d = in_d, f = 0;                                                                      \
    asm(insn " %" m "[s]\n\t" PUSHF_TO(f) : "+a"(a), "+d"(d), [f] "=r"(f) : [s] "r"(v[j]) : "cc"); \
    printf(" %llx:%llx/%s", (unsigned long long)d, (unsigned long long)a, insn_flags_str(f, FL_CF | FL_OF))
            printf("mul %llx*%llx:", (unsigned long long)v[i], (unsigned long long)v[j]);
            MUL1("mulb", "b", 0x5555);
            MUL1("imulb", "b", 0x5555);
            MUL1("mulw", "w", 0x5555);
            MUL1("imulw", "w", 0x5555);
            MUL1("mull", "k", 0x5555);
            MUL1("imull", "k", 0x5555);
            MUL1("mulq", "q", 0x5555);
            MUL1("imulq", "q", 0x5555);
            /* two- and three-operand IMUL: truncated product, CF=OF=overflow */
            uint64_t r16 = v[i], r32 = v[i], r64 = v[i], i3, f2, f3;
            asm("imulw %w[s], %w[r]\n\t" : [r] "+r"(r16) : [s] "r"(v[j]) : "cc");
            asm("imull %k[s], %k[r]\n\t" : [r] "+r"(r32) : [s] "r"(v[j]) : "cc");
            asm("imulq %[s], %[r]\n\t" PUSHF_TO(f) : [r] "+r"(r64), [f] "=r"(f2) : [s] "r"(v[j]) : "cc");
            asm("imulq $-3, %[s], %[r]\n\t" PUSHF_TO(f) : [r] "=r"(i3), [f] "=r"(f3) : [s] "r"(v[j]) : "cc");
            printf(" imul2 %llx %llx %llx/%s imul3 %llx/%s\n", (unsigned long long)r16, (unsigned long long)r32,
                   (unsigned long long)r64, insn_flags_str(f2, FL_CF | FL_OF), (unsigned long long)i3,
                   insn_flags_str(f3, FL_CF | FL_OF));
        }
}

int main(void)
{
    insn_catch_signals();
    static const int widths[] = {8, 16, 32, 64};
    for (int w = 0; w < 4; w++) {
        int bits = widths[w];
        uint64_t smin = 1ull << (bits - 1), all = bits == 64 ? ~0ull : (1ull << bits) - 1;
        /* The dividend: AX for 8 bits, else DX:AX / EDX:EAX / RDX:RAX. Garbage above the operand
           width must be ignored (and kept in RDX/RAX where the width leaves it). */
        uint64_t g = bits == 64 ? 0 : 0xdead0000beef0000ull & ~all;
        struct { uint64_t lo, hi, d; } c[] = {
            {100, 0, 7}, {100, 0, 0}, {0, 0, 0}, {all, all - 1, all}, {all, all, all}, {0, 1, 1},
            {5, 0, all}, {smin, all, all}, {smin, 0, all}, {smin - 1, 0, 2}, {smin, all, 1},
            {7, 0, smin}, {all - 6, all, 2}, {all - 6, all, all - 1}, {all, smin - 1, smin},
            {0, smin, smin - 1}, {1, 0, 1},
        };
        for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
            for (int op = 0; op < 2; op++)
                for (int m = 0; m < 2; m++) {
                    uint64_t rax, rdx;
                    if (bits == 8) { /* AX = hi:lo bytes */
                        rax = g | (c[i].hi & 0xff) << 8 | (c[i].lo & 0xff);
                        rdx = 0x77;
                    } else {
                        rax = g | c[i].lo;
                        rdx = g | c[i].hi;
                    }
                    one(op, bits, rax, rdx, c[i].d | (g & ~0xffffull), m);
                }
    }
    divisor_unmapped();
    multiply();
    return 0;
}
