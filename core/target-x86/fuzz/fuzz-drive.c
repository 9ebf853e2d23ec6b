/*
 * The fuzzing loop for one backend: sequences until the count or the time is reached, each from its own
 * seed (so any one can be regenerated), mismatches shrunk and reported, coverage counted.
 */
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "core/target-x86/fuzz/fuzz.h"
#include "core/tcg/backend.h"

static double fuzz_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The seed of sequence i: generation uses it as is, the input state a derived one. */
static uint64_t fuzz_seq_seed(uint64_t seed, long long i)
{
    HarnessRng r = {seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1))};
    return harness_rng_next(&r);
}

int fuzz_replay_agrees(const char *backend_name, const uint8_t *bytes, size_t len, uint64_t seed, FILE *report)
{
    const void *backend = harness_backend_named(backend_name);
    if (!backend) {
        return -ENOENT;
    }
    FuzzRunner r = {.backend = backend, .backend_name = backend_name, .fork_emulated = true, .report = report};
    FuzzSeq *seq = malloc(sizeof(FuzzSeq));
    HarnessState *in = aligned_alloc(64, sizeof(HarnessState));
    if (!seq || !in) {
        free(seq);
        free(in);
        return -ENOMEM;
    }
    fuzz_seq_from_bytes(seq, bytes, len);
    fuzz_input_state(in, seed);
    bool same = fuzz_run_seq(&r, seq, in).same;
    if (!same && report) {
        fuzz_report_mismatch(&r, seq, seed);
    }
    free(seq);
    free(in);
    return same ? 1 : 0;
}

bool fuzz_backend_exists(const char *name)
{
    return harness_backend_named(name) != NULL;   /* which every run selects again, with its tier */
}

int fuzz_backend(const FuzzConfig *cfg, const char *backend_name, FuzzTotals *t)
{
    memset(t, 0, sizeof(*t));
    const void *backend = harness_backend_named(backend_name);
    if (!backend) {
        return -ENOENT;
    }
    FuzzRunner runner = {
        .backend = backend,
        .backend_name = backend_name,
        .fork_emulated = cfg->fork_emulated,
        .report = stderr,
    };
    FuzzGenOptions gopt = {.units = cfg->units, .only = cfg->only, .nonly = cfg->nonly};
    FuzzSeq *seq = malloc(sizeof(FuzzSeq));
    HarnessState *in = aligned_alloc(64, sizeof(HarnessState));
    if (!seq || !in) {
        free(seq);
        free(in);
        return -ENOMEM;
    }
    static uint8_t printed[ZYDIS_MNEMONIC_MAX_VALUE + 1];
    memset(printed, 0, sizeof(printed));
    double start = fuzz_now(), last_print = start;
    int reported = 0;
    for (long long i = 0;; i++) {
        if (cfg->count && t->compared_insns >= cfg->count) {
            break;
        }
        double now = fuzz_now();
        if (cfg->seconds > 0 && now - start >= cfg->seconds) {
            break;
        }
        if (!cfg->quiet && now - last_print >= 10) {
            fprintf(stderr, "fuzz-cpu [%s] %.0fs: %lld sequences, %lld instructions compared (%.0f/s), %lld mismatches\n",
                    backend_name, now - start, t->sequences, t->compared_insns, (double)t->compared_insns / (now - start),
                    t->mismatches);
            last_print = now;
        }
        uint64_t s = fuzz_seq_seed(cfg->seed, i);
        HarnessRng rng = {s};
        fuzz_generate(seq, &rng, &gopt);
        uint64_t state_seed = s ^ 0x5bd1e9955bd1e995ULL;
        fuzz_input_state(in, state_seed);
        fuzz_cov_generated(seq);
        FuzzOutcome o = fuzz_run_seq(&runner, seq, in);
        t->sequences++;
        if (cfg->dump) {
            harness_print_code(stderr, seq->bytes, seq->len);
            fprintf(stderr, "-> %s, %d of %d units ran, native status %d\n", o.same ? "same" : "DIFFERENT",
                    o.executed_units, seq->nunits, (int)o.status);
        }
        if (o.status == HARNESS_ERROR && o.same) {
            t->errors++;
            continue;
        }
        if (o.same) {
            fuzz_cov_compared(seq, o.executed_units);
            t->compared_insns += o.executed_units;
            continue;
        }
        t->mismatches++;
        if (reported < cfg->max_reports) {
            reported++;
            fuzz_cov_mismatch(fuzz_report_mismatch_once(&runner, seq, state_seed, printed));
        } else if (t->mismatches < 50) {
            fprintf(stderr, "fuzz-cpu [%s]: sequence %lld (seed 0x%llx) differs too (not shrunk: report limit)\n",
                    backend_name, i, (unsigned long long)s);
        }
    }
    double secs = fuzz_now() - start;
    fprintf(stderr, "fuzz-cpu [%s]: seed 0x%llx: %lld sequences, %lld random instructions compared in %.1fs, "
            "%lld mismatching sequences, %lld harness errors\n", backend_name, (unsigned long long)cfg->seed,
            t->sequences, t->compared_insns, secs, t->mismatches, t->errors);
    free(seq);
    free(in);
    return 0;
}
