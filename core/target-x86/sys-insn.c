/*
 * System-mode instruction emitters: the translator offers every decoded instruction here first
 * (x86_sys_translate_insn); what a kernel needs beyond user mode is emitted here, mostly as calls to the
 * helpers of helpers-sys.def, and everything else goes on to the mnemonic table.
 *
 * Privilege: the block's CPL is in its flags, so CPL-0-only instructions are checked at translate time
 * (#GP(0) otherwise). IOPL-dependent ones (IN/OUT, CLI/STI, POPF) check at run time in their helpers.
 * Instructions that change the mode, the mappings or RIP in a helper end the block with a lookup.
 */
#include "core/target-x86/cc.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/sys-translate.h"
#include "core/target-x86/sys.h"

void ctl_emit_pushf(DisasContext *dc);

static int sys_cpl(const DisasContext *dc)
{
    return (int)((dc->tb->flags >> X86_TBFLAG_CPL_SHIFT) & 3);
}

static void sys_store_pc(DisasContext *dc, uint64_t pc)
{
    tcg_gen_st(dc->s, MO_64, tcg_const(dc->s, pc), TCG_TEMP_ENV, (uint32_t)offsetof(TCGCPU, pc));
}

/* After a helper that set RIP (and maybe the mode): look the next block up. */
static void sys_end_lookup(DisasContext *dc)
{
    tcg_gen_goto_ptr(dc->s);
    dc->end_block = true;
    dc->cc_op = CC_OP_DYNAMIC;
}

/* Continue at the next instruction through a lookup (the mode or the mappings may have changed). */
static void sys_end_next(DisasContext *dc)
{
    sys_store_pc(dc, dc->insn.next_pc);
    sys_end_lookup(dc);
}

/* Back to the loop at the next instruction so that a now-deliverable interrupt is taken. */
static void sys_end_irq_check(DisasContext *dc)
{
    sys_store_pc(dc, dc->insn.next_pc);
    tcg_gen_exit_tb(dc->s, TCG_EXIT_INTERRUPT);
    dc->end_block = true;
    dc->cc_op = CC_OP_DYNAMIC;
}

/* Helpers may fault: RIP must name this instruction (x86_raise_exception reports insn_pc). */
static TCGTemp sys_i32(DisasContext *dc, uint64_t v) { return tcg_const(dc->s, v); }

static bool sys_require_cpl0(DisasContext *dc)
{
    if (sys_cpl(dc) != 0) {
        gen_exception(dc, EXCP_GP, 0);
        return false;
    }
    return true;
}

static int sys_seg_index(ZydisRegister r)
{
    switch (r) {
    case ZYDIS_REGISTER_ES: return R_ES;
    case ZYDIS_REGISTER_CS: return R_CS;
    case ZYDIS_REGISTER_SS: return R_SS;
    case ZYDIS_REGISTER_DS: return R_DS;
    case ZYDIS_REGISTER_FS: return R_FS;
    case ZYDIS_REGISTER_GS: return R_GS;
    default: return -1;
    }
}

static bool sys_op_is_reg_class(const ZydisDecodedOperand *op, ZydisRegisterClass c)
{
    return op->type == ZYDIS_OPERAND_TYPE_REGISTER && ZydisRegisterGetClass(op->reg.value) == c;
}

