/*
 * The instruction-level differential harness: run a piece of x86-64 machine code natively on the host and
 * under Ember's CPU model from the same input state, and compare what each left behind.
 *
 * Both runs use the same fixed addresses: the code at HARNESS_CODE_ADDR, the data buffer and the stack at
 * HARNESS_MEM_ADDR. So RIP-relative operands, pushed return addresses and stored pointers agree. The tested
 * bytes are followed by a stop instruction: natively a jump back into the trampoline (harness-native.S),
 * under emulation a SYSCALL, which the execution loop exits on. Both stop at HARNESS_CODE_ADDR + len. A
 * SYSCALL inside the code is a real system call on both sides (see harness_syscall_allowed).
 *
 * A run that faults reports its signal (and the vector, faulting RIP and address) and the state at the
 * fault, on both sides; those are compared too.
 *
 * The header is plain C (usable from googletest's C++) and, with __ASSEMBLER__, gives the trampoline the
 * field offsets of HarnessState.
 *
 * A test (see harness_test.cc; allocate states with aligned_alloc(64, ...), they are ~17 KiB):
 *
 *     harness_state_init(in);
 *     in->regs[HR_RDI] = HARNESS_DATA_ADDR;                  // a pointer into the data buffer
 *     static const uint8_t code[] = {0x48, 0x01, 0x07};      // add [rdi], rax
 *     HarnessCase c = {.code = code, .len = sizeof(code), .flags_mask = HARNESS_ARITH_FLAGS};
 *     EXPECT_TRUE(harness_check(&c, in, "add [rdi], rax"));
 *     EXPECT_EQ(harness_compare_random(code, sizeof(code), 500, seed, 0), 0);   // needs rdi pinned: use
 *                                       // harness_compare_random_ex with harness_setup_data_regs instead
 *
 * A mismatch prints the bytes and their disassembly, the input, both results and each difference.
 */
#ifndef EMBER_X86_TESTS_HARNESS_H
#define EMBER_X86_TESTS_HARNESS_H

/* Fixed addresses below 2 GiB, so a test may also reach them with a disp32 or a 32-bit address. */
#define HARNESS_CODE_ADDR 0x10000000ULL
#define HARNESS_CODE_SIZE 0x2000ULL          /* two pages: code may cross into the second */
#define HARNESS_MEM_ADDR 0x10100000ULL
#define HARNESS_DATA_ADDR HARNESS_MEM_ADDR   /* the data buffer: two pages */
#define HARNESS_DATA_SIZE 0x2000ULL
#define HARNESS_STACK_ADDR (HARNESS_MEM_ADDR + HARNESS_DATA_SIZE)
#define HARNESS_STACK_SIZE 0x2000ULL
#define HARNESS_MEM_SIZE (HARNESS_DATA_SIZE + HARNESS_STACK_SIZE)
/* Default RSP: room above it for a few pops, plenty below it for pushes. */
#define HARNESS_STACK_TOP (HARNESS_STACK_ADDR + HARNESS_STACK_SIZE - 0x100)

/* HarnessState field offsets (checked against the struct in harness-native.c). */
#define HS_REGS 0
#define HS_RFLAGS 128
#define HS_YMM 192
#define HS_FX 704
#define HS_MEM 1216

#ifndef __ASSEMBLER__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <Zydis/Zydis.h>

