/*
 * The random-instruction differential tester (in the spirit of risu): sequences of valid x86-64 user-mode
 * instructions, drawn from the translator's own mnemonic table and encoded with Zydis's encoder, run
 * natively and under the CPU model through the differential harness (core/target-x86/tests/harness.h).
 *
 *   fuzz-forms.c     the operand forms Zydis accepts for each mnemonic (probed once, cached)
 *   fuzz-insns.c     which rows of the translator's table are generated, and why not the others
 *   fuzz-gen.c       one random sequence: operands, addressing modes, prefixes, immediates, setup code
 *   fuzz-special.c   instructions the form probe cannot produce: VBLENDV*, AVX2 gathers
 *   fuzz-control.c   branches, calls, returns and loops with their targets inside the unit; instructions
 *                    that fault in user mode (only as a sequence's last unit); nondeterministic and
 *                    model-specific outputs (RDTSC, RDRAND, CPUID...) masked after the instruction
 *   fuzz-flags.c     what a sequence leaves architecturally undefined (RFLAGS bits, x87 condition codes)
 *   fuzz-run.c       running a sequence both ways, comparing, shrinking a mismatch to a reproducer
 *   fuzz-coverage.c  counters per mnemonic and ISA extension, and the coverage report
 *   fuzz-drive.c     the loop for one backend
 *   fuzz-main.c      the fuzz-cpu command line
 */
#ifndef EMBER_X86_FUZZ_H
#define EMBER_X86_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <Zydis/Zydis.h>

#include "core/target-x86/tests/harness.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- operand forms ----------------------------------------------------------------------------------- */

/* What one explicit operand slot takes. */
typedef enum FuzzKind {
    FK_GPR8, FK_GPR16, FK_GPR32, FK_GPR64,
    FK_CL,                      /* the shift-count register, fixed */
    FK_XMM, FK_YMM, FK_MM,
    FK_ST0, FK_STI,             /* x87: ST(0) fixed, ST(i) free */
    FK_IMM,
    FK_MEM,                     /* a memory operand of FuzzSlot.size bytes */
    FK_COUNT
} FuzzKind;

typedef struct FuzzSlot {
    uint8_t kind;               /* FuzzKind */
    uint8_t imm_bits;           /* FK_IMM: the widest immediate the form encodes (8, 16, 32, 64) */
    uint16_t size;              /* FK_MEM: the operand size in bytes Zydis wants */
    uint16_t access;            /* FK_MEM: the bytes the instruction accesses (as Zydis decodes it) */
} FuzzSlot;

#define FUZZ_MAX_SLOTS 4

typedef struct FuzzForm {
    uint8_t count;
    bool lock_ok;               /* the encoder takes a LOCK prefix for it */
    bool rep_ok;                /* ... a REP / REPE / REPNE prefix */
    FuzzSlot slot[FUZZ_MAX_SLOTS];
} FuzzForm;

typedef struct FuzzForms {
    ZydisMnemonic mnemonic;
    int count;
    FuzzForm *forms;
} FuzzForms;

/* The forms of `m` (probed on first use, then cached). Never NULL; count 0 when Zydis encodes none. */
const FuzzForms *fuzz_forms(ZydisMnemonic m);
/* The mnemonic whose forms stand for m's (m itself, but for the VBLENDV* the encoder cannot encode). */
ZydisMnemonic fuzz_form_source(ZydisMnemonic m);
/* AVX2 gathers (VSIB operands: built by the generator itself, not from probed forms). */
bool fuzz_is_gather(ZydisMnemonic m);
/* Print them (for --list-forms). */
void fuzz_print_forms(FILE *out, const FuzzForms *f);

/* --- the mnemonics the fuzzer draws from ------------------------------------------------------------- */

