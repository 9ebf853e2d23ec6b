/*
 * Which rows of the translator's mnemonic table the fuzzer draws from. A random sequence must run from its
 * first byte to its last and mean the same on the host and under the model, so a few kinds of instruction
 * are left to directed tests: ones that leave the sequence, ones user mode may not execute, ones whose
 * result differs on every run, and ones that describe the CPU model (which differs from the host by design).
 */
#include <stdlib.h>
#include <string.h>

#include "core/target-x86/cpuid.h"
#include "core/target-x86/fuzz/fuzz.h"
#include "core/target-x86/translate.h"

typedef struct FuzzSkipRow {
    ZydisMnemonic m;
    FuzzSkip why;
} FuzzSkipRow;

static const FuzzSkipRow fuzz_skip_rows[] = {
#define C(m) {ZYDIS_MNEMONIC_##m, FUZZ_SKIP_CONTROL}
    C(JMP), C(JO), C(JNO), C(JB), C(JNB), C(JZ), C(JNZ), C(JBE), C(JNBE), C(JS), C(JNS), C(JP), C(JNP),
    C(JL), C(JNL), C(JLE), C(JNLE), C(JRCXZ), C(JECXZ), C(LOOP), C(LOOPE), C(LOOPNE), C(CALL), C(RET),
    C(IRET), C(IRETD), C(IRETQ), C(SYSCALL), C(SYSENTER), C(INT3), C(INT1), C(INT), C(INTO), C(UD0), C(UD1),
    C(UD2), C(HLT), C(SYSRET), C(SYSEXIT),
#undef C
#define P(m) {ZYDIS_MNEMONIC_##m, FUZZ_SKIP_PRIVILEGED}
    P(IN), P(OUT), P(INSB), P(INSW), P(INSD), P(OUTSB), P(OUTSW), P(OUTSD), P(CLI), P(STI), P(CLTS), P(LGDT),
    P(LIDT), P(LLDT), P(LTR), P(LMSW), P(INVD), P(WBINVD), P(INVLPG), P(RDMSR), P(WRMSR), P(RDPMC), P(SWAPGS),
    P(XSETBV), P(MONITOR), P(MWAIT),
#undef P
#define N(m) {ZYDIS_MNEMONIC_##m, FUZZ_SKIP_NONDETERMINISTIC}
    N(RDTSC), N(RDTSCP), N(RDRAND), N(RDSEED), N(RDPID),
#undef N
#define M(m) {ZYDIS_MNEMONIC_##m, FUZZ_SKIP_MODEL}
    M(CPUID), M(XGETBV),
#undef M
/* Mismatches found by the fuzzer and reported to the emitters' owners, left out until they are fixed (so
   CI stays meaningful for everything else); `fuzz-cpu --include-known` generates them anyway. */
};

const char *fuzz_skip_reason(FuzzSkip s)
{
    switch (s) {
    case FUZZ_USE: return "used";
    case FUZZ_SKIP_CONTROL: return "control flow (directed tests)";
    case FUZZ_SKIP_PRIVILEGED: return "privileged (#GP in user mode)";
    case FUZZ_SKIP_NONDETERMINISTIC: return "nondeterministic result";
    case FUZZ_SKIP_MODEL: return "describes the CPU model";
    case FUZZ_SKIP_NOT_ADVERTISED: return "feature not advertised (model or host)";
    case FUZZ_SKIP_NO_FORMS: return "no operand form the generator can build";
    case FUZZ_SKIP_KNOWN: return "known mismatch, reported (--include-known)";
    }
    return "?";
}

bool fuzz_include_known;
static FuzzInsn *fuzz_insn_list;
static size_t fuzz_insn_count, fuzz_insn_usable;

static int fuzz_insn_order(const void *a, const void *b)
{
    const FuzzInsn *x = a, *y = b;
    if ((x->skip == FUZZ_USE) != (y->skip == FUZZ_USE)) {
        return x->skip == FUZZ_USE ? -1 : 1;
    }
    return (int)x->mnemonic - (int)y->mnemonic;
}

size_t fuzz_insns(const FuzzInsn **out, size_t *usable)
{
    if (!fuzz_insn_list) {
        const X86InsnDef *rows;
        size_t n = x86_insn_table_rows(&rows);
        fuzz_insn_list = calloc(n, sizeof(FuzzInsn));
        for (size_t i = 0; i < n; i++) {
            FuzzInsn *f = &fuzz_insn_list[i];
            f->mnemonic = rows[i].mnemonic;
            f->feature = (int)rows[i].feature;
            f->skip = FUZZ_USE;
            for (size_t k = 0; k < sizeof(fuzz_skip_rows) / sizeof(fuzz_skip_rows[0]); k++) {
                if (fuzz_skip_rows[k].m == rows[i].mnemonic &&
                    !(fuzz_include_known && fuzz_skip_rows[k].why == FUZZ_SKIP_KNOWN)) {
                    f->skip = fuzz_skip_rows[k].why;
                }
            }
            if (f->skip == FUZZ_USE && rows[i].feature != X86_FEAT_BASE &&
                (!x86_model_has_feature(NULL, rows[i].feature) || !x86_host_has_feature(rows[i].feature))) {
                f->skip = FUZZ_SKIP_NOT_ADVERTISED;
            }
            if (f->skip == FUZZ_USE && fuzz_forms(fuzz_form_source(f->mnemonic))->count == 0 &&
                !fuzz_is_gather(f->mnemonic)) {
                f->skip = FUZZ_SKIP_NO_FORMS;
            }
        }
        qsort(fuzz_insn_list, n, sizeof(FuzzInsn), fuzz_insn_order);
        fuzz_insn_count = n;
        for (fuzz_insn_usable = 0; fuzz_insn_usable < n && fuzz_insn_list[fuzz_insn_usable].skip == FUZZ_USE;
             fuzz_insn_usable++) {
        }
    }
    *out = fuzz_insn_list;
    if (usable) {
        *usable = fuzz_insn_usable;
    }
    return fuzz_insn_count;
}
