/*
 * String instructions: MOVS STOS LODS CMPS SCAS in B/W/D/Q sizes, with and without REP/REPE/REPNE.
 *
 * One element (no prefix) is translated inline: load from [seg:RSI], store to [ES:RDI], step RSI/RDI by
 * DF * size (env->df is +1 or -1). A repeated form is one helper call (string-helpers.c), which does the
 * whole run in bulk and keeps RCX/RSI/RDI exact at every point where it can fault, so the instruction
 * simply restarts from its current state.
 *
 * REPE/REPNE CMPS and SCAS set the flags of their last comparison, and none at all when RCX starts at 0:
 * their helpers write env's lazy-flag state themselves (what a fault half-way shows differs between
 * vendors, see string-helpers.c), and the translator then only forgets what it knew of cc_op.
 *
 * The 0x67 prefix makes the address size 32: ECX/ESI/EDI count and address, and are written back as
 * 32-bit registers (a REP run with ECX = 0 writes some of them on Intel only: string-helpers.c). A segment
 * override applies to the source ([RSI]) only; in 64-bit mode only FS and GS have a base, and ES:[RDI]
 * never does.
 */
#include "core/target-x86/cc.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/string-desc.h"
#include "core/target-x86/string-emit.h"
#include "core/target-x86/translate.h"

typedef enum StrKind { STR_MOVS, STR_STOS, STR_LODS, STR_CMPS, STR_SCAS } StrKind;

static unsigned str_shift(const DisasContext *dc)
{
    switch (dc->insn.zi.operand_width) {
    case 8:
        return 0;
    case 16:
        return 1;
    case 32:
        return 2;
    default:
        return 3;
    }
}

static bool str_a32(const DisasContext *dc)
{
    return dc->insn.zi.address_width == 32;
}

static int str_seg_index(ZydisRegister seg)
{
    switch (seg) {
    case ZYDIS_REGISTER_ES:
        return R_ES;
    case ZYDIS_REGISTER_CS:
        return R_CS;
    case ZYDIS_REGISTER_SS:
        return R_SS;
    case ZYDIS_REGISTER_FS:
        return R_FS;
    case ZYDIS_REGISTER_GS:
        return R_GS;
    default:
        return R_DS;
    }
}

/* The source segment: the one Zydis gives the [RSI] operand (DS unless overridden). */
static int str_src_seg(const DisasContext *dc)
{
    for (int i = 0; i < dc->insn.zi.operand_count; i++) {
        const ZydisDecodedOperand *op = &dc->insn.op[i];
        if (op->type == ZYDIS_OPERAND_TYPE_MEMORY &&
            (op->mem.base == ZYDIS_REGISTER_RSI || op->mem.base == ZYDIS_REGISTER_ESI)) {
            return str_seg_index(op->mem.segment);
        }
    }
    return R_DS;
}

/* The accumulator of the element size: AL, AX, EAX or RAX. */
static ZydisRegister str_acc(unsigned shift)
{
    static const ZydisRegister acc[4] = {ZYDIS_REGISTER_AL, ZYDIS_REGISTER_AX, ZYDIS_REGISTER_EAX,
                                         ZYDIS_REGISTER_RAX};
    return acc[shift];
}

/* DF * element size, as a temp. */
static TCGTemp str_step(DisasContext *dc, unsigned shift)
{
    TCGContext *s = dc->s;
    TCGTemp step = tcg_temp_new(s);
    tcg_gen_ld(s, TCG_I64, MO_64, step, TCG_TEMP_ENV, ENV_OFF(df));
    if (shift) {
        tcg_gen_shl(s, TCG_I64, step, step, tcg_const(s, shift));
    }
    return step;
}

/* The linear address seg:[reg], the register wrapped to the address size. */
static TCGTemp str_addr(DisasContext *dc, int reg, int seg)
{
    TCGContext *s = dc->s;
    TCGTemp a = tcg_temp_new(s);
    if (str_a32(dc)) {
        tcg_gen_ext32u(s, TCG_I64, a, cpu_regs[reg]);
    } else if (dc->insn.zi.address_width == 16) {
        tcg_gen_ext16u(s, TCG_I64, a, cpu_regs[reg]);
    } else {
        tcg_gen_mov(s, TCG_I64, a, cpu_regs[reg]);
    }
    if (seg == R_FS || seg == R_GS || (dc->sys && !x86_dc_code64(dc))) {
        TCGTemp base = tcg_temp_new(s);
        tcg_gen_ld(s, TCG_I64, MO_64, base, TCG_TEMP_ENV, ENV_OFF(seg_base[seg]));
        tcg_gen_add(s, TCG_I64, a, a, base);
    }
    return a;
}

/* reg += step, written as a 32-bit register under the 0x67 prefix. */
static void str_advance(DisasContext *dc, int reg, TCGTemp step)
{
    TCGContext *s = dc->s;
    if (dc->insn.zi.address_width == 16) {
        TCGTemp t = tcg_temp_new(s);
        tcg_gen_add(s, TCG_I64, t, cpu_regs[reg], step);
        tcg_gen_deposit(s, TCG_I64, cpu_regs[reg], cpu_regs[reg], t, 0, 16);
        return;
    }
    tcg_gen_add(s, TCG_I64, cpu_regs[reg], cpu_regs[reg], step);
    if (str_a32(dc)) {
        tcg_gen_ext32u(s, TCG_I64, cpu_regs[reg], cpu_regs[reg]);
    }
}