typedef enum FuzzSkip {
    FUZZ_USE = 0,
    FUZZ_SKIP_CONTROL,          /* enters the kernel or returns from it: SYSENTER, IRET */
    FUZZ_SKIP_PRIVILEGED,       /* (unused: privileged instructions are generated as faulting last units) */
    FUZZ_SKIP_NONDETERMINISTIC, /* (unused: RDTSC, RDRAND... are generated with their outputs masked) */
    FUZZ_SKIP_MODEL,            /* (unused: CPUID and XGETBV are generated with their outputs masked) */
    FUZZ_SKIP_NOT_ADVERTISED,   /* the model or the host lacks the feature */
    FUZZ_SKIP_NO_FORMS,         /* Zydis encodes no form we can generate */
    FUZZ_SKIP_KNOWN,            /* a known, reported mismatch (unless fuzz_include_known) */
} FuzzSkip;

/* LDMXCSR sometimes loads unmasked SIMD exceptions (off by default: see the report of issue 4). */
extern bool fuzz_unmasked_exceptions;
/* Generate the known mismatches too (set before the first fuzz_insns call). */
extern bool fuzz_include_known;

typedef struct FuzzInsn {
    ZydisMnemonic mnemonic;
    int feature;                /* X86Feature */
    FuzzSkip skip;
} FuzzInsn;

/* Every row of the translator's table with its verdict; the usable ones first. */
size_t fuzz_insns(const FuzzInsn **out, size_t *usable);
const char *fuzz_skip_reason(FuzzSkip s);

/* --- sequences --------------------------------------------------------------------------------------- */

#define FUZZ_MAX_UNITS 96

/* One generated instruction with the setup instructions (pointer loads) that precede it. */
typedef struct FuzzUnit {
    uint16_t offset;            /* where the unit's bytes start in the sequence */
    uint16_t len;               /* setup + instruction */
    uint16_t insn_offset;       /* where the tested instruction starts within the sequence */
    ZydisMnemonic mnemonic;
    uint8_t isa_ext;            /* ZydisISAExt of the tested instruction, for the coverage report */
} FuzzUnit;

typedef struct FuzzSeq {
    uint8_t bytes[HARNESS_CODE_SIZE - 64];
    size_t len;
    int nunits;
    FuzzUnit unit[FUZZ_MAX_UNITS];
} FuzzSeq;

typedef struct FuzzGenOptions {
    int units;                  /* instructions per sequence */
    const ZydisMnemonic *only;  /* restrict to these mnemonics (NULL: all usable) */
    size_t nonly;
} FuzzGenOptions;

/* Generate a sequence from `rng`. */
void fuzz_generate(FuzzSeq *seq, HarnessRng *rng, const FuzzGenOptions *opt);
/* Cut a byte string into units again (one instruction each), for --replay. */
void fuzz_seq_from_bytes(FuzzSeq *seq, const uint8_t *bytes, size_t len);
/* A sequence made of the chosen units of `from` (keep[i]), laid out again from offset 0; RIP-relative
   displacements are adjusted so that each operand keeps its target. False if a unit does not decode. */
bool fuzz_seq_subset(FuzzSeq *out, const FuzzSeq *from, const bool *keep);

/* The random input state of a sequence: GPRs, flags (DF too), XMM/YMM, x87 stack, MXCSR, FCW, data. */
void fuzz_input_state(HarnessState *s, uint64_t seed);

/* --- undefined results ------------------------------------------------------------------------------- */

typedef struct FuzzUndef {
    uint32_t rflags;            /* RFLAGS bits whose value is architecturally undefined at the end */
    uint32_t fpu;               /* x87 C0..C3 (ZYDIS_FPUFLAG_*) undefined at the end */
    bool reads_undefined;       /* some instruction consumes an undefined bit: the sequence is not valid */
} FuzzUndef;

/* Track the undefined flags through one decoded instruction. */
void fuzz_undef_step(FuzzUndef *u, const ZydisDecodedInstruction *insn);
/* Decode `code` and track the whole sequence. */
FuzzUndef fuzz_undef_of(const uint8_t *code, size_t len);
/* Make a result's undefined bits agree with a reference result (their values say nothing). */
void fuzz_mask_undefined(HarnessState *s, const HarnessState *ref, const FuzzUndef *u);

/* --- running ----------------------------------------------------------------------------------------- */

