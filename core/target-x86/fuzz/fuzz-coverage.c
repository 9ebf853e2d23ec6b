/*
 * Coverage: per ISA extension (Zydis's grouping: BASE, X87, SSE, SSE2, AVX, AVX2, FMA, BMI1...), the
 * mnemonics Zydis decodes, the ones the translator has a row for, the ones the model advertises, the ones
 * the fuzzer generated and compared equal at least N times, and the ones that mismatched. "Decoded" comes
 * from a sweep over the opcode space (legacy maps with their mandatory prefixes, VEX, EVEX and XOP maps).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/target-x86/cpuid.h"
#include "core/target-x86/fuzz/fuzz.h"
#include "core/target-x86/translate.h"

#define FUZZ_NEXT (ZYDIS_ISA_EXT_MAX_VALUE + 1)
#define FUZZ_NMN (ZYDIS_MNEMONIC_MAX_VALUE + 1)

/* Counters by [isa_ext][mnemonic]. */
static uint32_t (*fuzz_gen_count)[FUZZ_NMN];
static uint32_t (*fuzz_cmp_count)[FUZZ_NMN];
static uint32_t (*fuzz_bad_count)[FUZZ_NMN];
static uint32_t fuzz_bad_mnemonic[FUZZ_NMN];

static void fuzz_cov_init(void)
{
    if (!fuzz_gen_count) {
        fuzz_gen_count = calloc(FUZZ_NEXT, sizeof(*fuzz_gen_count));
        fuzz_cmp_count = calloc(FUZZ_NEXT, sizeof(*fuzz_cmp_count));
        fuzz_bad_count = calloc(FUZZ_NEXT, sizeof(*fuzz_bad_count));
    }
}

void fuzz_cov_generated(const FuzzSeq *seq)
{
    fuzz_cov_init();
    for (int i = 0; i < seq->nunits; i++) {
        const FuzzUnit *u = &seq->unit[i];
        fuzz_gen_count[u->isa_ext % FUZZ_NEXT][u->mnemonic % FUZZ_NMN]++;
    }
}

void fuzz_cov_compared(const FuzzSeq *seq, int executed_units)
{
    fuzz_cov_init();
    for (int i = 0; i < executed_units && i < seq->nunits; i++) {
        const FuzzUnit *u = &seq->unit[i];
        fuzz_cmp_count[u->isa_ext % FUZZ_NEXT][u->mnemonic % FUZZ_NMN]++;
    }
}

void fuzz_cov_mismatch(ZydisMnemonic m)
{
    fuzz_cov_init();
    fuzz_bad_mnemonic[m % FUZZ_NMN]++;
}

/* --- what Zydis decodes -------------------------------------------------------------------------------- */

static uint8_t (*fuzz_decoded)[FUZZ_NMN];   /* [isa_ext][mnemonic] seen by the sweep */
typedef struct FuzzEncoding {
    uint8_t len;
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
} FuzzEncoding;
static FuzzEncoding (*fuzz_first_encoding)[FUZZ_NMN];   /* [isa_ext][mnemonic]: the first one found */

static void fuzz_decode_one(const ZydisDecoder *dec, const uint8_t *b, size_t n)
{
    ZydisDecodedInstruction insn;
    if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(dec, NULL, b, n, &insn))) {
        int e = insn.meta.isa_ext % FUZZ_NEXT, m = insn.mnemonic % FUZZ_NMN;
        if (!fuzz_decoded[e][m]) {
            fuzz_first_encoding[e][m].len = insn.length;
            memcpy(fuzz_first_encoding[e][m].bytes, b, insn.length);
        }
        fuzz_decoded[e][m] = 1;
    }
}

/* ModRM bytes worth trying: every reg field with a register and a memory r/m, all of them for x87. */
static int fuzz_modrms(bool all, uint8_t *out)
{
    int n = 0;
    for (int v = 0; v < 256; v++) {
        int mod = v >> 6, rm = v & 7;
        if (all || (mod == 3 && rm <= 1) || (mod == 0 && rm == 0)) {
            out[n++] = (uint8_t)v;
        }
    }
    return n;
}

