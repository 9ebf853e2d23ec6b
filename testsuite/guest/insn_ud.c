/*
 * #UD for what the CPU does not advertise. Every encoding below belongs to an extension with a CPUID bit;
 * when CPUID does not set that bit, executing the encoding must raise SIGILL at the instruction. Zydis
 * decodes all of them, and for some the translator has a row for the mnemonic (BEXTR's TBM form with an
 * immediate, VAESENC/VPCLMULQDQ on YMM, EVEX forms of AVX instructions), so each encoding is a check
 * that the translator looks at the encoding, not only at the mnemonic.
 *
 * The host (an AMD EPYC) implements several of these, so native execution is no oracle here: this test
 * runs under ember only (ember_only_test.sh) and checks itself.
 *   insn_ud --ember [--min N]
 *       every entry marked "never" (extensions ember does not implement) must be unadvertised, and at
 *       least N encodings must be checked; then each unadvertised one must raise SIGILL.
 * Under ember's smaller CPU models (-cpu x86-64-v1/v2/v3) the implemented-but-unadvertised extensions
 * (AVX, BMI2, SSE4.2...) are checked too. The last line is PASS or FAIL (exit status 0 or 1).
 */
#include "insn_common.h"

#include <cpuid.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Each encoding assembled between two labels in .rodata: copied into an executable page to run. */
#define SNIP(id, text) ".globl ud_" #id "\n.hidden ud_" #id "\nud_" #id ":\n\t" text "\n.globl ud_" #id "_end\n.hidden ud_" #id "_end\nud_" #id "_end:\n"
asm(".section .rodata.ud_snippets, \"a\"\n"
    SNIP(avx512f, "vaddps %zmm1, %zmm2, %zmm3")
    SNIP(avx512f_k, "kmovw %k1, %eax")
    SNIP(avx512vl, "vaddps %xmm1, %xmm2, %xmm3{%k1}")
    SNIP(avx512vl_x16, "vpaddd %xmm16, %xmm17, %xmm18")
    SNIP(avx512bw, "vpaddb %zmm1, %zmm2, %zmm3")
    SNIP(avx512dq, "vandps %zmm1, %zmm2, %zmm3")
    SNIP(avx512cd, "vplzcntd %zmm1, %zmm2")
    SNIP(avx512ifma, "vpmadd52luq %zmm1, %zmm2, %zmm3")
    SNIP(avx512vbmi, "vpermb %zmm1, %zmm2, %zmm3")
    SNIP(avx512vnni, "vpdpbusd %zmm1, %zmm2, %zmm3")
    SNIP(avx512bf16, "vcvtne2ps2bf16 %zmm1, %zmm2, %zmm3")
    SNIP(avxvnni, "{vex} vpdpbusd %xmm1, %xmm2, %xmm3")
    SNIP(gfni, "gf2p8mulb %xmm1, %xmm2")
    SNIP(vaes, "vaesenc %ymm1, %ymm2, %ymm3")
    SNIP(vpclmulqdq, "vpclmulqdq $0, %ymm1, %ymm2, %ymm3")
    SNIP(rdpid, "rdpid %rax")
    SNIP(movdiri, "movdiri %eax, -64(%rsp)")
    SNIP(clwb, "clwb -64(%rsp)")
    SNIP(serialize, "serialize")
    SNIP(waitpkg, "umonitor %rax")
    SNIP(rtm, "xtest")
    SNIP(sse4a, "extrq $8, $0, %xmm0")
    SNIP(sse4a_movnt, "movntsd %xmm0, -64(%rsp)")
    SNIP(xop, "vprotb $1, %xmm0, %xmm1")
    SNIP(xop_vpcmov, "vpcmov %xmm0, %xmm1, %xmm2, %xmm3")
    SNIP(fma4, "vfmaddps %xmm0, %xmm1, %xmm2, %xmm3")
    SNIP(tbm, "blcfill %eax, %ecx")
    SNIP(tbm_bextr, "bextr $0x0804, %eax, %ecx")
    SNIP(amd3dnow, "pfadd %mm1, %mm0")
    SNIP(amd3dnow_femms, "femms")
    SNIP(clzero, "clzero")
    SNIP(monitorx, "mov %rsp, %rax\n\txor %ecx, %ecx\n\txor %edx, %edx\n\tmonitorx")
    SNIP(rdpru, "xor %ecx, %ecx\n\trdpru")
    SNIP(fsgsbase, "rdfsbase %rax")
    SNIP(amx, "tilerelease")
    SNIP(uintr, "testui")
    SNIP(pku, "xor %ecx, %ecx\n\trdpkru")
    SNIP(avx512fp16, "vaddph %zmm1, %zmm2, %zmm3")
    /* implemented, unadvertised only by the smaller CPU models */
    SNIP(sse3, "addsubpd %xmm1, %xmm0")
    SNIP(ssse3, "pshufb %xmm1, %xmm0")
    SNIP(sse41, "pminsd %xmm1, %xmm0")
    SNIP(sse42, "crc32l %eax, %ecx")
    SNIP(popcnt, "popcnt %eax, %ecx")
    SNIP(pclmul, "pclmulqdq $0, %xmm1, %xmm0")
    SNIP(aes, "aesenc %xmm1, %xmm0")
    SNIP(movbe, "movbe (%rsp), %eax")
    SNIP(osxsave, "xor %ecx, %ecx\n\txgetbv")
    SNIP(avx, "vaddps %ymm1, %ymm2, %ymm3")
    SNIP(avx_x, "vaddps %xmm1, %xmm2, %xmm3")
    SNIP(avx2, "vpaddd %ymm1, %ymm2, %ymm3")
    SNIP(avx2_gather, "vpcmpeqd %ymm3, %ymm3, %ymm3\n\tvpxor %ymm1, %ymm1, %ymm1\n\tlea -64(%rsp), %rax\n\tvpgatherdd %ymm3, (%rax,%ymm1,1), %ymm2")
    SNIP(fma, "vfmadd231ps %xmm1, %xmm2, %xmm3")
    SNIP(f16c, "vcvtph2ps %xmm1, %xmm2")
    SNIP(bmi1, "andn %eax, %ecx, %edx")
    SNIP(bmi2, "pdep %eax, %ecx, %edx")
    SNIP(rdrand, "rdrand %eax")
    SNIP(rdseed, "rdseed %eax")
    SNIP(adx, "adcx %eax, %ecx")
    SNIP(sha, "sha1msg1 %xmm1, %xmm0")
    SNIP(lahf, "lahf")
    SNIP(rdtscp, "rdtscp")
    ".previous\n");