/* Flags of CMP a, b (a is the minuend). */
static void str_set_cmp_flags(DisasContext *dc, unsigned shift, TCGTemp a, TCGTemp b)
{
    TCGTemp d = tcg_temp_new(dc->s);
    tcg_gen_sub(dc->s, TCG_I64, d, a, b);
    gen_set_cc(dc, CC_OP_SUBB + (int)shift, d, b, a);
}

static bool str_has_rep(const DisasContext *dc)
{
    /* F2 before MOVS/STOS/LODS repeats them just as F3 does. */
    return (dc->insn.zi.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) != 0;
}

static uint32_t str_desc(const DisasContext *dc, unsigned shift)
{
    uint32_t desc = shift | ((uint32_t)str_src_seg(dc) << STR_SEG_SHIFT);
    if (str_a32(dc)) {
        desc |= STR_A32;
    } else if (dc->insn.zi.address_width == 16) {
        desc |= STR_A16;
    }
    if (dc->insn.zi.attributes & ZYDIS_ATTRIB_HAS_REPNE) {
        desc |= STR_REPNE;
    }
    return desc;
}

/* One element, inline. */
static void str_emit_once(DisasContext *dc, StrKind kind, unsigned shift)
{
    unsigned bits = 8u << shift;
    int seg = str_src_seg(dc);
    TCGTemp a, b;

    /* Memory first (a fault restarts the instruction), then the registers. */
    switch (kind) {
    case STR_MOVS:
        a = gen_ld(dc, str_addr(dc, R_ESI, seg), bits, false);
        gen_st(dc, str_addr(dc, R_EDI, R_ES), a, bits);
        break;
    case STR_STOS:
        gen_st(dc, str_addr(dc, R_EDI, R_ES), gen_load_reg(dc, str_acc(shift)), bits);
        break;
    case STR_LODS:
        a = gen_ld(dc, str_addr(dc, R_ESI, seg), bits, false);
        gen_store_reg(dc, str_acc(shift), a);
        break;
    case STR_CMPS:
        a = gen_ld(dc, str_addr(dc, R_ESI, seg), bits, false);
        b = gen_ld(dc, str_addr(dc, R_EDI, R_ES), bits, false);
        str_set_cmp_flags(dc, shift, a, b);
        break;
    case STR_SCAS:
        b = gen_ld(dc, str_addr(dc, R_EDI, R_ES), bits, false);
        str_set_cmp_flags(dc, shift, gen_load_reg(dc, str_acc(shift)), b);
        break;
    }
    TCGTemp step = str_step(dc, shift);
    if (kind == STR_MOVS || kind == STR_LODS || kind == STR_CMPS) {
        str_advance(dc, R_ESI, step);
    }
    if (kind != STR_LODS) {
        str_advance(dc, R_EDI, step);
    }
}

static void str_emit(DisasContext *dc, StrKind kind)
{
    TCGContext *s = dc->s;
    unsigned shift = str_shift(dc);
    if (!str_has_rep(dc)) {
        str_emit_once(dc, kind, shift);
        return;
    }
    TCGTemp desc = tcg_const(s, str_desc(dc, shift));
    switch (kind) {
    case STR_MOVS:
        gen_helper(s, rep_movs, -1, TCG_TEMP_ENV, desc);
        break;
    case STR_STOS:
        gen_helper(s, rep_stos, -1, TCG_TEMP_ENV, desc);
        break;
    case STR_LODS:
        gen_helper(s, rep_lods, -1, TCG_TEMP_ENV, desc);
        break;
    case STR_CMPS:
        gen_helper(s, rep_cmps, -1, TCG_TEMP_ENV, desc);
        dc->cc_op = CC_OP_DYNAMIC;   /* the helper recorded the flags in env */
        break;
    case STR_SCAS:
        gen_helper(s, rep_scas, -1, TCG_TEMP_ENV, desc);
        dc->cc_op = CC_OP_DYNAMIC;
        break;
    }
}

void string_emit_movs(DisasContext *dc) { str_emit(dc, STR_MOVS); }
void string_emit_stos(DisasContext *dc) { str_emit(dc, STR_STOS); }
void string_emit_lods(DisasContext *dc) { str_emit(dc, STR_LODS); }
void string_emit_cmps(DisasContext *dc) { str_emit(dc, STR_CMPS); }
void string_emit_scas(DisasContext *dc) { str_emit(dc, STR_SCAS); }

/* Is this MOVSD/CMPSD the string instruction (A5/A7 in the one-byte map) rather than the SSE2 one? */
bool string_is_legacy_form(const DisasContext *dc)
{
    return dc->insn.zi.opcode_map == ZYDIS_OPCODE_MAP_DEFAULT;
}

/*
 * The table rows for MOVSD and CMPSD (shared with SSE2): the string forms (A5, A7) are translated here,
 * the SSE2 scalar-double forms (F2 0F 10/11, F2 0F C2) by the vector family's host execution.
 */
void x86_emit_hostexec(DisasContext *dc);   /* vec-emit.c */

void string_emit_movsd(DisasContext *dc)
{
    if (string_is_legacy_form(dc)) {
        str_emit(dc, STR_MOVS);
    } else {
        x86_emit_hostexec(dc);
    }
}

void string_emit_cmpsd(DisasContext *dc)
{
    if (string_is_legacy_form(dc)) {
        str_emit(dc, STR_CMPS);
    } else {
        x86_emit_hostexec(dc);
    }
}