#ifdef __cplusplus
extern "C" {
#endif

/* GPR indexes, in x86 encoding order. */
enum {
    HR_RAX, HR_RCX, HR_RDX, HR_RBX, HR_RSP, HR_RBP, HR_RSI, HR_RDI,
    HR_R8, HR_R9, HR_R10, HR_R11, HR_R12, HR_R13, HR_R14, HR_R15,
};

/* RFLAGS bits a test can set and compare. */
#define HARNESS_CF (1u << 0)
#define HARNESS_PF (1u << 2)
#define HARNESS_AF (1u << 4)
#define HARNESS_ZF (1u << 6)
#define HARNESS_SF (1u << 7)
#define HARNESS_DF (1u << 10)
#define HARNESS_OF (1u << 11)
#define HARNESS_ARITH_FLAGS (HARNESS_CF | HARNESS_PF | HARNESS_AF | HARNESS_ZF | HARNESS_SF | HARNESS_OF)
#define HARNESS_ALL_FLAGS (HARNESS_ARITH_FLAGS | HARNESS_DF)

typedef union HarnessYmm {
    uint8_t b[32];
    uint16_t w[16];
    uint32_t d[8];
    uint64_t q[4];
    float s[8];
    double f[4];
} __attribute__((aligned(32))) HarnessYmm;

/* The FXSAVE image (Intel SDM vol. 1, table 10-2): x87 state and MXCSR. Its XMM area is not used. */
typedef struct HarnessFx {
    uint16_t fcw, fsw;
    uint8_t ftw, reserved1;     /* abridged tag word: bit i set = physical register i is valid */
    uint16_t fop;
    uint64_t fip, fdp;
    uint32_t mxcsr, mxcsr_mask;
    uint8_t st[8][16];          /* ST0..ST7: 80 bits each in 16-byte slots */
    uint8_t xmm_unused[16][16];
    uint8_t reserved2[96];
} __attribute__((aligned(64))) HarnessFx;

/*
 * A test's input and output. Only the RFLAGS bits in HARNESS_ALL_FLAGS are loaded; MXCSR is fx.mxcsr.
 * mem holds the data buffer (HARNESS_DATA_ADDR) followed by the stack (HARNESS_STACK_ADDR).
 */
typedef struct HarnessState {
    uint64_t regs[16];
    uint64_t rflags;
    uint64_t pad[7];
    HarnessYmm ymm[16];
    HarnessFx fx;
    uint8_t mem[HARNESS_MEM_SIZE];
} __attribute__((aligned(64))) HarnessState;

/* Pointers into state->mem by guest address. */
static inline uint8_t *harness_data(HarnessState *s) { return s->mem; }
static inline uint8_t *harness_stack(HarnessState *s) { return s->mem + HARNESS_DATA_SIZE; }

/* How a run ended. */
typedef enum HarnessStatus {
    HARNESS_DONE,       /* reached the stop instruction */
    HARNESS_SIGNAL,     /* faulted: signo, vector, rip, fault_addr say how; state is the state at the fault */
    HARNESS_TIMEOUT,    /* ran longer than the harness's time limit */
    HARNESS_ERROR,      /* the harness itself could not run it (message in error) */
} HarnessStatus;

typedef struct HarnessResult {
    HarnessStatus status;
    int signo;                  /* SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGTRAP */
    int vector;                 /* the exception vector (native: the kernel's trap number), -1 if unknown */
    uint64_t rip;               /* where it stopped: the stop address, or the signal's RIP */
    uint64_t fault_addr;        /* SIGSEGV/SIGBUS: the faulting address (0 for #GP) */
    int si_code;                /* the signal's si_code (native: the kernel's; emulated: what Linux would
                                   send for the vector and error code, see harness-emu.c) */
    char error[160];
    HarnessState state;
} HarnessResult;

/* --- states ------------------------------------------------------------------------------------------ */

/* Everything zero except: RSP = HARNESS_STACK_TOP, MXCSR = 0x1f80, FCW = 0x37f (the state after FNINIT). */
void harness_state_init(HarnessState *s);

/* A small, seedable PRNG (splitmix64) for random inputs. */
typedef struct HarnessRng {
    uint64_t s;
} HarnessRng;
uint64_t harness_rng_next(HarnessRng *r);
/* A value biased toward edge cases (0, 1, -1, sign boundaries, small numbers) half of the time. */
uint64_t harness_rng_value(HarnessRng *r);

/* Random GPRs (RSP left at HARNESS_STACK_TOP), random arithmetic flags (DF clear), random XMM/YMM, random
   data buffer; x87 and MXCSR at their defaults. */
void harness_state_random(HarnessState *s, HarnessRng *r);

/* Point each GPR in reg_mask (bit i = GPR i) into the middle of the data buffer at a random offset, so
   that base+displacement operands of either sign stay inside it. A `setup` for harness_compare_random_ex
   takes a pointer to the mask as its arg: harness_setup_data_regs. */
void harness_point_at_data(HarnessState *s, HarnessRng *r, uint32_t reg_mask);
void harness_setup_data_regs(HarnessState *s, HarnessRng *r, void *reg_mask);

/* --- runners ----------------------------------------------------------------------------------------- */

/* Run natively in a forked child. 0, or a negative errno if the harness could not (out->error says). */
int harness_run_native(const uint8_t *code, size_t len, const HarnessState *in, HarnessResult *out);

/* A backend by name for the runs below: "interp", "jit" (every block translated with the optimizer at
   once, as hot code runs) or "jit_cold" (the JIT's first tier, without the optimizer, as most code runs:
   tcg_hot_runs). The tier holds for every emulated run after the call. NULL: no such backend. */
const void *harness_backend_named(const char *name);

/* Run under the CPU model with `backend` (a const TCGBackend *; NULL for the interpreter). */
int harness_run_emulated(const uint8_t *code, size_t len, const HarnessState *in, HarnessResult *out,
                         const void *backend);

/* Log each translation of the emulated runs that follow to `log` (TCG_LOG_* bits in `mask`, as -d does),
   or stop logging (log NULL). Not for the forked runner. */
void harness_emu_set_log(FILE *log, unsigned mask);

/* Seconds a run may take before it is reported as HARNESS_TIMEOUT (default 5). */
void harness_set_time_limit(unsigned seconds);

/* The same in a forked child: an emulator crash or hang becomes HARNESS_ERROR / HARNESS_TIMEOUT. Slower
   (no block survives from one run to the next); for random testing. */
int harness_run_emulated_forked(const uint8_t *code, size_t len, const HarnessState *in, HarnessResult *out,
                                const void *backend);

/* True when the host has AVX (the native runner then loads and saves whole YMM registers). */
bool harness_host_has_avx(void);

/*
 * The system calls tested code may make with SYSCALL: ones whose result is the same in the native child
 * and in the emulated run and that change no state (numbers Linux does not have, sched_yield, get[e]uid,
 * get[e]gid; every other register is ignored by them). Natively the call really runs (the child's seccomp
 * filter turns any other number into -ENOSYS, so a stray call never acts); under emulation the harness
 * makes the same call on the host and applies SYSCALL's RCX/R11 as Linux returns them. Any other number
 * there is a harness error.
 */
extern const uint32_t harness_syscall_numbers[];
extern const size_t harness_syscall_count;
bool harness_syscall_allowed(uint64_t nr);

/* --- comparison -------------------------------------------------------------------------------------- */

/* What to compare, beyond the defaults. */
typedef struct HarnessCase {
    const uint8_t *code;
    size_t len;
    uint32_t flags_mask;        /* RFLAGS bits to compare; 0 means HARNESS_ALL_FLAGS */
    uint32_t ignore_regs;       /* bit i: do not compare GPR i (an architecturally undefined result) */
    bool ignore_vec;            /* do not compare XMM/YMM */
    bool ignore_x87;            /* do not compare FCW/FSW/FTW/ST */
    bool ignore_mxcsr;
    const void *backend;        /* NULL: the interpreter */
    bool fork_emulated;         /* run the emulated side with harness_run_emulated_forked */
} HarnessCase;

/* Compare two results of the same case; false on a difference. With `report`, writes the replayable
   report (bytes, disassembly, input, both outputs, the differences) to it on a mismatch. */
bool harness_compare(const HarnessCase *c, const HarnessState *in, const HarnessResult *native,
                     const HarnessResult *emulated, FILE *report);

/* Run natively and emulated, compare, and report a mismatch to stderr (with `note`, e.g. a seed).
   True when both agree. */
bool harness_check(const HarnessCase *c, const HarnessState *in, const char *note);
/* The same, keeping both results for the caller. */
bool harness_check_results(const HarnessCase *c, const HarnessState *in, const char *note, HarnessResult *native,
                           HarnessResult *emulated);

/* Many random inputs: returns how many iterations differed (the first few are reported on stderr).
   `setup`, if given, adjusts each random input (e.g. points a base register at the data buffer). */
int harness_compare_random(const uint8_t *code, size_t len, int iterations, uint64_t seed, uint32_t flags_mask);
int harness_compare_random_ex(const HarnessCase *c, int iterations, uint64_t seed,
                              void (*setup)(HarnessState *s, HarnessRng *r, void *arg), void *arg);

/* --- printing ---------------------------------------------------------------------------------------- */

void harness_print_code(FILE *out, const uint8_t *code, size_t len);
void harness_print_state(FILE *out, const char *title, const HarnessState *s, const HarnessState *base);
void harness_print_result(FILE *out, const char *title, const HarnessResult *r);
const char *harness_signal_name(int signo);

/* --- assembling with Zydis's encoder ----------------------------------------------------------------- */

/* A growing code buffer. */
typedef struct HarnessCode {
    uint8_t bytes[4000];
    size_t len;
    bool failed;                /* an instruction did not encode (the buffer then stops growing) */
} HarnessCode;

/* Encode one request (a zero machine mode means 64-bit); the bytes go to out, length returned, 0 on
   failure. Relative branches take their displacement as given. */
size_t harness_encode(const ZydisEncoderRequest *req, uint8_t *out, size_t cap);

/* Operands for harness_emit. */
ZydisEncoderOperand harness_reg(ZydisRegister r);
ZydisEncoderOperand harness_imm(int64_t v);
ZydisEncoderOperand harness_mem(unsigned size_bytes, ZydisRegister base, ZydisRegister index, unsigned scale,
                                int64_t disp);

/* Append `mnemonic` with `n` operands (ZydisEncoderOperand, by value) to code; returns its length, 0 if
   it failed to encode (code->failed is then set). It is encoded at its place in the code page, so a
   relative branch's immediate is its absolute target (HARNESS_CODE_ADDR + offset). LEA's memory operand
   size is ignored (set to the address size, as the encoder wants). */
size_t harness_emit(HarnessCode *code, ZydisMnemonic mnemonic, int n, ...);
/* Append raw bytes. */
void harness_emit_bytes(HarnessCode *code, const void *bytes, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* __ASSEMBLER__ */
#endif
