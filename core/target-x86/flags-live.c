/*
 * Dead-flag elimination. Most flag results are never read: `ror ebx, 6` is followed by `xor ebx, ecx`,
 * which overwrites every flag the rotate wrote, before anything looks. Materializing the rotate's flags
 * (it keeps SF ZF AF PF, so the previous lazy state must be computed: a helper call) or even recording
 * an add's lazy operands is then wasted work.
 *
 * Before translating an instruction the translator asks whether its flag results are dead. To answer, a
 * window of the instructions that follow is decoded ahead and a backward liveness pass over the six
 * arithmetic flags is run: live-before = (live-after & ~written) | read. The window holds only "simple"
 * instructions: register-only integer instructions that cannot fault, cannot end the block and whose
 * flag behaviour Zydis describes. It stops at anything else, which counts as reading every flag, and at
 * the block's end, after which every flag is live (the next block, an exception handler or a signal frame
 * may read them). So state stays exact wherever it can be observed: a memory access that faults sees
 * the flags as they were, because a memory access ends the window.
 *
 * An instruction that writes flags only sometimes (a shift or rotate by CL, whose count may be 0) counts
 * as writing none for the instructions before it (a count of 0 passes their flags on), but its own
 * results are dead when none of the flags it may write is live after it. Undefined flags count as
 * written: their value is not the program's to rely on.
 *
 * The window's end must be the block's end or a barrier. The translator also ends a block when its IR
 * outgrows the budget, which the scan cannot foresee; x86_flags_live_ahead() then says the window went on,
 * and the block is translated again with fewer instructions.
 */
#include <glib.h>

#include "core/target-x86/translate.h"

#define FLAGS_ALL                                                                                           \
    (ZYDIS_CPUFLAG_CF | ZYDIS_CPUFLAG_PF | ZYDIS_CPUFLAG_AF | ZYDIS_CPUFLAG_ZF | ZYDIS_CPUFLAG_SF |         \
     ZYDIS_CPUFLAG_OF)
#define FLAGS_WINDOW_MAX 256

typedef struct FlagsWindow {
    uint64_t pc[FLAGS_WINDOW_MAX];
    bool dead[FLAGS_WINDOW_MAX];
    int n, next;       /* instructions in the window; the index of the next one the translator asks about */
    /* The instruction that ended the window (insn[n]), decoded too, at this pc (~0: none): the translator
       takes it as well when it gets there. */
    uint64_t stop_pc;
    /* Their decodings, which the translator takes instead of decoding them again (x86_flags_live_decoded):
       allocated by the first translation on a thread, freed when it ends. Slot 0 stays unused: the first
       is the translator's current instruction, read where it is. */
    X86Insn *insn;
} FlagsWindow;

static __thread FlagsWindow flags_win;