#define DECL(id) extern const uint8_t ud_##id[] __attribute__((visibility("hidden"))), ud_##id##_end[] __attribute__((visibility("hidden")));
#define IDS(X)                                                                                        \
    X(avx512f) X(avx512f_k) X(avx512vl) X(avx512vl_x16) X(avx512bw) X(avx512dq) X(avx512cd) X(avx512ifma) \
    X(avx512vbmi) X(avx512vnni) X(avx512bf16) X(avxvnni) X(gfni) X(vaes) X(vpclmulqdq) X(rdpid) X(movdiri) \
    X(clwb) X(serialize) X(waitpkg) X(rtm) X(sse4a) X(sse4a_movnt) X(xop) X(xop_vpcmov) X(fma4) X(tbm)    \
    X(tbm_bextr) X(amd3dnow) X(amd3dnow_femms) X(clzero) X(monitorx) X(rdpru) X(fsgsbase) X(amx) X(uintr) \
    X(pku) X(avx512fp16) X(sse3) X(ssse3) X(sse41) X(sse42) X(popcnt) X(pclmul) X(aes) X(movbe) X(osxsave) \
    X(avx) X(avx_x) X(avx2) X(avx2_gather) X(fma) X(f16c) X(bmi1) X(bmi2) X(rdrand) X(rdseed) X(adx) X(sha) \
    X(lahf) X(rdtscp)
IDS(DECL)

struct enc {
    const char *name;
    const uint8_t *start, *end;
    unsigned leaf, sub;
    int reg, bit; /* CPUID register (0 eax .. 3 edx) and bit of the extension */
    int never;    /* an extension ember does not implement: must never be advertised */
};

