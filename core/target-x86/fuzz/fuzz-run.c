/*
 * Running one sequence natively and under the model, comparing the results with the sequence's undefined
 * bits taken out, and turning a mismatch into a minimal reproducer: first the single instruction (with its
 * setup) that fails alone, else the sequence with every unit removed that is not needed for the failure.
 */
#include <stdlib.h>
#include <string.h>

#include "core/target-x86/fuzz/fuzz.h"

typedef struct FuzzResults {
    HarnessResult native, emulated;
} FuzzResults;

static FuzzResults *fuzz_results(void)
{
    static FuzzResults *r;
    if (!r) {
        r = aligned_alloc(64, sizeof(*r));
        if (!r) {
            fprintf(stderr, "fuzz-cpu: out of memory\n");
            exit(2);
        }
    }
    return r;
}

/* How far the native run got: the byte offset of the stop or the faulting instruction. */
static size_t fuzz_end_offset(const FuzzSeq *seq, const HarnessResult *native)
{
    if (native->status == HARNESS_SIGNAL && native->rip >= HARNESS_CODE_ADDR &&
        native->rip < HARNESS_CODE_ADDR + seq->len) {
        return (size_t)(native->rip - HARNESS_CODE_ADDR);
    }
    return seq->len;
}

/* Compare; `report` prints the difference. */
static bool fuzz_compare(const FuzzRunner *r, const FuzzSeq *seq, const HarnessState *in, FuzzResults *res,
                         FILE *report, int *executed)
{
    size_t end = fuzz_end_offset(seq, &res->native);
    FuzzUndef u = fuzz_undef_of(seq->bytes, end);
    fuzz_mask_undefined(&res->emulated.state, &res->native.state, &u);
    HarnessCase c = {
        .code = seq->bytes,
        .len = seq->len,
        .flags_mask = HARNESS_ALL_FLAGS & ~u.rflags,
        .backend = r->backend,
        .fork_emulated = r->fork_emulated,
    };
    if (!c.flags_mask) {
        c.flags_mask = HARNESS_DF;   /* 0 would mean "all" */
    }
    if (executed) {
        int n = 0;
        /* Units that ran to their end, and a unit whose tested instruction faulted or trapped (its fault
           was compared; its setup ran). */
        for (int i = 0; i < seq->nunits; i++) {
            const FuzzUnit *u = &seq->unit[i];
            bool faulted = res->native.status == HARNESS_SIGNAL && end >= u->insn_offset &&
                           end < (size_t)(u->offset + u->len);
            n += (size_t)(u->offset + u->len) <= end || faulted;
        }
        *executed = n;
    }
    if (report && u.rflags) {
        fprintf(report, "(RFLAGS bits 0x%x are undefined at the end and not compared)\n", u.rflags);
    }
    return harness_compare(&c, in, &res->native, &res->emulated, report);
}

static void fuzz_run_both(const FuzzRunner *r, const FuzzSeq *seq, const HarnessState *in, FuzzResults *res)
{
    harness_run_native(seq->bytes, seq->len, in, &res->native);
    if (r->fork_emulated) {
        harness_run_emulated_forked(seq->bytes, seq->len, in, &res->emulated, r->backend);
    } else {
        harness_run_emulated(seq->bytes, seq->len, in, &res->emulated, r->backend);
    }
}

FuzzOutcome fuzz_run_seq(const FuzzRunner *r, const FuzzSeq *seq, const HarnessState *in)
{
    FuzzResults *res = fuzz_results();
    FuzzOutcome o = {0};
    fuzz_run_both(r, seq, in, res);
    o.same = fuzz_compare(r, seq, in, res, NULL, &o.executed_units);
    o.status = res->native.status;
    if (res->native.status == HARNESS_ERROR || res->emulated.status == HARNESS_ERROR) {
        o.status = HARNESS_ERROR;
    }
    return o;
}

/* Does this candidate still fail (and is it a valid test at all)? */
static bool fuzz_still_fails(const FuzzRunner *r, const FuzzSeq *cand, const HarnessState *in)
{
    if (cand->len == 0 || fuzz_undef_of(cand->bytes, cand->len).reads_undefined) {
        return false;
    }
    return !fuzz_run_seq(r, cand, in).same;
}

