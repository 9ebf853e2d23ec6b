/* The generator's pieces shared by fuzz-gen.c and fuzz-special.c (not for other users). */
#ifndef EMBER_X86_FUZZ_INTERNAL_H
#define EMBER_X86_FUZZ_INTERNAL_H

#include "core/target-x86/fuzz/fuzz.h"

/* Bytes of the stack the sequence may use below HARNESS_STACK_TOP, and above it (the harness leaves 0x100). */
#define FUZZ_STACK_BELOW 0x1800
#define FUZZ_STACK_ABOVE 0xf0

typedef struct FuzzGen {
    FuzzSeq *seq;
    HarnessRng *rng;
    ZydisDecoder dec;
    long depth;                 /* bytes pushed below HARNESS_STACK_TOP so far */
    FuzzUndef undef;
    /* the unit being built */
    uint8_t buf[256];
    size_t len;
    uint32_t setup_regs;        /* GPRs the unit's setup loads: not reused for another purpose */
    bool x87_used;              /* an x87 instruction ran: its FIP/FDP/FOP are now in the state */
    bool maybe_init;            /* VZEROALL/VZEROUPPER/FNINIT ran: a state component may be in its initial
                                   configuration, which XSAVE reports (XSTATE_BV) as the CPU chooses */
    bool failed;
    bool fault_unit;            /* the sequence's last unit, which faults: it may name RSP, push, trap */
} FuzzGen;

uint64_t fuzz_rand(FuzzGen *g, uint64_t n);                      /* uniform in [0, n) */
bool fuzz_emit_req(FuzzGen *g, ZydisEncoderRequest *req);          /* append to the unit at its address */
ZydisRegister fuzz_gpr(int width, int i);                          /* GPR i of a width (8: SPL.., not AH..) */
void fuzz_emit_load(FuzzGen *g, int reg, uint64_t value);          /* setup: mov reg64, value */
int fuzz_pick_free(FuzzGen *g, uint32_t avoid);                    /* a GPR not in avoid, never RSP */
void fuzz_emit_store32(FuzzGen *g, uint64_t ea, uint32_t value, int width);   /* setup: mov [ea], value */

/* fuzz-gen.c: building and appending units. */
bool fuzz_build_unit(FuzzGen *g, ZydisMnemonic m);                 /* a unit from m's probed forms */
bool fuzz_finish_unit(FuzzGen *g, ZydisEncoderRequest *req, ZydisMnemonic m, long depth_before);
/* Append g->buf (setup, the tested instruction at insn_at, anything after) as one unit; depth: the stack
   depth after it. False (depth restored) if it reads an undefined flag or does not fit. */
bool fuzz_append_unit(FuzzGen *g, size_t insn_at, long depth_before, long depth);
uint64_t fuzz_pick_target(FuzzGen *g, unsigned size, unsigned margin);   /* an address in the data buffer */
/* A memory operand at `ea` in a random addressing mode (its base/index loads go into the unit). */
ZydisEncoderOperand fuzz_mem_operand(FuzzGen *g, uint16_t size, uint64_t ea, bool lea, uint32_t avoid);

/* fuzz-control.c: units the operand-form path cannot build. */
typedef enum FuzzRole {
    FUZZ_ROLE_PLAIN,            /* fuzz_build_unit */
    FUZZ_ROLE_CONTROL,          /* branches, calls, returns, loops: targets inside the unit */
    FUZZ_ROLE_FAULT,            /* faults or traps in user mode: only as the sequence's last unit */
    FUZZ_ROLE_MASKED,           /* nondeterministic or model-specific outputs, cleaned after it */
    FUZZ_ROLE_SYSCALL,          /* SYSCALL with RAX set to a call the harness allows */
} FuzzRole;
FuzzRole fuzz_role(ZydisMnemonic m);
bool fuzz_control_unit(FuzzGen *g, ZydisMnemonic m);
bool fuzz_fault_unit(FuzzGen *g, ZydisMnemonic m);
bool fuzz_masked_unit(FuzzGen *g, ZydisMnemonic m);
bool fuzz_syscall_unit(FuzzGen *g);

bool fuzz_is(ZydisMnemonic m, const ZydisMnemonic *list, size_t n);
#define FUZZ_IS(m, ...) fuzz_is((m), (const ZydisMnemonic[]){__VA_ARGS__}, \
                                sizeof((const ZydisMnemonic[]){__VA_ARGS__}) / sizeof(ZydisMnemonic))

/* fuzz-special.c: VBLENDV* are encoded as their immediate-blend sibling, then patched. */
bool fuzz_patch_blendv(ZydisMnemonic m, uint8_t *insn, size_t len);
/* fuzz-special.c: a gather's request; its setup (index register, base) goes into the unit first. */
bool fuzz_gather_request(FuzzGen *g, ZydisMnemonic m, ZydisEncoderRequest *req);

#endif