#define E(id, leaf, sub, reg, bit, never) {#id, ud_##id, ud_##id##_end, leaf, sub, reg, bit, never}
static const struct enc encs[] = {
    E(avx512f, 7, 0, 1, 16, 1), E(avx512f_k, 7, 0, 1, 16, 1), E(avx512vl, 7, 0, 1, 31, 1),
    E(avx512vl_x16, 7, 0, 1, 31, 1), E(avx512bw, 7, 0, 1, 30, 1), E(avx512dq, 7, 0, 1, 17, 1),
    E(avx512cd, 7, 0, 1, 28, 1), E(avx512ifma, 7, 0, 1, 21, 1), E(avx512vbmi, 7, 0, 2, 1, 1),
    E(avx512vnni, 7, 0, 2, 11, 1), E(avx512bf16, 7, 1, 0, 5, 1), E(avxvnni, 7, 1, 0, 4, 1),
    E(gfni, 7, 0, 2, 8, 1), E(vaes, 7, 0, 2, 9, 1), E(vpclmulqdq, 7, 0, 2, 10, 1), E(rdpid, 7, 0, 2, 22, 0),
    E(movdiri, 7, 0, 2, 27, 1), E(clwb, 7, 0, 1, 24, 1), E(serialize, 7, 0, 3, 14, 1), E(waitpkg, 7, 0, 2, 5, 1),
    E(rtm, 7, 0, 1, 11, 1), E(sse4a, 0x80000001, 0, 2, 6, 1), E(sse4a_movnt, 0x80000001, 0, 2, 6, 1),
    E(xop, 0x80000001, 0, 2, 11, 1), E(xop_vpcmov, 0x80000001, 0, 2, 11, 1), E(fma4, 0x80000001, 0, 2, 16, 1),
    E(tbm, 0x80000001, 0, 2, 21, 1), E(tbm_bextr, 0x80000001, 0, 2, 21, 1), E(amd3dnow, 0x80000001, 0, 3, 31, 1),
    E(amd3dnow_femms, 0x80000001, 0, 3, 31, 1), E(clzero, 0x80000008, 0, 1, 0, 1),
    E(monitorx, 0x80000001, 0, 2, 29, 1), E(rdpru, 0x80000008, 0, 1, 4, 1), E(fsgsbase, 7, 0, 1, 0, 1),
    E(amx, 7, 0, 3, 24, 1), E(uintr, 7, 0, 3, 5, 1), E(pku, 7, 0, 2, 4, 1), E(avx512fp16, 7, 0, 3, 23, 1),
    E(sse3, 1, 0, 2, 0, 0), E(ssse3, 1, 0, 2, 9, 0), E(sse41, 1, 0, 2, 19, 0), E(sse42, 1, 0, 2, 20, 0),
    E(popcnt, 1, 0, 2, 23, 0), E(pclmul, 1, 0, 2, 1, 0), E(aes, 1, 0, 2, 25, 0), E(movbe, 1, 0, 2, 22, 0),
    E(osxsave, 1, 0, 2, 27, 0), E(avx, 1, 0, 2, 28, 0), E(avx_x, 1, 0, 2, 28, 0), E(avx2, 7, 0, 1, 5, 0),
    E(avx2_gather, 7, 0, 1, 5, 0), E(fma, 1, 0, 2, 12, 0), E(f16c, 1, 0, 2, 29, 0), E(bmi1, 7, 0, 1, 3, 0),
    E(bmi2, 7, 0, 1, 8, 0), E(rdrand, 1, 0, 2, 30, 0), E(rdseed, 7, 0, 1, 18, 0), E(adx, 7, 0, 1, 19, 0),
    E(sha, 7, 0, 1, 29, 0), E(lahf, 0x80000001, 0, 2, 0, 0), E(rdtscp, 0x80000001, 0, 3, 27, 0),
};

static int advertised(const struct enc *e)
{
    unsigned r[4], max = __get_cpuid_max(e->leaf & 0x80000000u, NULL);
    if (e->leaf > max)
        return 0;
    if (e->leaf == 7) {
        __cpuid_count(7, 0, r[0], r[1], r[2], r[3]);
        if (e->sub > r[0])
            return 0;
    }
    __cpuid_count(e->leaf, e->sub, r[0], r[1], r[2], r[3]);
    /* AVX-class features are usable only with OSXSAVE and the YMM state enabled; ember advertises
       them together, so the plain bit is what is checked. */
    return (r[e->reg] >> e->bit) & 1;
}

int main(int argc, char **argv)
{
    static int ember, min; /* static: kept across the siglongjmps */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--ember") == 0)
            ember = 1;
        else if (strcmp(argv[i], "--min") == 0 && i + 1 < argc)
            min = atoi(argv[++i]);
    }
    insn_catch_signals();
    uint8_t *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    static int checked, failed, skipped;
    static size_t i;
    for (i = 0; i < sizeof encs / sizeof encs[0]; i++) {
        const struct enc *e = &encs[i];
        size_t len = (size_t)(e->end - e->start);
        CHECK(len > 0 && len < 96);
        if (advertised(e)) {
            skipped++;
            if (ember && e->never) {
                printf("%-16s ADVERTISED, but ember does not implement it\n", e->name);
                failed++;
            } else {
                printf("%-16s advertised: not checked\n", e->name);
            }
            continue;
        }
        checked++;
        uint8_t *at = page + 96 * i;
        CHECK(at + 96 <= page + 8192);
        memcpy(at, e->start, len);
        at[len] = 0xc3;
        /* the #UD instruction is the last one of the snippet (some first set up registers) */
        if (INSN_TRY()) {
            ((void (*)(void))(void *)at)();
            printf("%-16s NOT advertised, but ran\n", e->name);
            failed++;
        } else if (insn_fault.sig != SIGILL || insn_fault.rip < (uint64_t)(uintptr_t)at ||
                   insn_fault.rip >= (uint64_t)(uintptr_t)(at + len)) {
            printf("%-16s NOT advertised: %s, rip %s\n", e->name, insn_sig_name(insn_fault.sig),
                   insn_fault.rip >= (uint64_t)(uintptr_t)at && insn_fault.rip < (uint64_t)(uintptr_t)(at + len)
                       ? "in the snippet" : "ELSEWHERE");
            failed++;
        } else {
            printf("%-16s not advertised: SIGILL ok\n", e->name);
        }
    }
    asm volatile("emms"); /* in case an MMX snippet ran */
    printf("checked %d unadvertised encodings, %d advertised skipped, %d failures\n", checked, skipped, failed);
    if (checked < min) {
        printf("too few checked (%d < %d): the CPU model advertises more than this test expects\n", checked, min);
        failed++;
    }
    printf("%s\n", failed ? "FAIL" : "PASS");
    return failed ? 1 : 0;
}
