/*
 * fuzz-cpu: the random-instruction differential tester's command line.
 *
 *   fuzz-cpu [--seconds N] [--count N] [--seed S] [--backend interp|jit|jit_cold] [--units N] [--no-fork]
 *            [--max-reports N] [--coverage-report PATH] [--min-tested N]
 *   fuzz-cpu --replay HEX --seed S [--backend B]     run one reproducer again
 *   fuzz-cpu --list-forms [MNEMONIC]                 the operand forms probed from Zydis's encoder
 *
 * Without --backend it fuzzes the interpreter, then the JIT when there is one: its optimized translations
 * ("jit"), then its first tier ("jit_cold", blocks translated without the optimizer). Exit status 0: no
 * mismatch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/target-x86/fuzz/fuzz.h"
#include "core/tcg/backend.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: fuzz-cpu [--seconds N] [--count N] [--seed S] [--backend interp|jit|jit_cold] [--units N]\n"
            "                [--no-fork] [--max-reports N] [--coverage-report PATH] [--min-tested N]\n"
            "                [--include-known] [--unmasked-exceptions] [--only MNEMONIC,...]\n"
            "       fuzz-cpu --replay HEX --seed S [--backend interp|jit|jit_cold]\n"
            "       fuzz-cpu --list-forms [MNEMONIC]\n"
            "  --count: random instructions to compare per backend; --seconds: time per backend\n");
}

static int replay(const char *hex, uint64_t seed, const char *backend_name)
{
    static FuzzSeq seq;
    uint8_t bytes[sizeof(seq.bytes)];
    size_t n = 0, hl = strlen(hex);
    for (size_t i = 0; i + 1 < hl + 1 && n < sizeof(bytes); i += 2) {
        unsigned v;
        if (sscanf(hex + i, "%2x", &v) != 1) {
            fprintf(stderr, "fuzz-cpu: bad hex at %zu\n", i);
            return 2;
        }
        bytes[n++] = (uint8_t)v;
    }
    fuzz_seq_from_bytes(&seq, bytes, n);
    const void *backend = NULL;
    if (!(backend = harness_backend_named(backend_name))) {
        fprintf(stderr, "fuzz-cpu: no backend '%s'\n", backend_name);
        return 2;
    }
    FuzzRunner r = {.backend = backend, .backend_name = backend_name, .fork_emulated = true, .report = stdout};
    HarnessState *in = aligned_alloc(64, sizeof(HarnessState));
    fuzz_input_state(in, seed);
    FuzzOutcome o = fuzz_run_seq(&r, &seq, in);
    if (o.same) {
        harness_print_code(stdout, seq.bytes, seq.len);
        printf("native and %s agree (input seed 0x%llx)\n", backend_name, (unsigned long long)seed);
        return 0;
    }
    fuzz_report_mismatch(&r, &seq, seed);
    return 1;
}

int main(int argc, char **argv)
{
    FuzzConfig cfg = {.seed = 1, .units = 32, .fork_emulated = true, .max_reports = 10};
    const char *replay_hex = NULL, *coverage = NULL, *backend = NULL;
    long min_tested = 10;
    bool list = false;
    const char *list_what = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--seconds") && v) {
            cfg.seconds = atof(v), i++;
        } else if (!strcmp(a, "--count") && v) {
            cfg.count = strtoll(v, NULL, 0), i++;
        } else if (!strcmp(a, "--seed") && v) {
            cfg.seed = strtoull(v, NULL, 0), i++;
        } else if (!strcmp(a, "--backend") && v) {
            backend = v, i++;
        } else if (!strcmp(a, "--units") && v) {
            cfg.units = atoi(v), i++;
        } else if (!strcmp(a, "--max-reports") && v) {
            cfg.max_reports = atoi(v), i++;
        } else if (!strcmp(a, "--replay") && v) {
            replay_hex = v, i++;
        } else if (!strcmp(a, "--coverage-report") && v) {
            coverage = v, i++;
        } else if (!strcmp(a, "--min-tested") && v) {
            min_tested = atol(v), i++;
        } else if (!strcmp(a, "--no-fork")) {
            cfg.fork_emulated = false;
        } else if (!strcmp(a, "--only") && v) {
            static ZydisMnemonic only[64];
            char *list = strdup(v), *save = NULL;
            for (char *w = strtok_r(list, ",", &save); w && cfg.nonly < 64; w = strtok_r(NULL, ",", &save)) {
                for (int k = 1; k <= ZYDIS_MNEMONIC_MAX_VALUE; k++) {
                    if (!strcasecmp(ZydisMnemonicGetString((ZydisMnemonic)k), w)) {
                        only[cfg.nonly++] = (ZydisMnemonic)k;
                    }
                }
            }
            cfg.only = only;
            i++;
        } else if (!strcmp(a, "--unmasked-exceptions")) {
            fuzz_unmasked_exceptions = true;
        } else if (!strcmp(a, "--include-known")) {
            fuzz_include_known = true;
        } else if (!strcmp(a, "--dump")) {
            cfg.dump = true;
        } else if (!strcmp(a, "--quiet")) {
            cfg.quiet = true;
        } else if (!strcmp(a, "--list-forms")) {
            list = true;
            if (v && v[0] != '-') {
                list_what = v, i++;
            }
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "fuzz-cpu: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (list) {
        const FuzzInsn *insns;
        size_t n = fuzz_insns(&insns, NULL);
        for (size_t i = 0; i < n; i++) {
            const char *name = ZydisMnemonicGetString(insns[i].mnemonic);
            if (!list_what || !strcasecmp(list_what, name)) {
                fuzz_print_forms(stdout, fuzz_forms(insns[i].mnemonic));
                if (insns[i].skip != FUZZ_USE) {
                    printf("  (not generated: %s)\n", fuzz_skip_reason(insns[i].skip));
                }
            }
        }
        return 0;
    }
    if (replay_hex) {
        return replay(replay_hex, cfg.seed, backend ? backend : "interp");
    }
    if (!cfg.count && !cfg.seconds) {
        cfg.count = 100000;
    }
    static const char *const all[] = {"interp", "jit", "jit_cold"};
    long long mismatches = 0, compared = 0;
    char how[512];
    int hl = snprintf(how, sizeof(how), "`fuzz-cpu --seed 0x%llx", (unsigned long long)cfg.seed);
    if (cfg.count) {
        hl += snprintf(how + hl, sizeof(how) - (size_t)hl, " --count %lld", cfg.count);
    }
    if (cfg.seconds) {
        hl += snprintf(how + hl, sizeof(how) - (size_t)hl, " --seconds %g", cfg.seconds);
    }
    hl += snprintf(how + hl, sizeof(how) - (size_t)hl, " --units %d%s`:", cfg.units,
                   cfg.fork_emulated ? "" : " --no-fork");
    for (int b = 0; b < (int)(sizeof(all) / sizeof(all[0])); b++) {
        const char *name = backend ? backend : all[b];
        if (backend && b > 0) {
            break;
        }
        FuzzTotals t;
        int err = fuzz_backend(&cfg, name, &t);
        if (err == -ENOENT) {
            if (backend) {
                fprintf(stderr, "fuzz-cpu: no backend '%s'\n", name);
                return 2;
            }
            fprintf(stderr, "fuzz-cpu: no '%s' backend yet; skipped\n", name);
            continue;
        }
        mismatches += t.mismatches;
        compared += t.compared_insns;
        hl += snprintf(how + hl, sizeof(how) - (size_t)hl, " %s: %lld instructions compared, %lld mismatching sequences;",
                       name, t.compared_insns, t.mismatches);
    }
    int untested = fuzz_cov_untested(NULL, min_tested);
    fprintf(stderr, "fuzz-cpu: %d usable mnemonics compared fewer than %ld times%s\n", untested, min_tested,
            untested ? ":" : "");
    if (untested && !cfg.quiet) {
        fuzz_cov_untested(stderr, min_tested);
    }
    if (coverage) {
        if (fuzz_cov_write(coverage, min_tested, how) < 0) {
            fprintf(stderr, "fuzz-cpu: cannot write %s: %s\n", coverage, strerror(errno));
            return 2;
        }
        fprintf(stderr, "fuzz-cpu: coverage report written to %s\n", coverage);
    }
    (void)compared;
    return mismatches ? 1 : 0;
}
