/*
 * What a sequence leaves undefined. The SDM leaves some RFLAGS bits (e.g. SF/ZF/AF/PF after MUL, all of
 * them after DIV, OF after a multi-bit shift) and some x87 condition codes undefined; the host and the
 * model may leave anything there. Zydis knows each instruction's accessed flags (cpu_flags / fpu_flags with
 * their `undefined` sets), so the set is tracked through the sequence: a later instruction that defines a
 * bit makes it comparable again, and a sequence in which an instruction consumes an undefined bit is not a
 * valid test (the generator refuses such an instruction).
 */
#include <string.h>

#include "core/target-x86/fuzz/fuzz.h"

/* The x87 condition codes in FSW, indexed like ZYDIS_FPUFLAG_C0..C3. */
static const uint16_t fuzz_fsw_bit[4] = {1u << 8, 1u << 9, 1u << 10, 1u << 14};

static bool fuzz_reads_all_flags(ZydisMnemonic m)
{
    /* SYSCALL copies RFLAGS into R11. */
    return m == ZYDIS_MNEMONIC_PUSHF || m == ZYDIS_MNEMONIC_PUSHFD || m == ZYDIS_MNEMONIC_PUSHFQ ||
           m == ZYDIS_MNEMONIC_SYSCALL;
}

/* Instructions that copy the whole status word somewhere (so undefined condition codes leak). */
static bool fuzz_reads_fsw(ZydisMnemonic m)
{
    switch (m) {
    case ZYDIS_MNEMONIC_FNSTSW:
    case ZYDIS_MNEMONIC_FNSAVE:
    case ZYDIS_MNEMONIC_FNSTENV:
    case ZYDIS_MNEMONIC_FXSAVE:
    case ZYDIS_MNEMONIC_FXSAVE64:
    case ZYDIS_MNEMONIC_XSAVE:
    case ZYDIS_MNEMONIC_XSAVE64:
    case ZYDIS_MNEMONIC_XSAVEC:
    case ZYDIS_MNEMONIC_XSAVEC64:
    case ZYDIS_MNEMONIC_XSAVEOPT:
    case ZYDIS_MNEMONIC_XSAVEOPT64:
        return true;
    default:
        return false;
    }
}

/* Shifts and rotates by a (masked) count of zero change no flag, nor do REP string instructions with
   RCX = 0. */
static bool fuzz_count_may_be_zero(ZydisMnemonic m)
{
    switch (m) {
    case ZYDIS_MNEMONIC_SHL:
    case ZYDIS_MNEMONIC_SHR:
    case ZYDIS_MNEMONIC_SAR:
    case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR:
    case ZYDIS_MNEMONIC_RCL:
    case ZYDIS_MNEMONIC_RCR:
    case ZYDIS_MNEMONIC_SHLD:
    case ZYDIS_MNEMONIC_SHRD:
        return true;
    default:
        return false;
    }
}

void fuzz_undef_step(FuzzUndef *u, const ZydisDecodedInstruction *insn)
{
    const ZydisAccessedFlags *cpu = insn->cpu_flags;
    const ZydisAccessedFlags *fpu = insn->fpu_flags;
    uint32_t tested = cpu ? cpu->tested : 0;
    if (fuzz_reads_all_flags(insn->mnemonic)) {
        tested = ~0u;
    }
    if (tested & u->rflags) {
        u->reads_undefined = true;
    }
    if ((fpu && (fpu->tested & u->fpu)) || (u->fpu && fuzz_reads_fsw(insn->mnemonic))) {
        u->reads_undefined = true;
    }
    bool rep = insn->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE);
    if (cpu && (fuzz_count_may_be_zero(insn->mnemonic) || rep)) {
        u->rflags |= cpu->undefined;   /* a zero count leaves every flag as it was, undefined ones too */
    } else if (cpu) {
        u->rflags = (u->rflags & ~(cpu->modified | cpu->set_0 | cpu->set_1 | cpu->undefined)) | cpu->undefined;
    }
    if (fpu) {
        u->fpu = (u->fpu & ~(fpu->modified | fpu->set_0 | fpu->set_1 | fpu->undefined)) | fpu->undefined;
    }
}

FuzzUndef fuzz_undef_of(const uint8_t *code, size_t len)
{
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    FuzzUndef u;
    memset(&u, 0, sizeof(u));
    ZydisDecodedInstruction insn;
    for (size_t off = 0; off < len; off += insn.length) {
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, code + off, len - off, &insn))) {
            break;
        }
        fuzz_undef_step(&u, &insn);
    }
    return u;
}

void fuzz_mask_undefined(HarnessState *s, const HarnessState *ref, const FuzzUndef *u)
{
    for (int i = 0; i < 4; i++) {
        if (u->fpu & (1u << i)) {
            s->fx.fsw = (uint16_t)((s->fx.fsw & ~fuzz_fsw_bit[i]) | (ref->fx.fsw & fuzz_fsw_bit[i]));
        }
    }
    s->rflags = (s->rflags & ~(uint64_t)u->rflags) | (ref->rflags & u->rflags);
}
