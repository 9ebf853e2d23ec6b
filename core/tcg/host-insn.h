/*
 * A guest instruction the JIT may run inline as the same host instruction (the host is x86-64, as is the
 * guest): an annotation on the helper call that runs it out of line (TCGOp.host_insn). The call stays the
 * IR's meaning and what the interpreter runs; the JIT, in user mode, emits instead
 *
 *   - the explicit and implicit GPR operands loaded from their env slots (or from a call argument) into
 *     rax/rcx/rdx (the JIT's scratch registers, which hold no temps), the vector registers it uses from
 *     env into the host registers of the same numbers (the JIT keeps nothing in XMM/YMM registers between
 *     ops),
 *   - the instruction itself, its memory operand addressed through the register of the call's address
 *     argument (guest_base is 0), as a fault site like any user-mode guest access (also without a memory
 *     operand when the instruction itself may fault, e.g. DIV's #DE),
 *   - the written GPRs and vector registers stored back, and RFLAGS as the call's result if it has one.
 *
 * The target only annotates instructions whose out-of-line run would do nothing more: no x87 state, no
 * MXCSR other than the host's own (see the target's MXCSR rules), no masked access.
 */
#ifndef EMBER_TCG_HOST_INSN_H
#define EMBER_TCG_HOST_INSN_H

#include <stdbool.h>
#include <stdint.h>

#include <Zydis/Zydis.h>

#define TCG_HOST_INSN_MAX_GPR 3

typedef struct TCGHostInsn {
    /* The host instruction. Its memory operand (if any) is operands[mem_operand]: the JIT sets its base. */
    ZydisEncoderRequest req;
    int8_t mem_operand;        /* -1: none */
    int8_t addr_arg;           /* the call argument holding the guest address */
    uint8_t ngpr;
    struct {
        uint8_t host;          /* JR_RAX, JR_RCX or JR_RDX */
        bool write;            /* stored back (all 64 bits: the host applied x86's write rules) */
        int8_t arg;            /* >= 0: loaded from this call argument (never written), not from env */
        uint32_t env_offset;   /* the guest register's slot */
    } gpr[TCG_HOST_INSN_MAX_GPR];
    uint16_t vec_read, vec_write;   /* vector registers by number */
    bool vex;                  /* whole YMM registers in and out, and VZEROUPPER after */
    bool flags_out;            /* the call's result is RFLAGS after the instruction */
    bool faults;               /* may raise an exception with no memory operand: needs a fault site too */
    uint32_t vec_env_offset;   /* env offset of vector register 0 ... */
    uint32_t vec_stride;       /* ... and the distance between registers */
} TCGHostInsn;

#endif