/* The simple instructions: a register-only form of these never faults and never ends a block. */
static bool flags_simple_mnemonic(ZydisMnemonic m)
{
    switch (m) {
    case ZYDIS_MNEMONIC_ADD: case ZYDIS_MNEMONIC_ADC: case ZYDIS_MNEMONIC_SUB: case ZYDIS_MNEMONIC_SBB:
    case ZYDIS_MNEMONIC_AND: case ZYDIS_MNEMONIC_OR: case ZYDIS_MNEMONIC_XOR: case ZYDIS_MNEMONIC_CMP:
    case ZYDIS_MNEMONIC_TEST: case ZYDIS_MNEMONIC_INC: case ZYDIS_MNEMONIC_DEC: case ZYDIS_MNEMONIC_NEG:
    case ZYDIS_MNEMONIC_NOT: case ZYDIS_MNEMONIC_MOV: case ZYDIS_MNEMONIC_MOVZX: case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD: case ZYDIS_MNEMONIC_LEA: case ZYDIS_MNEMONIC_NOP: case ZYDIS_MNEMONIC_XCHG:
    case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR: case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL: case ZYDIS_MNEMONIC_RCR: case ZYDIS_MNEMONIC_SHLD:
    case ZYDIS_MNEMONIC_SHRD: case ZYDIS_MNEMONIC_IMUL: case ZYDIS_MNEMONIC_MUL: case ZYDIS_MNEMONIC_BSWAP:
    case ZYDIS_MNEMONIC_BT: case ZYDIS_MNEMONIC_BTS: case ZYDIS_MNEMONIC_BTR: case ZYDIS_MNEMONIC_BTC:
    case ZYDIS_MNEMONIC_BSF: case ZYDIS_MNEMONIC_BSR: case ZYDIS_MNEMONIC_TZCNT: case ZYDIS_MNEMONIC_LZCNT:
    case ZYDIS_MNEMONIC_POPCNT: case ZYDIS_MNEMONIC_ANDN: case ZYDIS_MNEMONIC_BLSI:
    case ZYDIS_MNEMONIC_BLSMSK: case ZYDIS_MNEMONIC_BLSR: case ZYDIS_MNEMONIC_BZHI: case ZYDIS_MNEMONIC_BEXTR:
    case ZYDIS_MNEMONIC_PDEP: case ZYDIS_MNEMONIC_PEXT: case ZYDIS_MNEMONIC_RORX: case ZYDIS_MNEMONIC_SARX:
    case ZYDIS_MNEMONIC_SHLX: case ZYDIS_MNEMONIC_SHRX: case ZYDIS_MNEMONIC_MULX: case ZYDIS_MNEMONIC_CBW:
    case ZYDIS_MNEMONIC_CWDE: case ZYDIS_MNEMONIC_CDQE: case ZYDIS_MNEMONIC_CWD: case ZYDIS_MNEMONIC_CDQ:
    case ZYDIS_MNEMONIC_CQO:
    case ZYDIS_MNEMONIC_SETB: case ZYDIS_MNEMONIC_SETBE: case ZYDIS_MNEMONIC_SETL: case ZYDIS_MNEMONIC_SETLE:
    case ZYDIS_MNEMONIC_SETNB: case ZYDIS_MNEMONIC_SETNBE: case ZYDIS_MNEMONIC_SETNL: case ZYDIS_MNEMONIC_SETNLE:
    case ZYDIS_MNEMONIC_SETNO: case ZYDIS_MNEMONIC_SETNP: case ZYDIS_MNEMONIC_SETNS: case ZYDIS_MNEMONIC_SETNZ:
    case ZYDIS_MNEMONIC_SETO: case ZYDIS_MNEMONIC_SETP: case ZYDIS_MNEMONIC_SETS: case ZYDIS_MNEMONIC_SETZ:
    case ZYDIS_MNEMONIC_CMOVB: case ZYDIS_MNEMONIC_CMOVBE: case ZYDIS_MNEMONIC_CMOVL: case ZYDIS_MNEMONIC_CMOVLE:
    case ZYDIS_MNEMONIC_CMOVNB: case ZYDIS_MNEMONIC_CMOVNBE: case ZYDIS_MNEMONIC_CMOVNL:
    case ZYDIS_MNEMONIC_CMOVNLE: case ZYDIS_MNEMONIC_CMOVNO: case ZYDIS_MNEMONIC_CMOVNP:
    case ZYDIS_MNEMONIC_CMOVNS: case ZYDIS_MNEMONIC_CMOVNZ: case ZYDIS_MNEMONIC_CMOVO: case ZYDIS_MNEMONIC_CMOVP:
    case ZYDIS_MNEMONIC_CMOVS: case ZYDIS_MNEMONIC_CMOVZ:
        return true;
    default:
        return false;
    }
}

static bool flags_is_gpr(ZydisRegister r)
{
    ZydisRegisterClass c = ZydisRegisterGetClass(r);
    return c == ZYDIS_REGCLASS_GPR8 || c == ZYDIS_REGCLASS_GPR16 || c == ZYDIS_REGCLASS_GPR32 ||
           c == ZYDIS_REGCLASS_GPR64;
}

/* A shift or rotate changes flags only for a nonzero masked count: is it known to be nonzero? */
static bool flags_count_nonzero(const ZydisDecodedInstruction *zi, const ZydisDecodedOperand *op)
{
    int idx;
    switch (zi->mnemonic) {
    case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR: case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL: case ZYDIS_MNEMONIC_RCR:
        idx = 1;
        break;
    case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD:
        idx = 2;
        break;
    default:
        return true;
    }
    if (idx >= zi->operand_count || op[idx].type != ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        return false;   /* CL */
    }
    unsigned mask = zi->operand_width == 64 ? 63 : 31;
    return (op[idx].imm.value.u & mask) != 0;
}