static void fuzz_decode_sweep(void)
{
    if (fuzz_decoded) {
        return;
    }
    fuzz_decoded = calloc(FUZZ_NEXT, sizeof(*fuzz_decoded));
    fuzz_first_encoding = calloc(FUZZ_NEXT, sizeof(*fuzz_first_encoding));
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    uint8_t few[256], all[256];
    int nfew = fuzz_modrms(false, few), nall = fuzz_modrms(true, all);
    uint8_t b[32];
    static const uint8_t prefixes[] = {0, 0x66, 0xf2, 0xf3};
    static const uint8_t rexes[] = {0, 0x48};
    /* Legacy: [prefix] [REX] [0F [38|3A]] opcode modrm, zeros after (SIB, displacement, immediate). */
    for (int p = 0; p < 4; p++) {
        for (int x = 0; x < 2; x++) {
            for (int map = 0; map < 4; map++) {
                for (int op = 0; op < 256; op++) {
                    size_t n = 0;
                    memset(b, 0, sizeof(b));
                    if (prefixes[p]) {
                        b[n++] = prefixes[p];
                    }
                    if (rexes[x]) {
                        b[n++] = rexes[x];
                    }
                    if (map >= 1) {
                        b[n++] = 0x0f;
                    }
                    if (map == 2) {
                        b[n++] = 0x38;
                    } else if (map == 3) {
                        b[n++] = 0x3a;
                    }
                    b[n++] = (uint8_t)op;
                    bool x87 = map == 0 && op >= 0xd8 && op <= 0xdf;
                    const uint8_t *m = x87 ? all : few;
                    int nm = x87 ? nall : nfew;
                    for (int k = 0; k < nm; k++) {
                        b[n] = m[k];
                        fuzz_decode_one(&dec, b, sizeof(b));
                    }
                    if (map == 1 && op == 0x0f) {   /* 3DNow!: the opcode is the last byte */
                        for (int s = 0; s < 256; s++) {
                            b[n] = 0xc1;
                            b[n + 1] = (uint8_t)s;
                            fuzz_decode_one(&dec, b, sizeof(b));
                        }
                    }
                }
            }
        }
    }
    /* VEX (C4), XOP (8F) and EVEX (62): every map, W, L and pp. */
    for (int kind = 0; kind < 3; kind++) {
        static const int vex_maps[] = {1, 2, 3}, xop_maps[] = {8, 9, 10}, evex_maps[] = {1, 2, 3, 5, 6};
        const int *maps = kind == 0 ? vex_maps : kind == 1 ? xop_maps : evex_maps;
        int nmaps = kind == 2 ? 5 : 3;
        int nl = kind == 2 ? 3 : 2;
        for (int mi = 0; mi < nmaps; mi++) {
            for (int w = 0; w < 2; w++) {
                for (int l = 0; l < nl; l++) {
                    for (int pp = 0; pp < 4; pp++) {
                        for (int op = 0; op < 256; op++) {
                            memset(b, 0, sizeof(b));
                            size_t n = 0;
                            if (kind < 2) {
                                b[n++] = kind == 0 ? 0xc4 : 0x8f;
                                b[n++] = (uint8_t)(0xe0 | maps[mi]);
                                b[n++] = (uint8_t)((w << 7) | (0xf << 3) | (l << 2) | pp);
                            } else {
                                b[n++] = 0x62;
                                b[n++] = (uint8_t)(0xf0 | maps[mi]);
                                b[n++] = (uint8_t)((w << 7) | (0xf << 3) | 0x4 | pp);
                                b[n++] = (uint8_t)((l << 5) | 0x08);
                            }
                            b[n++] = (uint8_t)op;
                            for (int k = 0; k < nfew; k++) {
                                b[n] = few[k];
                                fuzz_decode_one(&dec, b, sizeof(b));
                            }
                        }
                    }
                }
            }
        }
    }
}

