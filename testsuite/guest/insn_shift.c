/*
 * Shifts and rotates at every width with the counts where the rules change: 0 (nothing changes, not even
 * the flags), 1 (OF defined), width-1, width, more than the width, and counts the CPU masks (to 5 bits,
 * 6 for 64-bit operands; RCL/RCR then take it modulo 9 or 17 at 8 and 16 bits). Counts come from CL
 * and from an immediate. Each line prints the result and the flags the manual defines for that case
 * (undefined ones print as '-'), after starting from three different flag states, so a translator that
 * writes flags for a zero count or forgets to shows.
 */
#include "insn_common.h"

enum { SHL, SHR, SAR, ROL, ROR, RCL, RCR, SHLD, SHRD, NOPS };
static const char *const names[NOPS] = {"shl", "shr", "sar", "rol", "ror", "rcl", "rcr", "shld", "shrd"};

/* The flags the manual defines after op at this width and count. */
static uint64_t defined_flags(int op, int bits, unsigned count)
{
    unsigned c = count & (bits == 64 ? 63 : 31);
    if (c == 0)
        return FL_ALL; /* nothing changes */
    uint64_t of = c == 1 ? FL_OF : 0;
    switch (op) {
    case SHL:
    case SHR:
        return FL_SF | FL_ZF | FL_PF | of | (c < (unsigned)bits ? FL_CF : 0);
    case SAR:
        return FL_SF | FL_ZF | FL_PF | FL_CF | of;
    case ROL:
    case ROR:
    case RCL:
    case RCR:
        return (FL_ALL & ~FL_OF) | of; /* only CF and OF change */
    default: /* SHLD, SHRD: a count above the width leaves result and flags undefined */
        return c > (unsigned)bits ? 0 : FL_SF | FL_ZF | FL_PF | FL_CF | of;
    }
}

#define PRE "lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\t"
#define POST "\n\tpushfq\n\tpop %[f]\n\tlea 128(%%rsp), %%rsp"

/* By CL. */
#define SH_CL(insn, m) \
    asm volatile(PRE insn " %%cl, %" m "[a]" POST : [a] "+r"(a), [f] "+r"(f) : "c"(count) : "cc")
#define SHD_CL(insn, m) \
    asm volatile(PRE insn " %%cl, %" m "[b], %" m "[a]" POST : [a] "+r"(a), [f] "+r"(f) : "c"(count), [b] "r"(b) : "cc")

static uint64_t run_cl(int op, int bits, uint64_t a, uint64_t b, unsigned count, uint64_t *flags)
{
    uint64_t f = *flags;
#define W4(opname)                                                                                    \
    switch (bits) {                                                                                   \
    case 8: SH_CL(opname "b", "b"); break;                                                            \
    case 16: SH_CL(opname "w", "w"); break;                                                           \
    case 32: SH_CL(opname "l", "k"); break;                                                           \
    default: SH_CL(opname "q", "q"); break;                                                           \
    }
#define W3D(opname)                                                                                   \
    switch (bits) {                                                                                   \
    case 16: SHD_CL(opname "w", "w"); break;                                                          \
    case 32: SHD_CL(opname "l", "k"); break;                                                          \
    default: SHD_CL(opname "q", "q"); break;                                                          \
    }
    switch (op) {
    case SHL: W4("shl"); break;
    case SHR: W4("shr"); break;
    case SAR: W4("sar"); break;
    case ROL: W4("rol"); break;
    case ROR: W4("ror"); break;
    case RCL: W4("rcl"); break;
    case RCR: W4("rcr"); break;
    case SHLD: W3D("shld"); break;
    case SHRD: W3D("shrd"); break;
    }
    *flags = f;
    return a;
}

