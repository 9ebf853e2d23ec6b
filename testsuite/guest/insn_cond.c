/*
 * Every condition code, three ways (Jcc, SETcc, CMOVcc), over
 *   - every combination of CF/PF/ZF/SF/OF (and AF) loaded with POPFQ, and
 *   - the flags left by real flag-setting instructions (add/sub/cmp/adc/sbb/logic/inc/dec/neg/shifts at
 *     8/16/32/64 bits on edge values), read in the same block: this is where a translator's lazy flags
 *     (computing a condition from the last operation instead of from RFLAGS) go wrong.
 * Each line prints the 16 conditions as a bit mask (bit n = condition n in Jcc's opcode order: o no b nb
 * z nz be nbe s ns p np l nl le nle). Also LOOP/LOOPE/LOOPNE/JRCXZ/JECXZ, and CMOVcc's 32-bit write
 * (the upper half of the destination is zeroed even when the condition is false).
 */
#include "insn_common.h"

#define CCS(X) X(o, 0) X(no, 1) X(b, 2) X(nb, 3) X(z, 4) X(nz, 5) X(be, 6) X(nbe, 7) \
    X(s, 8) X(ns, 9) X(p, 10) X(np, 11) X(l, 12) X(nl, 13) X(le, 14) X(nle, 15)

/* SETcc into o[n]; Jcc and CMOVcc into o[16 + n] and o[32 + n]. Flags are never changed in between. */
#define SETCC(cc, n) "set" #cc " " #n "(%[o])\n\t"
#define JCC(cc, n) "j" #cc " 1f\n\tmovb $0, 16+" #n "(%[o])\n\tjmp 2f\n1:\tmovb $1, 16+" #n "(%[o])\n2:\n\t"
#define CMOVCC(cc, n) "mov $0, %%eax\n\tcmov" #cc " %%ecx, %%eax\n\tmov %%al, 32+" #n "(%[o])\n\t"
#define ALL_CC CCS(SETCC) CCS(JCC) "mov $1, %%ecx\n\t" CCS(CMOVCC)

/* Folds o[] into three 16-bit masks and checks the three agree with each other. */
static void print_masks(const char *what, const uint8_t *o)
{
    unsigned m[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++)
        for (int n = 0; n < 16; n++) {
            CHECK(o[16 * k + n] <= 1);
            m[k] |= (unsigned)o[16 * k + n] << n;
        }
    printf("%s: %04x%s\n", what, m[0], m[0] == m[1] && m[0] == m[2] ? "" : " (jcc/setcc/cmov DISAGREE)");
    if (m[1] != m[0] || m[2] != m[0])
        printf("  jcc %04x cmov %04x\n", m[1], m[2]);
}

static void from_popf(void)
{
    static const uint64_t bits[] = {FL_CF, FL_PF, FL_AF, FL_ZF, FL_SF, FL_OF};
    for (unsigned combo = 0; combo < 64; combo++) {
        uint64_t f = 0x202; /* IF and the always-one bit */
        for (int i = 0; i < 6; i++)
            if (combo & (1u << i))
                f |= bits[i];
        uint8_t o[48];
        asm volatile("lea -128(%%rsp), %%rsp\n\t" /* keep clear of the red zone */
                     "pushfq\n\t"
                     "push %[f]\n\t"
                     "popfq\n\t" ALL_CC "popfq\n\t"
                     "lea 128(%%rsp), %%rsp"
                     :
                     : [f] "r"(f), [o] "r"(o)
                     : "rax", "rcx", "cc", "memory");
        char what[32];
        snprintf(what, sizeof what, "popf %s", insn_flags_str(f, FL_ALL));
        print_masks(what, o);
    }
}

/* op b, a at one width, then all conditions. CF is loaded from cf first (for adc/sbb). */
#define DEF_BIN(fname, insn, m)                                                                  \
    static void fname(uint64_t a, uint64_t b, int cf, uint8_t *o)                               \
    {                                                                                            \
        asm volatile("bt $0, %k[cf]\n\t" insn " %" m "[b], %" m "[a]\n\t" ALL_CC                \
                     : [a] "+r"(a)                                                               \
                     : [b] "r"(b), [o] "r"(o), [cf] "r"(cf)                                      \
                     : "rax", "rcx", "cc", "memory");                                           \
    }