static void sys_emit_in(DisasContext *dc)
{
    unsigned bits = dc->insn.op[0].size;
    TCGTemp port = dc->insn.op[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? sys_i32(dc, dc->insn.op[1].imm.value.u & 0xff)
                                                                       : gen_load_reg(dc, ZYDIS_REGISTER_DX);
    TCGTemp v = tcg_temp_new(dc->s);
    gen_helper(dc->s, sys_in, v, TCG_TEMP_ENV, port, sys_i32(dc, bits / 8));
    gen_store_reg(dc, dc->insn.op[0].reg.value, v);
}

static void sys_emit_out(DisasContext *dc)
{
    unsigned bits = dc->insn.op[1].size;
    TCGTemp port = dc->insn.op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE ? sys_i32(dc, dc->insn.op[0].imm.value.u & 0xff)
                                                                       : gen_load_reg(dc, ZYDIS_REGISTER_DX);
    TCGTemp v = gen_load_reg(dc, dc->insn.op[1].reg.value);
    gen_helper(dc->s, sys_out, -1, TCG_TEMP_ENV, port, v, sys_i32(dc, bits / 8));
    /* A device may have raised an interrupt (or asked for a reset): let the loop look. */
    sys_end_irq_check(dc);
}

static void sys_emit_mov_cr(DisasContext *dc)
{
    if (!sys_require_cpl0(dc)) {
        return;
    }
    const ZydisDecodedOperand *op = dc->insn.op;
    if (sys_op_is_reg_class(&op[0], ZYDIS_REGCLASS_CONTROL)) {
        int cr = op[0].reg.value - ZYDIS_REGISTER_CR0;
        TCGTemp v = gen_load_reg(dc, op[1].reg.value);
        gen_helper(dc->s, sys_write_cr, -1, TCG_TEMP_ENV, sys_i32(dc, (uint64_t)cr), v);
        sys_end_next(dc);
    } else {
        int cr = op[1].reg.value - ZYDIS_REGISTER_CR0;
        TCGTemp v = tcg_temp_new(dc->s);
        gen_helper(dc->s, sys_read_cr, v, TCG_TEMP_ENV, sys_i32(dc, (uint64_t)cr));
        gen_store_reg(dc, op[0].reg.value, v);
    }
}

static void sys_emit_mov_dr(DisasContext *dc)
{
    if (!sys_require_cpl0(dc)) {
        return;
    }
    const ZydisDecodedOperand *op = dc->insn.op;
    TCGTemp v = tcg_temp_new(dc->s);
    if (sys_op_is_reg_class(&op[0], ZYDIS_REGCLASS_DEBUG)) {
        int dr = op[0].reg.value - ZYDIS_REGISTER_DR0;
        gen_helper(dc->s, sys_mov_dr, v, TCG_TEMP_ENV, sys_i32(dc, (uint64_t)dr | 0x100), gen_load_reg(dc, op[1].reg.value));
    } else {
        int dr = op[1].reg.value - ZYDIS_REGISTER_DR0;
        gen_helper(dc->s, sys_mov_dr, v, TCG_TEMP_ENV, sys_i32(dc, (uint64_t)dr), tcg_const(dc->s, 0));
        gen_store_reg(dc, op[0].reg.value, v);
    }
}

/* MOV Sreg, r/m16 and MOV r/m, Sreg */
static void sys_emit_mov_seg(DisasContext *dc)
{
    const ZydisDecodedOperand *op = dc->insn.op;
    if (sys_op_is_reg_class(&op[0], ZYDIS_REGCLASS_SEGMENT)) {
        int seg = sys_seg_index(op[0].reg.value);
        if (seg == R_CS) {
            gen_exception(dc, EXCP_UD, 0);
            return;
        }
        TCGTemp sel = gen_load_op(dc, 1);
        gen_helper(dc->s, sys_load_seg, -1, TCG_TEMP_ENV, sys_i32(dc, (uint64_t)seg), sel);
        if (seg == R_SS) {
            sys_end_next(dc);   /* the stack size may change */
        }
    } else {
        int seg = sys_seg_index(op[1].reg.value);
        TCGTemp v = tcg_temp_new(dc->s);
        tcg_gen_ld(dc->s, TCG_I64, MO_16, v, TCG_TEMP_ENV, ENV_OFF(seg_sel[seg]));
        if (op[0].type == ZYDIS_OPERAND_TYPE_MEMORY) {
            gen_st(dc, gen_lea(dc, 0), v, 16);
        } else {
            gen_store_reg(dc, op[0].reg.value, v);   /* a register gets it zero-extended */
        }
    }
}

static void sys_emit_push_seg(DisasContext *dc, int seg)
{
    TCGTemp v = tcg_temp_new(dc->s);
    tcg_gen_ld(dc->s, TCG_I64, MO_16, v, TCG_TEMP_ENV, ENV_OFF(seg_sel[seg]));
    unsigned bits = dc->insn.zi.operand_width;
    gen_push(dc, v, bits == 64 ? 64 : bits);
}

static void sys_emit_pop_seg(DisasContext *dc, int seg)
{
    unsigned bits = dc->insn.zi.operand_width;
    TCGTemp v = gen_pop_value(dc, bits);
    tcg_gen_and(dc->s, TCG_I64, v, v, tcg_const(dc->s, 0xffff));
    gen_helper(dc->s, sys_load_seg, -1, TCG_TEMP_ENV, sys_i32(dc, (uint64_t)seg), v);
    gen_pop_commit(dc, bits);
    if (seg == R_SS) {
        sys_end_next(dc);
    }
}

/* LDS/LES/LSS/LFS/LGS r, m16:16/32/64: offset first, then the selector. */
static void sys_emit_lxs(DisasContext *dc, int seg)
{
    unsigned bits = dc->insn.op[0].size;
    TCGTemp addr = gen_lea(dc, 1);
    TCGTemp off = gen_ld(dc, addr, bits, false);
    TCGTemp a2 = tcg_temp_new(dc->s);
    tcg_gen_add(dc->s, TCG_I64, a2, addr, tcg_const(dc->s, bits / 8));
    TCGTemp sel = gen_ld(dc, a2, 16, false);
    gen_helper(dc->s, sys_load_seg, -1, TCG_TEMP_ENV, sys_i32(dc, (uint64_t)seg), sel);
    gen_store_reg(dc, dc->insn.op[0].reg.value, off);
    if (seg == R_SS) {
        sys_end_next(dc);
    }
}

static void sys_emit_lgdt(DisasContext *dc, int which)
{
    if (!sys_require_cpl0(dc)) {
        return;
    }
    unsigned bits = x86_dc_code64(dc) ? 64 : dc->insn.zi.operand_width;
    gen_helper(dc->s, sys_lgdt, -1, TCG_TEMP_ENV, gen_lea(dc, 0), sys_i32(dc, (uint64_t)which), sys_i32(dc, bits));
}

static void sys_emit_sgdt(DisasContext *dc, int which)
{
    gen_helper(dc->s, sys_sgdt, -1, TCG_TEMP_ENV, gen_lea(dc, 0), sys_i32(dc, (uint64_t)which));
}

/* SLDT / STR / SMSW: a register gets the value zero-extended, memory gets 16 bits. */
static void sys_emit_store16(DisasContext *dc, TCGTemp v)
{
    if (dc->insn.op[0].type == ZYDIS_OPERAND_TYPE_MEMORY) {
        gen_st(dc, gen_lea(dc, 0), v, 16);
    } else {
        gen_store_reg(dc, dc->insn.op[0].reg.value, v);
    }
}

static void sys_emit_far(DisasContext *dc, bool call)
{
    const ZydisDecodedOperand *op = &dc->insn.op[0];
    unsigned bits = dc->insn.zi.operand_width;
    TCGTemp sel, off;
    if (op->type == ZYDIS_OPERAND_TYPE_POINTER) {
        sel = tcg_const(dc->s, op->ptr.segment);
        off = tcg_const(dc->s, op->ptr.offset);
    } else {
        TCGTemp addr = gen_lea(dc, 0);
        off = gen_ld(dc, addr, bits, false);
        TCGTemp a2 = tcg_temp_new(dc->s);
        tcg_gen_add(dc->s, TCG_I64, a2, addr, tcg_const(dc->s, bits / 8));
        sel = gen_ld(dc, a2, 16, false);
    }
    sys_store_pc(dc, dc->insn.next_pc);   /* the return address for a far CALL */
    gen_helper(dc->s, sys_ljmp, -1, TCG_TEMP_ENV, sel, off, sys_i32(dc, (uint64_t)(call ? 1 : 0) | (bits << 1)));
    sys_end_lookup(dc);
}

static void sys_emit_retf(DisasContext *dc)
{
    uint64_t n = 0;
    if (dc->insn.zi.operand_count_visible > 0 && dc->insn.op[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        n = dc->insn.op[0].imm.value.u & 0xffff;
    }
    gen_helper(dc->s, sys_lret, -1, TCG_TEMP_ENV, sys_i32(dc, dc->insn.zi.operand_width), sys_i32(dc, n));
    sys_end_lookup(dc);
}

static void sys_emit_int(DisasContext *dc, int vector)
{
    sys_store_pc(dc, dc->insn.pc);
    gen_helper(dc->s, sys_int, -1, TCG_TEMP_ENV, sys_i32(dc, (uint64_t)vector), tcg_const(dc->s, dc->insn.next_pc));
    tcg_gen_exit_tb(dc->s, TCG_EXIT_EXCEPTION);   /* not reached */
    dc->end_block = true;
}

static void sys_emit_popf(DisasContext *dc)
{
    unsigned bits = dc->insn.zi.operand_width;
    TCGTemp v = gen_pop_value(dc, bits);
    gen_helper(dc->s, sys_popf, -1, TCG_TEMP_ENV, v, sys_i32(dc, bits));
    gen_pop_commit(dc, bits);
    sys_end_irq_check(dc);
}

/* LEA computes an offset: no segment base, even where memory operands have one. */
static void sys_emit_lea(DisasContext *dc)
{
    ZydisDecodedOperand *m = &dc->insn.op[1];
    ZydisRegister seg = m->mem.segment;
    m->mem.segment = ZYDIS_REGISTER_NONE;
    TCGTemp a = gen_lea(dc, 1);
    m->mem.segment = seg;
    gen_store_op(dc, 0, a);
}

static void sys_emit_helper_env(DisasContext *dc, const TCGHelperInfo *info, bool cpl0, bool end)
{
    if (cpl0 && !sys_require_cpl0(dc)) {
        return;
    }
    TCGTemp env = TCG_TEMP_ENV;
    tcg_gen_call(dc->s, info, -1, 1, &env);
    if (end) {
        sys_end_next(dc);
    }
}

bool x86_sys_translate_insn(DisasContext *dc)
{
    const ZydisDecodedInstruction *zi = &dc->insn.zi;
    const ZydisDecodedOperand *op = dc->insn.op;
    bool far = zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;
    bool code64 = x86_dc_code64(dc);

    switch (zi->mnemonic) {
    case ZYDIS_MNEMONIC_IN:
        sys_emit_in(dc);
        return true;
    case ZYDIS_MNEMONIC_OUT:
        sys_emit_out(dc);
        return true;
    case ZYDIS_MNEMONIC_INSB:
    case ZYDIS_MNEMONIC_INSW:
    case ZYDIS_MNEMONIC_INSD:
    case ZYDIS_MNEMONIC_OUTSB:
    case ZYDIS_MNEMONIC_OUTSW:
    case ZYDIS_MNEMONIC_OUTSD: {
        ZydisMnemonic m = zi->mnemonic;
        bool out = m == ZYDIS_MNEMONIC_OUTSB || m == ZYDIS_MNEMONIC_OUTSW || m == ZYDIS_MNEMONIC_OUTSD;
        unsigned size = (m == ZYDIS_MNEMONIC_INSB || m == ZYDIS_MNEMONIC_OUTSB) ? 1
                      : (m == ZYDIS_MNEMONIC_INSW || m == ZYDIS_MNEMONIC_OUTSW) ? 2 : 4;
        bool rep = (zi->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) != 0;
        unsigned aw = zi->address_width == 16 ? 0 : zi->address_width == 32 ? 1 : 2;
        int seg = R_DS;
        for (int i = 0; i < zi->operand_count; i++) {
            if (op[i].type == ZYDIS_OPERAND_TYPE_MEMORY && out) {
                seg = sys_seg_index(op[i].mem.segment);
                seg = seg < 0 ? R_DS : seg;
            }
        }
        uint32_t desc = size | (out ? 1u << 4 : 0) | (rep ? 1u << 5 : 0) | (aw << 6) | ((uint32_t)seg << 8);
        gen_helper(dc->s, sys_string_io, -1, TCG_TEMP_ENV, sys_i32(dc, desc));
        if (out) {
            sys_end_irq_check(dc);
        }
        return true;
    }
    case ZYDIS_MNEMONIC_HLT:
        if (sys_require_cpl0(dc)) {
            sys_store_pc(dc, dc->insn.pc);
            gen_helper(dc->s, sys_hlt, -1, TCG_TEMP_ENV, tcg_const(dc->s, dc->insn.next_pc));
            tcg_gen_exit_tb(dc->s, TCG_EXIT_HALT);   /* the helper set RIP past the HLT */
            dc->end_block = true;
        }
        return true;
    case ZYDIS_MNEMONIC_CLI:
        gen_helper(dc->s, sys_cli, -1, TCG_TEMP_ENV);
        return true;
    case ZYDIS_MNEMONIC_STI:
        gen_helper(dc->s, sys_sti, -1, TCG_TEMP_ENV);
        dc->sys->irq_window = 1;
        return true;
    case ZYDIS_MNEMONIC_MOV:
        if (sys_op_is_reg_class(&op[0], ZYDIS_REGCLASS_CONTROL) || sys_op_is_reg_class(&op[1], ZYDIS_REGCLASS_CONTROL)) {
            sys_emit_mov_cr(dc);
            return true;
        }
        if (sys_op_is_reg_class(&op[0], ZYDIS_REGCLASS_DEBUG) || sys_op_is_reg_class(&op[1], ZYDIS_REGCLASS_DEBUG)) {
            sys_emit_mov_dr(dc);
            return true;
        }
        if (sys_op_is_reg_class(&op[0], ZYDIS_REGCLASS_SEGMENT) || sys_op_is_reg_class(&op[1], ZYDIS_REGCLASS_SEGMENT)) {
            sys_emit_mov_seg(dc);
            return true;
        }
        return false;
    case ZYDIS_MNEMONIC_PUSH:
        if (sys_op_is_reg_class(&op[0], ZYDIS_REGCLASS_SEGMENT)) {
            sys_emit_push_seg(dc, sys_seg_index(op[0].reg.value));
            return true;
        }
        return false;
    case ZYDIS_MNEMONIC_POP:
        if (sys_op_is_reg_class(&op[0], ZYDIS_REGCLASS_SEGMENT)) {
            sys_emit_pop_seg(dc, sys_seg_index(op[0].reg.value));
            return true;
        }
        return false;
    case ZYDIS_MNEMONIC_LDS: sys_emit_lxs(dc, R_DS); return true;
    case ZYDIS_MNEMONIC_LES: sys_emit_lxs(dc, R_ES); return true;
    case ZYDIS_MNEMONIC_LSS: sys_emit_lxs(dc, R_SS); return true;
    case ZYDIS_MNEMONIC_LFS: sys_emit_lxs(dc, R_FS); return true;
    case ZYDIS_MNEMONIC_LGS: sys_emit_lxs(dc, R_GS); return true;
    case ZYDIS_MNEMONIC_LEA:
        if (!code64) {
            sys_emit_lea(dc);
            return true;
        }
        return false;
    case ZYDIS_MNEMONIC_LGDT: sys_emit_lgdt(dc, 0); return true;
    case ZYDIS_MNEMONIC_LIDT: sys_emit_lgdt(dc, 1); return true;
    case ZYDIS_MNEMONIC_SGDT: sys_emit_sgdt(dc, 0); return true;
    case ZYDIS_MNEMONIC_SIDT: sys_emit_sgdt(dc, 1); return true;
    case ZYDIS_MNEMONIC_LLDT:
        if (sys_require_cpl0(dc)) {
            gen_helper(dc->s, sys_lldt, -1, TCG_TEMP_ENV, gen_load_op(dc, 0));
        }
        return true;
    case ZYDIS_MNEMONIC_LTR:
        if (sys_require_cpl0(dc)) {
            gen_helper(dc->s, sys_ltr, -1, TCG_TEMP_ENV, gen_load_op(dc, 0));
        }
        return true;
    case ZYDIS_MNEMONIC_SLDT:
    case ZYDIS_MNEMONIC_STR: {
        TCGTemp v = tcg_temp_new(dc->s);
        uint32_t off = zi->mnemonic == ZYDIS_MNEMONIC_SLDT ? (uint32_t)offsetof(X86SysState, ldtr.sel)
                                                           : (uint32_t)offsetof(X86SysState, tr.sel);
        TCGTemp sysp = tcg_temp_new(dc->s);
        tcg_gen_ld(dc->s, TCG_I64, MO_64, sysp, TCG_TEMP_ENV, ENV_OFF(sys));
        tcg_gen_ld(dc->s, TCG_I64, MO_16, v, sysp, off);
        sys_emit_store16(dc, v);
        return true;
    }
    case ZYDIS_MNEMONIC_SMSW: {
        TCGTemp v = tcg_temp_new(dc->s);
        gen_helper(dc->s, sys_read_cr, v, TCG_TEMP_ENV, sys_i32(dc, 0));
        sys_emit_store16(dc, v);
        return true;
    }
    case ZYDIS_MNEMONIC_LMSW:
    case ZYDIS_MNEMONIC_CLTS: {
        if (!sys_require_cpl0(dc)) {
            return true;
        }
        TCGTemp cr0 = tcg_temp_new(dc->s);
        gen_helper(dc->s, sys_read_cr, cr0, TCG_TEMP_ENV, sys_i32(dc, 0));
        if (zi->mnemonic == ZYDIS_MNEMONIC_CLTS) {
            tcg_gen_and(dc->s, TCG_I64, cr0, cr0, tcg_const(dc->s, ~(uint64_t)8));
        } else {
            /* LMSW loads PE MP EM TS; it can set PE but never clear it. */
            TCGTemp v = gen_load_op(dc, 0);
            tcg_gen_and(dc->s, TCG_I64, v, v, tcg_const(dc->s, 0xf));
            tcg_gen_and(dc->s, TCG_I64, cr0, cr0, tcg_const(dc->s, ~(uint64_t)0xe));
            tcg_gen_or(dc->s, TCG_I64, cr0, cr0, v);
        }
        gen_helper(dc->s, sys_write_cr, -1, TCG_TEMP_ENV, sys_i32(dc, 0), cr0);
        sys_end_next(dc);
        return true;
    }
    case ZYDIS_MNEMONIC_JMP:
        if (far) {
            sys_emit_far(dc, false);
            return true;
        }
        return false;
    case ZYDIS_MNEMONIC_CALL:
        if (far) {
            sys_emit_far(dc, true);
            return true;
        }
        return false;
    case ZYDIS_MNEMONIC_RET:
        if (far) {
            sys_emit_retf(dc);
            return true;
        }
        return false;
    case ZYDIS_MNEMONIC_IRET:
    case ZYDIS_MNEMONIC_IRETD:
    case ZYDIS_MNEMONIC_IRETQ:
        gen_helper(dc->s, sys_iret, -1, TCG_TEMP_ENV, sys_i32(dc, zi->operand_width));
        tcg_gen_exit_tb(dc->s, TCG_EXIT_INTERRUPT);   /* interrupts may be enabled again */
        dc->end_block = true;
        dc->cc_op = CC_OP_DYNAMIC;
        return true;
    case ZYDIS_MNEMONIC_INT:
        sys_emit_int(dc, (int)(op[0].imm.value.u & 0xff));
        return true;
    case ZYDIS_MNEMONIC_INT3:
        sys_emit_int(dc, EXCP_BP);
        return true;
    case ZYDIS_MNEMONIC_INTO: {
        int l_skip = tcg_label_new(dc->s);
        tcg_gen_brcond(dc->s, TCG_I64, TCG_COND_EQ, gen_cond(dc, 0), tcg_const(dc->s, 0), l_skip);
        sys_emit_int(dc, EXCP_OF);
        dc->end_block = false;
        tcg_gen_set_label(dc->s, l_skip);
        gen_jmp_const(dc, dc->insn.next_pc, 0);
        return true;
    }
    case ZYDIS_MNEMONIC_PUSHFD:
        ctl_emit_pushf(dc);
        return true;
    case ZYDIS_MNEMONIC_POPF:
    case ZYDIS_MNEMONIC_POPFD:
    case ZYDIS_MNEMONIC_POPFQ:
        sys_emit_popf(dc);
        return true;
    case ZYDIS_MNEMONIC_SYSCALL:
        sys_store_pc(dc, dc->insn.pc);
        gen_helper(dc->s, sys_syscall, -1, TCG_TEMP_ENV, tcg_const(dc->s, dc->insn.next_pc));
        sys_end_lookup(dc);
        return true;
    case ZYDIS_MNEMONIC_SYSRET:
        if (sys_require_cpl0(dc)) {
            gen_helper(dc->s, sys_sysret, -1, TCG_TEMP_ENV, sys_i32(dc, zi->operand_width));
            sys_end_lookup(dc);
        }
        return true;
    case ZYDIS_MNEMONIC_SWAPGS:
        if (!code64) {
            gen_exception(dc, EXCP_UD, 0);
            return true;
        }
        sys_emit_helper_env(dc, &helper_info_sys_swapgs, true, false);
        return true;
    case ZYDIS_MNEMONIC_RDMSR:
        sys_emit_helper_env(dc, &helper_info_sys_rdmsr, true, false);
        return true;
    case ZYDIS_MNEMONIC_WRMSR:
        sys_emit_helper_env(dc, &helper_info_sys_wrmsr, true, true);
        return true;
    case ZYDIS_MNEMONIC_CPUID:
        sys_emit_helper_env(dc, &helper_info_sys_cpuid, false, false);
        return true;
    case ZYDIS_MNEMONIC_INVLPG:
        if (sys_require_cpl0(dc)) {
            ZydisDecodedOperand *m = &dc->insn.op[0];
            (void)m;
            gen_helper(dc->s, sys_invlpg, -1, TCG_TEMP_ENV, gen_lea(dc, 0));
            sys_end_next(dc);
        }
        return true;
    case ZYDIS_MNEMONIC_LSL:
    case ZYDIS_MNEMONIC_LAR:
    case ZYDIS_MNEMONIC_VERR:
    case ZYDIS_MNEMONIC_VERW: {
        unsigned which = zi->mnemonic == ZYDIS_MNEMONIC_LSL ? 0 : zi->mnemonic == ZYDIS_MNEMONIC_LAR ? 1
                       : zi->mnemonic == ZYDIS_MNEMONIC_VERR ? 2 : 3;
        if (!(dc->tb->flags & X86_TBFLAG_PE)) {
            gen_exception(dc, EXCP_UD, 0);
            return true;
        }
        TCGTemp sel = gen_load_op(dc, which <= 1 ? 1 : 0);
        TCGTemp r = tcg_temp_new(dc->s);
        gen_helper(dc->s, sys_lsl_lar, r, TCG_TEMP_ENV, sel, sys_i32(dc, which));
        dc->cc_op = CC_OP_DYNAMIC;
        if (which <= 1) {
            gen_store_op_unless_negative(dc, 0, r);   /* a failure leaves the destination whole */
        }
        return true;
    }
    case ZYDIS_MNEMONIC_INVD:
    case ZYDIS_MNEMONIC_WBINVD:
        sys_require_cpl0(dc);
        return true;
    case ZYDIS_MNEMONIC_XSETBV:
        if (sys_require_cpl0(dc)) {
            gen_helper(dc->s, sys_xsetbv, -1, TCG_TEMP_ENV, sys_i32(dc, 0));
            sys_end_next(dc);
        }
        return true;
    default:
        return false;
    }
}