/* By immediate: one asm statement per count. */
#define IMM_COUNTS(X) X(0) X(1) X(2) X(7) X(8) X(9) X(15) X(16) X(17) X(31) X(32) X(33) X(63) X(64) X(255)
#define SH_I(insn, m, n) \
    asm volatile(PRE insn " $" #n ", %" m "[a]" POST : [a] "+r"(a), [f] "+r"(f) : : "cc")
#define SHD_I(insn, m, n) \
    asm volatile(PRE insn " $" #n ", %" m "[b], %" m "[a]" POST : [a] "+r"(a), [f] "+r"(f) : [b] "r"(b) : "cc")
#define CASE_W4(n)                                                                                    \
    case n:                                                                                           \
        switch (bits) {                                                                               \
        case 8: SH_I(OPN "b", "b", n); break;                                                         \
        case 16: SH_I(OPN "w", "w", n); break;                                                        \
        case 32: SH_I(OPN "l", "k", n); break;                                                        \
        default: SH_I(OPN "q", "q", n); break;                                                        \
        }                                                                                             \
        break;
#define CASE_W3D(n)                                                                                   \
    case n:                                                                                           \
        switch (bits) {                                                                               \
        case 16: SHD_I(OPN "w", "w", n); break;                                                       \
        case 32: SHD_I(OPN "l", "k", n); break;                                                       \
        default: SHD_I(OPN "q", "q", n); break;                                                       \
        }                                                                                             \
        break;
#define DEF_IMM(fname, CASES)                                                                         \
    static uint64_t fname(int bits, uint64_t a, uint64_t b, unsigned count, uint64_t *flags)         \
    {                                                                                                 \
        uint64_t f = *flags;                                                                          \
        (void)b;                                                                                      \
        switch (count) { IMM_COUNTS(CASES) default: CHECK(!"count"); }                                \
        *flags = f;                                                                                   \
        return a;                                                                                     \
    }
#define OPN "shl"
DEF_IMM(imm_shl, CASE_W4)
#undef OPN
#define OPN "shr"
DEF_IMM(imm_shr, CASE_W4)
#undef OPN
#define OPN "sar"
DEF_IMM(imm_sar, CASE_W4)
#undef OPN
#define OPN "rol"
DEF_IMM(imm_rol, CASE_W4)
#undef OPN
#define OPN "ror"
DEF_IMM(imm_ror, CASE_W4)
#undef OPN
#define OPN "rcl"
DEF_IMM(imm_rcl, CASE_W4)
#undef OPN
#define OPN "rcr"
DEF_IMM(imm_rcr, CASE_W4)
#undef OPN
#define OPN "shld"
DEF_IMM(imm_shld, CASE_W3D)
#undef OPN
#define OPN "shrd"
DEF_IMM(imm_shrd, CASE_W3D)
#undef OPN

typedef uint64_t (*imm_fn)(int, uint64_t, uint64_t, unsigned, uint64_t *);
static const imm_fn imm_fns[NOPS] = {imm_shl, imm_shr, imm_sar, imm_rol, imm_ror, imm_rcl, imm_rcr, imm_shld, imm_shrd};

static const unsigned counts[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 255};
static const uint64_t values[] = {0x8000000000000001ull, 0x5a5a5a5a5a5a5a5aull, ~0ull, 1, 0x4000000000000000ull,
                                  0xc3};
static const uint64_t pre_flags[] = {0x202, 0x202 | FL_ALL, 0x202 | FL_CF | FL_ZF | FL_PF};

static uint64_t mask_bits(uint64_t v, int bits)
{
    return bits == 64 ? v : v & ((1ull << bits) - 1);
}

int main(void)
{
    static const int widths[] = {8, 16, 32, 64};
    const uint64_t b = 0xf0e1d2c3b4a59687ull;
    unsigned lines = 0;
    for (int op = 0; op < NOPS; op++)
        for (int w = 0; w < 4; w++) {
            int bits = widths[w];
            if (op >= SHLD && bits == 8)
                continue; /* no 8-bit double shifts */
            for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
                for (size_t v = 0; v < sizeof values / sizeof values[0]; v++)
                    for (size_t p = 0; p < 3; p++) {
                        uint64_t def = defined_flags(op, bits, counts[c]);
                        uint64_t f1 = pre_flags[p], f2 = pre_flags[p];
                        /* upper garbage: 8/16-bit forms must keep it, 32-bit forms must clear it */
                        uint64_t in = values[v] ^ 0x0123456789abcdefull * (bits < 64);
                        uint64_t r1 = run_cl(op, bits, in, b, counts[c], &f1);
                        uint64_t r2 = imm_fns[op](bits, in, b, counts[c], &f2);
                        int undefined_result = def == 0;
                        printf("%s%d %3u %016llx f%zu: ", names[op], bits, counts[c], (unsigned long long)in, p);
                        if (undefined_result)
                            printf("undefined (upper %llx)\n", (unsigned long long)((r1 ^ in) & ~mask_bits(~0ull, bits)));
                        else
                            printf("%016llx %s\n", (unsigned long long)r1, insn_flags_str(f1, def));
                        if (!undefined_result && (r1 != r2 || ((f1 ^ f2) & def)))
                            printf("  CL and immediate forms DIFFER: imm %016llx %s\n", (unsigned long long)r2,
                                   insn_flags_str(f2, def));
                        lines++;
                    }
        }
    printf("%u cases\n", lines);
    return 0;
}