/* False if the instruction is not simple; else the flags it always writes, may write and reads. */
static bool flags_classify(const DisasContext *dc, const X86Insn *insn, uint32_t *kill, uint32_t *may,
                           uint32_t *use)
{
    const ZydisDecodedInstruction *zi = &insn->zi;
    const ZydisDecodedOperand *op = insn->op;
    if (((insn->next_pc - 1) & TB_PAGE_MASK) != (insn->pc & TB_PAGE_MASK)) {
        return false;   /* it continues on the next page */
    }
    if (!flags_simple_mnemonic(zi->mnemonic) || (zi->attributes & ZYDIS_ATTRIB_HAS_LOCK) || x86_decoded_knc(zi)) {
        return false;
    }
    const X86InsnDef *def = x86_insn_lookup(zi->mnemonic);
    if (!def || !x86_feature_implemented(def->feature) || !x86_model_has_feature(dc->env->model, def->feature)) {
        return false;   /* #UD */
    }
    for (int i = 0; i < zi->operand_count; i++) {
        if (op[i].type == ZYDIS_OPERAND_TYPE_MEMORY && op[i].mem.type != ZYDIS_MEMOP_TYPE_AGEN &&
            zi->mnemonic != ZYDIS_MNEMONIC_NOP) {
            return false;   /* an access may fault */
        }
        if (i < zi->operand_count_visible && op[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
            !flags_is_gpr(op[i].reg.value)) {
            return false;   /* MOV to or from a control, debug or segment register */
        }
    }
    const ZydisAccessedFlags *f = zi->cpu_flags;
    uint32_t written = f ? (f->modified | f->set_0 | f->set_1 | f->undefined) & FLAGS_ALL : 0;
    if (x86_rotate_keeps_of(insn)) {
        written &= ~(uint32_t)ZYDIS_CPUFLAG_OF;
    }
    *kill = flags_count_nonzero(zi, op) ? written : 0;
    *may = written;
    *use = f ? f->tested & FLAGS_ALL : 0;
    return true;
}

/* Decode the window starting at pc: at most `limit` instructions, within pc's page. */
static void flags_scan(const DisasContext *dc, uint64_t pc, unsigned limit)
{
    FlagsWindow *w = &flags_win;
    uint32_t kill[FLAGS_WINDOW_MAX], may[FLAGS_WINDOW_MAX], use[FLAGS_WINDOW_MAX];
    uint64_t page = pc & TB_PAGE_MASK;
    w->n = 0;
    w->next = 0;
    w->stop_pc = ~0ULL;
    if (limit > FLAGS_WINDOW_MAX) {
        limit = FLAGS_WINDOW_MAX;
    }
    if (w->insn == NULL) {
        static GPrivate insn_key = G_PRIVATE_INIT(g_free);
        w->insn = tcg_thread_scratch(&insn_key, sizeof(X86Insn) * (FLAGS_WINDOW_MAX + 1));
    }
    while ((unsigned)w->n < limit && (pc & TB_PAGE_MASK) == page) {
        if (tcg_debug_breakpoint && tcg_debug_breakpoint(pc)) {
            break;
        }
        /* The first is the instruction the translator has just decoded: read there, not copied. */
        const X86Insn *in = w->n == 0 ? &dc->insn : &w->insn[w->n];
        if (w->n > 0 && !ZYAN_SUCCESS(x86_decode_in_page(&w->insn[w->n], pc))) {
            break;
        }
        if (!flags_classify(dc, in, &kill[w->n], &may[w->n], &use[w->n])) {
            /* Decoded within its page like the window's instructions; a KNC encoding is left to the
               translator's own decoding, which makes it #UD. */
            w->stop_pc = x86_decoded_knc(&in->zi) ? ~0ULL : pc;
            break;
        }
        w->pc[w->n++] = pc;
        pc = in->next_pc;
    }
    uint32_t live = FLAGS_ALL;
    for (int i = w->n - 1; i >= 0; i--) {
        w->dead[i] = may[i] != 0 && (live & may[i]) == 0;
        live = (live & ~kill[i]) | use[i];
    }
}

void x86_flags_live_reset(void)
{
    flags_win.n = 0;
    flags_win.next = 0;
    flags_win.stop_pc = ~0ULL;
}

bool x86_flags_live_dead(const DisasContext *dc, uint64_t pc, unsigned limit)
{
    FlagsWindow *w = &flags_win;
    if (w->next >= w->n || w->pc[w->next] != pc) {
        flags_scan(dc, pc, limit);
        if (w->n == 0) {
            return false;
        }
    }
    return w->dead[w->next++];
}

bool x86_flags_live_decoded(uint64_t pc, X86Insn *insn)
{
    FlagsWindow *w = &flags_win;
    int i = w->next < w->n && w->pc[w->next] == pc ? w->next : w->next == w->n && w->stop_pc == pc ? w->n : -1;
    if (i <= 0) {
        return false;   /* none, or the first: the translator's own (slot 0 is not filled) */
    }
    *insn = w->insn[i];
    return true;
}

bool x86_flags_live_ahead(void)
{
    return flags_win.next < flags_win.n;
}