typedef struct FuzzRunner {
    const void *backend;        /* TCGBackend *; NULL: the interpreter */
    const char *backend_name;
    bool fork_emulated;
    FILE *report;               /* mismatch reports (stderr) */
    const char *argv0;          /* for the replay command line */
} FuzzRunner;

typedef struct FuzzOutcome {
    bool same;
    int executed_units;         /* units that ran completely (before a fault / the end) */
    HarnessStatus status;
} FuzzOutcome;

/* Run one sequence natively and emulated from `in` and compare. */
FuzzOutcome fuzz_run_seq(const FuzzRunner *r, const FuzzSeq *seq, const HarnessState *in);
/* A mismatching sequence: shrink it, print the reproducer; returns the mnemonic it blames (the single
   failing instruction, or the last one of the smallest failing subsequence). */
ZydisMnemonic fuzz_report_mismatch(const FuzzRunner *r, const FuzzSeq *seq, uint64_t state_seed);
/* The same, printing the full report only for a mnemonic not in `printed` (then added); else one line. */
ZydisMnemonic fuzz_report_mismatch_once(const FuzzRunner *r, const FuzzSeq *seq, uint64_t state_seed,
                                        uint8_t *printed);

/* --- coverage ---------------------------------------------------------------------------------------- */

void fuzz_cov_generated(const FuzzSeq *seq);
void fuzz_cov_compared(const FuzzSeq *seq, int executed_units);
void fuzz_cov_mismatch(ZydisMnemonic m);
/* How often m was compared equal, in any group (for tests). */
long fuzz_cov_compared_count(ZydisMnemonic m);
/* Write the markdown coverage table (min_tested: generated and compared at least that often). */
int fuzz_cov_write(const char *path, long min_tested, const char *how);

/*
 * For each (ISA group, mnemonic) the opcode sweep decodes and the CPU model ("max") does not advertise —
 * no row in the translator's table, a feature CPUID does not report, or a group whose encodings are never
 * the model's (EVEX, XOP...) — call fn with the first encoding the sweep found. Returns how many.
 */
typedef void (*FuzzEncodingFn)(void *opaque, const char *group, ZydisMnemonic m, const uint8_t *code,
                               size_t len);
size_t fuzz_unadvertised_encodings(FuzzEncodingFn fn, void *opaque);
/* The number of usable, advertised mnemonics never compared successfully (listed to `out` if given). */
int fuzz_cov_untested(FILE *out, long min_tested);

/* --- the driver -------------------------------------------------------------------------------------- */

typedef struct FuzzConfig {
    uint64_t seed;
    long long count;            /* random instructions to compare per backend (0: no limit) */
    double seconds;             /* time limit (0: none) */
    int units;                  /* instructions per sequence */
    const char *backend;        /* "interp", "jit", or NULL for both (jit when it exists) */
    bool fork_emulated;
    int max_reports;            /* mismatches reported in full */
    bool quiet;
    bool dump;                  /* print every sequence and how the native run ended (debugging) */
    const ZydisMnemonic *only;  /* generate only these (NULL: every usable row) */
    size_t nonly;
} FuzzConfig;

typedef struct FuzzTotals {
    long long sequences;
    long long compared_insns;   /* random instructions (not setup) that ran and compared equal */
    long long mismatches;       /* mismatching sequences */
    long long errors;           /* harness errors */
} FuzzTotals;

/* Run one reproducer (bytes + input seed) on a backend: 1 if native and emulated agree, 0 if not (the
   difference is reported to `report` when given), -ENOENT without that backend. */
int fuzz_replay_agrees(const char *backend_name, const uint8_t *bytes, size_t len, uint64_t seed, FILE *report);
/* Is there a backend by this name ("interp" always)? */
bool fuzz_backend_exists(const char *name);
/* Fuzz one backend. 0, or a negative errno when the backend does not exist. */
int fuzz_backend(const FuzzConfig *cfg, const char *backend_name, FuzzTotals *totals);

#ifdef __cplusplus
}
#endif

#endif