#define DEF_BIN4(op) DEF_BIN(op##8, #op "b", "b") DEF_BIN(op##16, #op "w", "w") \
    DEF_BIN(op##32, #op "l", "k") DEF_BIN(op##64, #op "q", "q")
DEF_BIN4(add)
DEF_BIN4(sub)
DEF_BIN4(cmp)
DEF_BIN4(adc)
DEF_BIN4(sbb)
DEF_BIN4(and)
DEF_BIN4(or)
DEF_BIN4(xor)
DEF_BIN4(test)

/* Unary forms: op a (b unused except as the CL count of the shifts). */
#define DEF_UN(fname, insn, m)                                                                   \
    static void fname(uint64_t a, uint64_t b, int cf, uint8_t *o)                               \
    {                                                                                            \
        (void)b;                                                                                 \
        asm volatile("bt $0, %k[cf]\n\t" insn " %" m "[a]\n\t" ALL_CC                           \
                     : [a] "+r"(a)                                                               \
                     : [o] "r"(o), [cf] "r"(cf)                                                  \
                     : "rax", "rcx", "cc", "memory");                                           \
    }
#define DEF_UN4(name, op, arg) DEF_UN(name##8, op "b " arg, "b") DEF_UN(name##16, op "w " arg, "w") \
    DEF_UN(name##32, op "l " arg, "k") DEF_UN(name##64, op "q " arg, "q")
DEF_UN4(inc, "inc", "")
DEF_UN4(dec, "dec", "")
DEF_UN4(neg, "neg", "")
DEF_UN4(shl1, "shl", "$1,")
DEF_UN4(shr1, "shr", "$1,")
DEF_UN4(sar1, "sar", "$1,")

/* cmp a, b then a shift by CL = 0, which must leave cmp's flags (a lazy-flags trap). */
static void cmp_shl0(uint64_t a, uint64_t b, int cf, uint8_t *o)
{
    (void)cf;
    asm volatile("cmp %[b], %[a]\n\t"
                 "xor %%ecx, %%ecx\n\t" /* changes flags: redo the compare below */
                 "cmp %[b], %[a]\n\t"
                 "shl %%cl, %[a]\n\t"
                 "sar $0, %[b]\n\t" ALL_CC
                 : [a] "+r"(a), [b] "+r"(b)
                 : [o] "r"(o)
                 : "rax", "rcx", "cc", "memory");
}

typedef void (*cond_fn)(uint64_t, uint64_t, int, uint8_t *);
struct op {
    const char *name;
    cond_fn f[4]; /* 8, 16, 32, 64 bits */
};
#define OP4(n) {#n, {n##8, n##16, n##32, n##64}}
static const struct op ops[] = {
    OP4(add), OP4(sub), OP4(cmp), OP4(adc), OP4(sbb), OP4(and), OP4(or), OP4(xor), OP4(test),
    OP4(inc), OP4(dec), OP4(neg), OP4(shl1), OP4(shr1), OP4(sar1),
    {"cmp_shl0", {cmp_shl0, cmp_shl0, cmp_shl0, cmp_shl0}},
};

/* Edge values at each width: 0, 1, -1, the signed minimum and maximum, and their neighbours. */
static void edge_values(int bits, uint64_t v[8])
{
    uint64_t smin = 1ull << (bits - 1), all = bits == 64 ? ~0ull : (1ull << bits) - 1;
    v[0] = 0;
    v[1] = 1;
    v[2] = all;
    v[3] = smin;
    v[4] = smin - 1;
    v[5] = smin + 1;
    v[6] = 0x5a & all;
    v[7] = (all - 0x5a) | 0x1111111111111111ull; /* upper garbage for narrow widths */
}

static void from_ops(void)
{
    static const int widths[] = {8, 16, 32, 64};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        for (int w = 0; w < 4; w++) {
            uint64_t v[8];
            edge_values(widths[w], v);
            unsigned lines = 0;
            for (int i = 0; i < 8; i++)
                for (int j = 0; j < 8; j++)
                    for (int cf = 0; cf < 2; cf++) {
                        uint8_t o[48];
                        ops[k].f[w](v[i], v[j], cf, o);
                        char what[96];
                        snprintf(what, sizeof what, "%s%d %llx,%llx cf%d", ops[k].name, widths[w],
                                 (unsigned long long)v[i], (unsigned long long)v[j], cf);
                        print_masks(what, o);
                        lines++;
                    }
            CHECK(lines == 128);
        }
}

static void loops(void)
{
    static const uint64_t counts[] = {0, 1, 2, 0x100000000ull, 0x100000001ull, ~0ull};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        for (int zf = 0; zf < 2; zf++) {
            uint64_t c[6], t = 0;
            /* each: rcx = count, ZF = zf; taken -> bit set; rcx after is saved */
#define LOOPT(insn, bit, idx)                                                                     \
    asm volatile("mov %[n], %%rcx\n\t"                                                            \
                 "cmp $1, %[z]\n\t" /* ZF = (zf == 1) */                                           \
                 insn " 1f\n\t"                                                                   \
                 "jmp 2f\n1:\t"                                                                   \
                 "or $" #bit ", %[t]\n2:\t"                                                       \
                 "mov %%rcx, %[c]"                                                                \
                 : [t] "+r"(t), [c] "=r"(c[idx])                                                  \
                 : [n] "r"(counts[i]), [z] "r"((uint64_t)zf)                                       \
                 : "rcx", "cc")
            LOOPT("loop", 1, 0);
            LOOPT("loope", 2, 1);
            LOOPT("loopne", 4, 2);
            LOOPT("jrcxz", 8, 3);
            LOOPT("jecxz", 16, 4);
            LOOPT("addr32 loop", 32, 5); /* 67 prefix: ECX is the counter */
            printf("loops rcx=%llx zf=%d: taken %02llx rcx after %llx %llx %llx %llx %llx %llx\n",
                   (unsigned long long)counts[i], zf, (unsigned long long)t, (unsigned long long)c[0],
                   (unsigned long long)c[1], (unsigned long long)c[2], (unsigned long long)c[3],
                   (unsigned long long)c[4], (unsigned long long)c[5]);
        }
    }
}

/* CMOVcc r32 zero-extends even when it does not move; the 16-bit form merges; the memory source is read
   (and may fault) even when the condition is false. */
static void cmov_widths(void)
{
    uint64_t a = ~0ull, b = 0x1122334455667788ull;
    asm("cmp %%rax, %%rax\n\tcmovne %k1, %k0" : "+r"(a) : "r"(b) : "cc");
    printf("cmovne32 false: %llx\n", (unsigned long long)a);
    a = ~0ull;
    asm("cmp %%rax, %%rax\n\tcmove %k1, %k0" : "+r"(a) : "r"(b) : "cc");
    printf("cmove32 true: %llx\n", (unsigned long long)a);
    a = ~0ull;
    asm("cmp %%rax, %%rax\n\tcmovne %w1, %w0" : "+r"(a) : "r"(b) : "cc");
    printf("cmovne16 false: %llx\n", (unsigned long long)a);
    a = ~0ull;
    asm("cmp %%rax, %%rax\n\tcmove %w1, %w0" : "+r"(a) : "r"(b) : "cc");
    printf("cmove16 true: %llx\n", (unsigned long long)a);
    a = ~0ull;
    asm("cmp %%rax, %%rax\n\tcmovne %1, %0" : "+r"(a) : "r"(b) : "cc");
    printf("cmovne64 false: %llx\n", (unsigned long long)a);

    insn_catch_signals();
    volatile uint64_t *bad = (uint64_t *)(uintptr_t)0x10; /* never mapped */
    a = 7;
    if (INSN_TRY()) {
        asm volatile("cmp %%rax, %%rax\n\tcmovne %1, %0" : "+r"(a) : "m"(*bad) : "cc");
        printf("cmovne from unmapped memory: no fault, %llx\n", (unsigned long long)a);
    } else {
        printf("cmovne from unmapped memory: %s addr %s\n", insn_sig_name(insn_fault.sig),
               insn_fault.addr == 0x10 ? "ok" : "WRONG");
    }
}

int main(void)
{
    from_popf();
    from_ops();
    loops();
    cmov_widths();
    return 0;
}