/* --- the report ---------------------------------------------------------------------------------------- */

/*
 * Extensions whose encodings the model never advertises: features.h has no CPUID bit for them (AVX-512,
 * AMX, FMA4, XOP, 3DNow!, KNC...), whatever rows their mnemonics share with advertised forms (VADDPS is
 * AVX and AVX512EVEX alike; only its VEX forms are the model's).
 */
static bool fuzz_ext_never_advertised(ZydisISAExt e)
{
    static const char *const never[] = {
        "AVX512EVEX", "AVX512VEX", "AMX_BF16", "AMX_INT8", "AMX_TILE", "AVX_VNNI", "FMA4", "XOP", "TBM",
        "SSE4A", "GFNI", "VAES", "VPCLMULQDQ", "AMD3DNOW", "KNC", "KNCV", "MPX", "PADLOCK", "KEYLOCKER",
        "KEYLOCKER_WIDE", "CLDEMOTE", "CLWB", "ENQCMD", "HRESET", "INVPCID", "MOVDIR", "PREFETCHWT1",
        "PTWRITE", "RDPRU", "SERIALIZE", "SGX", "SMAP", "SMX", "SNP", "SVM", "TDX", "TSX_LDTRK",
        "UINTR", "VMFUNC", "VTX", "WAITPKG", "WBNOINVD", "AMD_INVLPGB", "PCONFIG", "PKU", "RTM", "XSAVES",
        "AVX_IFMA", "AVX_NE_CONVERT", "AVX_VNNI_INT8", "CMPCCXADD", "ICACHE_PREFETCH", "MCOMMIT", "MSRLIST",
        "WRMSRNS", "RAO_INT", "SHA512", "SM3", "SM4", "AVX_VNNI_INT16", "CET_NOTRACK",
    };
    const char *name = ZydisISAExtGetString(e);
    for (size_t i = 0; name && i < sizeof(never) / sizeof(never[0]); i++) {
        if (!strcmp(name, never[i])) {
            return true;
        }
    }
    return false;
}

static bool fuzz_advertised(ZydisMnemonic m, FuzzSkip *skip)
{
    const FuzzInsn *insns;
    size_t n = fuzz_insns(&insns, NULL);
    for (size_t i = 0; i < n; i++) {
        if (insns[i].mnemonic == m) {
            *skip = insns[i].skip;
            return insns[i].skip != FUZZ_SKIP_NOT_ADVERTISED;
        }
    }
    *skip = FUZZ_SKIP_NOT_ADVERTISED;
    return false;
}

size_t fuzz_unadvertised_encodings(FuzzEncodingFn fn, void *opaque)
{
    fuzz_decode_sweep();
    size_t n = 0;
    for (int e = 0; e < FUZZ_NEXT; e++) {
        for (int m = 0; m < FUZZ_NMN; m++) {
            FuzzSkip skip;
            if (!fuzz_decoded[e][m] || (!fuzz_ext_never_advertised((ZydisISAExt)e) &&
                                        fuzz_advertised((ZydisMnemonic)m, &skip))) {
                continue;
            }
            fn(opaque, ZydisISAExtGetString((ZydisISAExt)e), (ZydisMnemonic)m, fuzz_first_encoding[e][m].bytes,
               fuzz_first_encoding[e][m].len);
            n++;
        }
    }
    return n;
}

static long fuzz_cmp_total(int ext, ZydisMnemonic m)
{
    return fuzz_cmp_count ? (long)fuzz_cmp_count[ext][m] : 0;
}

long fuzz_cov_compared_count(ZydisMnemonic m)
{
    fuzz_cov_init();
    long total = 0;
    for (int e = 0; e < FUZZ_NEXT; e++) {
        total += fuzz_cmp_total(e, m);
    }
    return total;
}

