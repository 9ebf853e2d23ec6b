/* The generator's pieces shared by fuzz-gen.c and fuzz-special.c (not for other users). */
#ifndef EMBER_X86_FUZZ_INTERNAL_H
#define EMBER_X86_FUZZ_INTERNAL_H

#include "core/target-x86/fuzz/fuzz.h"

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
} FuzzGen;

uint64_t fuzz_rand(FuzzGen *g, uint64_t n);                      /* uniform in [0, n) */
bool fuzz_emit_req(FuzzGen *g, ZydisEncoderRequest *req);          /* append to the unit at its address */
ZydisRegister fuzz_gpr(int width, int i);                          /* GPR i of a width (8: SPL.., not AH..) */
void fuzz_emit_load(FuzzGen *g, int reg, uint64_t value);          /* setup: mov reg64, value */
int fuzz_pick_free(FuzzGen *g, uint32_t avoid);                    /* a GPR not in avoid, never RSP */
void fuzz_emit_store32(FuzzGen *g, uint64_t ea, uint32_t value, int width);   /* setup: mov [ea], value */

bool fuzz_is(ZydisMnemonic m, const ZydisMnemonic *list, size_t n);
#define FUZZ_IS(m, ...) fuzz_is((m), (const ZydisMnemonic[]){__VA_ARGS__}, \
                                sizeof((const ZydisMnemonic[]){__VA_ARGS__}) / sizeof(ZydisMnemonic))

/* fuzz-special.c: VBLENDV* are encoded as their immediate-blend sibling, then patched. */
bool fuzz_patch_blendv(ZydisMnemonic m, uint8_t *insn, size_t len);
/* fuzz-special.c: a gather's request; its setup (index register, base) goes into the unit first. */
bool fuzz_gather_request(FuzzGen *g, ZydisMnemonic m, ZydisEncoderRequest *req);

#endif
