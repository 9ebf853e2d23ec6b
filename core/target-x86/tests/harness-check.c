/*
 * The checks built on the two runners: one case run both ways and compared, and many random inputs for
 * one case (each iteration replayable from its own seed).
 */
#include <stdlib.h>
#include <string.h>

#include "core/target-x86/tests/harness-internal.h"

static void harness_run_emulated_case(const HarnessCase *c, const HarnessState *in, HarnessResult *out)
{
    if (c->fork_emulated) {
        harness_run_emulated_forked(c->code, c->len, in, out, c->backend);
    } else {
        harness_run_emulated(c->code, c->len, in, out, c->backend);
    }
}

bool harness_check_results(const HarnessCase *c, const HarnessState *in, const char *note, HarnessResult *native,
                           HarnessResult *emulated)
{
    harness_run_native(c->code, c->len, in, native);
    harness_run_emulated_case(c, in, emulated);
    if (harness_compare(c, in, native, emulated, NULL)) {
        return true;
    }
    fprintf(stderr, "=== native and emulated runs differ%s%s ===\n", note ? ": " : "", note ? note : "");
    harness_compare(c, in, native, emulated, stderr);
    fprintf(stderr, "===\n");
    return false;
}

bool harness_check(const HarnessCase *c, const HarnessState *in, const char *note)
{
    HarnessResult *r = aligned_alloc(64, 2 * sizeof(HarnessResult));
    if (!r) {
        return false;
    }
    bool same = harness_check_results(c, in, note, &r[0], &r[1]);
    free(r);
    return same;
}

int harness_compare_random_ex(const HarnessCase *c, int iterations, uint64_t seed,
                              void (*setup)(HarnessState *s, HarnessRng *r, void *arg), void *arg)
{
    enum { REPORTED_AT_MOST = 3 };
    HarnessState *in = aligned_alloc(64, sizeof(HarnessState));
    HarnessResult *r = aligned_alloc(64, 2 * sizeof(HarnessResult));
    int failures = 0;
    if (!in || !r) {
        free(in);
        free(r);
        return iterations;
    }
    for (int it = 0; it < iterations; it++) {
        /* Each iteration has its own seed, so one failing input can be replayed alone. */
        HarnessRng rng = {seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(it + 1))};
        harness_state_random(in, &rng);
        if (setup) {
            setup(in, &rng, arg);
        }
        harness_run_native(c->code, c->len, in, &r[0]);
        harness_run_emulated_case(c, in, &r[1]);
        if (harness_compare(c, in, &r[0], &r[1], NULL)) {
            continue;
        }
        if (++failures <= REPORTED_AT_MOST) {
            fprintf(stderr, "=== native and emulated runs differ: seed 0x%llx iteration %d (rng 0x%llx) ===\n",
                    (unsigned long long)seed, it, (unsigned long long)(seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(it + 1))));
            harness_compare(c, in, &r[0], &r[1], stderr);
            fprintf(stderr, "===\n");
        }
    }
    if (failures > REPORTED_AT_MOST) {
        fprintf(stderr, "(%d of %d random inputs differed; the first %d are shown)\n", failures, iterations,
                REPORTED_AT_MOST);
    }
    free(in);
    free(r);
    return failures;
}

int harness_compare_random(const uint8_t *code, size_t len, int iterations, uint64_t seed, uint32_t flags_mask)
{
    HarnessCase c = {.code = code, .len = len, .flags_mask = flags_mask};
    return harness_compare_random_ex(&c, iterations, seed, NULL, NULL);
}