int fuzz_cov_untested(FILE *out, long min_tested)
{
    fuzz_cov_init();
    const FuzzInsn *insns;
    size_t usable;
    fuzz_insns(&insns, &usable);
    int untested = 0;
    for (size_t i = 0; i < usable; i++) {
        long total = 0;
        for (int e = 0; e < FUZZ_NEXT; e++) {
            total += fuzz_cmp_total(e, insns[i].mnemonic);
        }
        if (total < min_tested) {
            untested++;
            if (out) {
                fprintf(out, "  %s (compared %ld times)\n", ZydisMnemonicGetString(insns[i].mnemonic), total);
            }
        }
    }
    return untested;
}

int fuzz_cov_write(const char *path, long min_tested, const char *how)
{
    fuzz_cov_init();
    fuzz_decode_sweep();
    FILE *f = fopen(path, "w");
    if (!f) {
        return -1;
    }
    /* Where the translator's mnemonics fall when no sweep found them (e.g. forms only a prefix reaches). */
    const FuzzInsn *insns;
    size_t ninsns = fuzz_insns(&insns, NULL);
    fprintf(f, "# CPU coverage: opcode groups x {decoded, translated, differential-tested, mismatches}\n\n");
    fprintf(f, "Generated by `fuzz-cpu --coverage-report` (core/target-x86/fuzz); do not edit.\n\n");
    fprintf(f, "Run: %s\n\n", how);
    fprintf(f, "Groups are Zydis ISA extensions. Per group, counted in mnemonics:\n\n");
    fprintf(f, "- **decoded**: Zydis decodes it in this group (a sweep over the legacy, VEX, XOP and EVEX maps)\n");
    fprintf(f, "- **translated**: the translator's mnemonic table has a row for it\n");
    fprintf(f, "- **advertised**: translated, and CPUID (model \"max\" on this host) advertises its feature (never\n");
    fprintf(f, "  for extensions the model has no CPUID bit for: AVX-512, AMX, XOP, FMA4, 3DNow!, KNC...)\n");
    fprintf(f, "- **diff-tested**: generated in this group and compared equal with the host at least %ld times\n",
            min_tested);
    fprintf(f, "- **mismatches**: mnemonics with at least one native/emulated difference in the run\n\n");
    fprintf(f, "| group | decoded | translated | advertised | diff-tested | mismatches | advertised, not diff-tested |\n");
    fprintf(f, "|---|---:|---:|---:|---:|---:|---|\n");
    long tot[5] = {0};
    for (int e = 0; e < FUZZ_NEXT; e++) {
        long dec = 0, tr = 0, adv = 0, tested = 0, bad = 0;
        char gap[2048] = "";
        size_t gl = 0;
        for (int m = 1; m < FUZZ_NMN; m++) {
            bool in_group = fuzz_decoded[e][m] || fuzz_gen_count[e][m];
            if (!in_group) {
                continue;
            }
            dec++;
            if (!x86_insn_lookup((ZydisMnemonic)m)) {
                continue;
            }
            tr++;
            FuzzSkip skip;
            if (fuzz_ext_never_advertised((ZydisISAExt)e) || !fuzz_advertised((ZydisMnemonic)m, &skip)) {
                continue;
            }
            adv++;
            if (fuzz_cmp_total(e, (ZydisMnemonic)m) >= min_tested) {
                tested++;
            } else if (gl < sizeof(gap) - 80) {
                gl += (size_t)snprintf(gap + gl, sizeof(gap) - gl, "%s%s%s%s", gl ? ", " : "",
                                       ZydisMnemonicGetString((ZydisMnemonic)m), skip != FUZZ_USE ? " *" : "",
                                       skip == FUZZ_SKIP_CONTROL ? "c" : skip == FUZZ_SKIP_PRIVILEGED ? "p" :
                                       skip == FUZZ_SKIP_NONDETERMINISTIC ? "n" : skip == FUZZ_SKIP_MODEL ? "m" :
                                       skip == FUZZ_SKIP_NO_FORMS ? "f" : skip == FUZZ_SKIP_KNOWN ? "k" : "");
            }
            if (fuzz_bad_count[e][m] || (fuzz_bad_mnemonic[m] && fuzz_gen_count[e][m])) {
                bad++;
            }
        }
        if (dec == 0) {
            continue;
        }
        fprintf(f, "| %s | %ld | %ld | %ld | %ld | %ld | %s |\n", ZydisISAExtGetString((ZydisISAExt)e), dec, tr, adv,
                tested, bad, gap);
        tot[0] += dec, tot[1] += tr, tot[2] += adv, tot[3] += tested, tot[4] += bad;
    }
    fprintf(f, "| **all** | %ld | %ld | %ld | %ld | %ld | |\n\n", tot[0], tot[1], tot[2], tot[3], tot[4]);
    fprintf(f, "A mnemonic counts once per group it decodes in (PADDB is in MMX and SSE2, VPADDB in AVX and\n");
    fprintf(f, "AVX2...), so a translated mnemonic may be diff-tested in one group and not in another (its form\n");
    fprintf(f, "there may be one the generator cannot build, or one not advertised). Marks in the last column say\n");
    fprintf(f, "why the fuzzer leaves it to directed tests: *c enters the kernel (SYSENTER), *f no operand form\n");
    fprintf(f, "the generator can build, *k a known mismatch (reported; left out of CI runs until fixed).\n\n");
    fprintf(f, "How the instructions that cannot run in a straight line are differential-tested:\n\n");
    fprintf(f, "- branches, calls, returns, loops (Jcc, JRCXZ/JECXZ, JMP rel/reg/mem, CALL rel/reg/mem, RET,\n");
    fprintf(f, "  RET imm16, LOOP/LOOPE/LOOPNE forward and backward): targets inside their unit; taken and not\n");
    fprintf(f, "  taken both occur (fuzz_cpu_test checks it for every condition)\n");
    fprintf(f, "- UD0/UD1/UD2, INT3, INT1, INT n (never 0x80, Linux's ia32 system call gate), HLT and the\n");
    fprintf(f, "  privileged instructions: as a sequence's last unit; signal, vector, si_code, faulting RIP,\n");
    fprintf(f, "  fault address and the whole state at the fault are compared\n");
    fprintf(f, "- RDTSC, RDTSCP, RDRAND (RDSEED when the host has it), CPUID, XGETBV: the output registers are\n");
    fprintf(f, "  masked after the instruction (their upper halves, which must be zero, are kept; 16-bit RDRAND\n");
    fprintf(f, "  keeps bits 63:16); flags, other registers, memory and faults (XGETBV of a missing XCR) are\n");
    fprintf(f, "  compared. CPUID's and XGETBV's values describe the model and are checked by directed tests\n");
    fprintf(f, "- SYSCALL: RAX is set right before it to a call whose result the host gives both runs alike and\n");
    fprintf(f, "  that changes nothing (sched_yield, getuid, getgid, geteuid, getegid, numbers Linux does not\n");
    fprintf(f, "  have: -ENOSYS); natively the call runs, emulated the harness makes it on the host; RAX, RCX\n");
    fprintf(f, "  (next RIP), R11 (RFLAGS) and everything else are compared\n\n");
    fprintf(f, "## Translated mnemonics the fuzzer does not generate\n\n| mnemonic | why |\n|---|---|\n");
    for (size_t i = 0; i < ninsns; i++) {
        if (insns[i].skip != FUZZ_USE) {
            fprintf(f, "| %s | %s |\n", ZydisMnemonicGetString(insns[i].mnemonic), fuzz_skip_reason(insns[i].skip));
        }
    }
    fclose(f);
    return 0;
}