static void fuzz_print_hex(FILE *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%02x", b[i]);
    }
}

ZydisMnemonic fuzz_report_mismatch_once(const FuzzRunner *r, const FuzzSeq *seq, uint64_t state_seed,
                                        uint8_t *printed)
{
    HarnessState *in = aligned_alloc(64, sizeof(HarnessState));
    FuzzSeq *best = malloc(sizeof(FuzzSeq)), *cand = malloc(sizeof(FuzzSeq));
    bool *keep = calloc(FUZZ_MAX_UNITS, sizeof(bool));
    if (!in || !best || !cand || !keep) {
        fprintf(stderr, "fuzz-cpu: out of memory\n");
        exit(2);
    }
    fuzz_input_state(in, state_seed);
    *best = *seq;
    const char *how = "the whole sequence";

    /* 1. The one unit that fails alone. */
    bool single = false;
    for (int i = 0; i < seq->nunits && !single; i++) {
        memset(keep, 0, FUZZ_MAX_UNITS * sizeof(bool));
        keep[i] = true;
        if (fuzz_seq_subset(cand, seq, keep) && fuzz_still_fails(r, cand, in)) {
            *best = *cand;
            single = true;
            how = "one instruction (with its setup), failing alone";
        }
    }
    /* 2. Otherwise drop every unit the failure does not need (two passes, last to first). */
    if (!single) {
        for (int i = 0; i < seq->nunits; i++) {
            keep[i] = true;
        }
        for (int pass = 0; pass < 2; pass++) {
            for (int i = seq->nunits - 1; i >= 0; i--) {
                if (!keep[i]) {
                    continue;
                }
                keep[i] = false;
                if (fuzz_seq_subset(cand, seq, keep) && fuzz_still_fails(r, cand, in)) {
                    continue;
                }
                keep[i] = true;
            }
        }
        if (fuzz_seq_subset(cand, seq, keep) && fuzz_still_fails(r, cand, in)) {
            *best = *cand;
            how = "the smallest failing subsequence found";
        }
    }

    FILE *out = r->report ? r->report : stderr;
    ZydisMnemonic blamed = best->nunits ? best->unit[best->nunits - 1].mnemonic : ZYDIS_MNEMONIC_INVALID;
    if (printed && printed[blamed % (ZYDIS_MNEMONIC_MAX_VALUE + 1)]) {
        fprintf(out, "fuzz-cpu [%s]: another mismatch in %s (%d of %d units); replay: --seed 0x%llx --replay ",
                r->backend_name, ZydisMnemonicGetString(blamed), best->nunits, seq->nunits,
                (unsigned long long)state_seed);
        fuzz_print_hex(out, best->bytes, best->len);
        fprintf(out, "\n");
        free(in);
        free(best);
        free(cand);
        free(keep);
        return blamed;
    }
    if (printed) {
        printed[blamed % (ZYDIS_MNEMONIC_MAX_VALUE + 1)] = 1;
    }
    fprintf(out, "=== fuzz-cpu: native and %s differ in %s (%d of %d units): %s ===\n", r->backend_name, how,
            best->nunits, seq->nunits, ZydisMnemonicGetString(blamed));
    FuzzResults *res = fuzz_results();
    fuzz_run_both(r, best, in, res);
    fuzz_compare(r, best, in, res, out, NULL);
    fprintf(out, "replay: bazel run //core/target-x86/fuzz:fuzz-cpu -- --backend %s --seed 0x%llx --replay ",
            r->backend_name, (unsigned long long)state_seed);
    fuzz_print_hex(out, best->bytes, best->len);
    fprintf(out, "\n===\n");
    free(in);
    free(best);
    free(cand);
    free(keep);
    return blamed;
}

ZydisMnemonic fuzz_report_mismatch(const FuzzRunner *r, const FuzzSeq *seq, uint64_t state_seed)
{
    return fuzz_report_mismatch_once(r, seq, state_seed, NULL);
}
