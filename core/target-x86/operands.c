/*
 * Operand access for emitters: general registers with x86's write rules, effective addresses, guest
 * memory, and the stack.
 */
#include "core/target-x86/translate.h"

int x86_gpr_index(ZydisRegister r)
{
    ZydisRegister full = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
    if (full < ZYDIS_REGISTER_RAX || full > ZYDIS_REGISTER_R15) {
        return -1;
    }
    return full - ZYDIS_REGISTER_RAX;
}

static bool x86_is_high_byte(ZydisRegister r)
{
    return r == ZYDIS_REGISTER_AH || r == ZYDIS_REGISTER_CH || r == ZYDIS_REGISTER_DH || r == ZYDIS_REGISTER_BH;
}

TCGTemp gen_load_reg(DisasContext *dc, ZydisRegister r)
{
    TCGContext *s = dc->s;
    int idx = x86_gpr_index(r);
    TCGTemp v = tcg_temp_new(s);
    if (idx < 0) {
        /* Not a general register: the emitter asked for something only vector code handles. */
        tcg_gen_movi(s, TCG_I64, v, 0);
        return v;
    }
    TCGTemp reg = cpu_regs[idx];
    switch (ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r)) {
    case 64:
        tcg_gen_mov(s, TCG_I64, v, reg);
        break;
    case 32:
        tcg_gen_ext32u(s, TCG_I64, v, reg);
        break;
    case 16:
        tcg_gen_ext16u(s, TCG_I64, v, reg);
        break;
    default:
        if (x86_is_high_byte(r)) {
            tcg_gen_extract(s, TCG_I64, v, reg, 8, 8);
        } else {
            tcg_gen_ext8u(s, TCG_I64, v, reg);
        }
        break;
    }
    return v;
}

void gen_store_reg(DisasContext *dc, ZydisRegister r, TCGTemp v)
{
    TCGContext *s = dc->s;
    int idx = x86_gpr_index(r);
    if (idx < 0) {
        return;
    }
    TCGTemp reg = cpu_regs[idx];
    switch (ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r)) {
    case 64:
        tcg_gen_mov(s, TCG_I64, reg, v);
        break;
    case 32:
        /* A 32-bit write clears the upper half. */
        tcg_gen_ext32u(s, TCG_I64, reg, v);
        break;
    case 16:
        tcg_gen_deposit(s, TCG_I64, reg, reg, v, 0, 16);
        break;
    default:
        tcg_gen_deposit(s, TCG_I64, reg, reg, v, x86_is_high_byte(r) ? 8 : 0, 8);
        break;
    }
}

unsigned x86_op_bits(const DisasContext *dc, int i)
{
    return dc->insn.op[i].size;
}

static uint32_t x86_seg_base_offset(ZydisRegister seg)
{
    return seg == ZYDIS_REGISTER_FS ? ENV_OFF(seg_base[R_FS]) : ENV_OFF(seg_base[R_GS]);
}

/* The base of any segment register (system mode). */
static uint32_t x86_seg_index_offset(ZydisRegister seg)
{
    int idx = seg == ZYDIS_REGISTER_ES ? R_ES : seg == ZYDIS_REGISTER_CS ? R_CS : seg == ZYDIS_REGISTER_SS ? R_SS
            : seg == ZYDIS_REGISTER_DS ? R_DS : seg == ZYDIS_REGISTER_FS ? R_FS : R_GS;
    return ENV_OFF(seg_base[idx]);
}

/* A fresh temp holding a + b (b -1: a itself): one step of gen_lea's chain. */
static TCGTemp lea_add(TCGContext *s, TCGTemp a, TCGTemp b)
{
    if (b < 0) {
        return a;
    }
    TCGTemp t = tcg_temp_new(s);
    tcg_gen_add(s, TCG_I64, t, a, b);
    return t;
}

TCGTemp gen_lea(DisasContext *dc, int i)
{
    TCGContext *s = dc->s;
    const ZydisDecodedOperand *op = &dc->insn.op[i];
    const ZydisDecodedOperandMem *m = &op->mem;
    TCGTemp addr = -1;

    if (m->base == ZYDIS_REGISTER_RIP || m->base == ZYDIS_REGISTER_EIP) {
        uint64_t a = dc->insn.next_pc + (uint64_t)m->disp.value;
        if (m->base == ZYDIS_REGISTER_EIP) {
            a = (uint32_t)a;
        }
        addr = tcg_temp_new(s);
        tcg_gen_movi(s, TCG_I64, addr, a);
    } else {
        /*
         * One temp per step, in the order base + disp, index << scale, their sum: the JIT folds exactly
         * this chain into one host addressing mode ([base + index * scale + disp]) when the access is the
         * only reader (jit_fold_index).
         */
        TCGTemp a = -1;
        int base = m->base != ZYDIS_REGISTER_NONE ? x86_gpr_index(m->base) : -1;
        int index = m->index != ZYDIS_REGISTER_NONE ? x86_gpr_index(m->index) : -1;
        TCGTemp disp = m->disp.value != 0 ? tcg_const(s, (uint64_t)m->disp.value) : -1;
        if (base >= 0) {
            a = lea_add(s, cpu_regs[base], disp);
        }
        if (index >= 0) {
            TCGTemp scaled = tcg_temp_new(s);
            unsigned shift = m->scale == 8 ? 3 : m->scale == 4 ? 2 : m->scale == 2 ? 1 : 0;
            tcg_gen_shl(s, TCG_I64, scaled, cpu_regs[index], tcg_const(s, shift));
            a = a >= 0 ? lea_add(s, a, scaled) : lea_add(s, scaled, disp);
        }
        unsigned aw = dc->insn.zi.address_width;
        if (aw == 64 && a >= 0 && s->temps[a].kind != TEMP_GLOBAL) {
            /* The chain's last step is the caller's fresh temp already: no copy, which also leaves the
               chain right before the access, where the first tier (no copy propagation) can fold it. */
            addr = a;
        } else {
            addr = tcg_temp_new(s);
            if (a < 0) {
                uint64_t d = (uint64_t)m->disp.value;
                tcg_gen_movi(s, TCG_I64, addr, aw == 32 ? (uint32_t)d : aw == 16 ? (uint16_t)d : d);
            } else if (aw == 32) {
                tcg_gen_ext32u(s, TCG_I64, addr, a);
            } else if (aw == 16) {
                tcg_gen_ext16u(s, TCG_I64, addr, a);
            } else {
                tcg_gen_mov(s, TCG_I64, addr, a);   /* [reg]: a fresh temp, never the register itself */
            }
        }
    }
    if (dc->sys && !x86_dc_code64(dc)) {
        /* System mode outside 64-bit code: every segment has a base (sys-translate.c). */
        if (m->segment != ZYDIS_REGISTER_NONE) {
            TCGTemp base = tcg_temp_new(s);
            tcg_gen_ld(s, TCG_I64, MO_64, base, TCG_TEMP_ENV, x86_seg_index_offset(m->segment));
            tcg_gen_add(s, TCG_I64, addr, addr, base);
        }
        return addr;
    }
    /* In 64-bit mode only FS and GS have a base; the others are flat. */
    if (m->segment == ZYDIS_REGISTER_FS || m->segment == ZYDIS_REGISTER_GS) {
        TCGTemp base = tcg_temp_new(s);
        tcg_gen_ld(s, TCG_I64, MO_64, base, TCG_TEMP_ENV, x86_seg_base_offset(m->segment));
        tcg_gen_add(s, TCG_I64, addr, addr, base);
    }
    return addr;
}

static TCGMemOp x86_memop(unsigned bits, bool sign)
{
    TCGMemOp mo = bits == 8 ? MO_8 : bits == 16 ? MO_16 : bits == 32 ? MO_32 : MO_64;
    return sign && bits < 64 ? (TCGMemOp)(mo | MO_SIGN) : mo;
}

TCGTemp gen_ld(DisasContext *dc, TCGTemp addr, unsigned bits, bool sign)
{
    TCGTemp v = tcg_temp_new(dc->s);
    tcg_gen_guest_ld(dc->s, TCG_I64, x86_memop(bits, sign), v, addr);
    return v;
}

void gen_st(DisasContext *dc, TCGTemp addr, TCGTemp v, unsigned bits)
{
    tcg_gen_guest_st(dc->s, x86_memop(bits, false), v, addr);
}

static uint64_t x86_mask_bits(uint64_t v, unsigned bits)
{
    return bits >= 64 ? v : v & ((1ULL << bits) - 1);
}

static TCGTemp gen_load_op_common(DisasContext *dc, int i, bool sign, TCGTemp *addr_out)
{
    TCGContext *s = dc->s;
    const ZydisDecodedOperand *op = &dc->insn.op[i];
    unsigned bits = op->size;
    TCGTemp v;

    switch (op->type) {
    case ZYDIS_OPERAND_TYPE_REGISTER:
        v = gen_load_reg(dc, op->reg.value);
        break;
    case ZYDIS_OPERAND_TYPE_MEMORY: {
        TCGTemp addr = gen_lea(dc, i);
        if (addr_out) {
            *addr_out = addr;
        }
        return gen_ld(dc, addr, bits, sign);
    }
    case ZYDIS_OPERAND_TYPE_IMMEDIATE: {
        /*
         * Zydis gives an immediate its encoded size; a signed one (imm8 in `add r16, imm8`, imm32 in a
         * 64-bit ALU op) is already sign-extended to 64 bits and means a value of the instruction's
         * operand width. An unsigned one (shift counts, ENTER, RET imm16) is only its own size.
         */
        uint64_t imm;
        if (op->imm.is_signed) {
            imm = (uint64_t)op->imm.value.s;
            if (!sign) {
                imm = x86_mask_bits(imm, dc->insn.zi.operand_width ? dc->insn.zi.operand_width : bits);
            }
        } else {
            imm = x86_mask_bits(op->imm.value.u, bits);
            if (sign && bits < 64 && bits > 0) {
                unsigned sh = 64 - bits;
                imm = (uint64_t)((int64_t)(imm << sh) >> sh);
            }
        }
        return tcg_const(s, imm);
    }
    default:
        v = tcg_const(s, 0);
        return v;
    }
    if (sign && bits < 64) {
        TCGTemp w = tcg_temp_new(s);
        tcg_gen_sextract(s, TCG_I64, w, v, 0, bits);
        return w;
    }
    return v;
}

TCGTemp gen_load_op(DisasContext *dc, int i)
{
    return gen_load_op_common(dc, i, false, NULL);
}

TCGTemp gen_load_op_signed(DisasContext *dc, int i)
{
    return gen_load_op_common(dc, i, true, NULL);
}

TCGTemp gen_load_op_rmw(DisasContext *dc, int i, TCGTemp *addr)
{
    *addr = -1;
    return gen_load_op_common(dc, i, false, addr);
}

void gen_store_op_rmw(DisasContext *dc, int i, TCGTemp v, TCGTemp addr)
{
    const ZydisDecodedOperand *op = &dc->insn.op[i];
    if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
        gen_store_reg(dc, op->reg.value, v);
    } else if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
        gen_st(dc, addr >= 0 ? addr : gen_lea(dc, i), v, op->size);
    }
}

void gen_store_op(DisasContext *dc, int i, TCGTemp v)
{
    gen_store_op_rmw(dc, i, v, -1);
}

void gen_store_op_unless_negative(DisasContext *dc, int i, TCGTemp v)
{
    int l_skip = tcg_label_new(dc->s);
    tcg_gen_brcond(dc->s, TCG_I64, TCG_COND_LT, v, tcg_const(dc->s, 0), l_skip);
    gen_store_op(dc, i, v);
    tcg_gen_set_label(dc->s, l_skip);
}

/*
 * System mode outside 64-bit code: there are no 64-bit pushes (a caller's 64 means the operand size),
 * and the stack is SS:ESP or SS:SP as SS.B says.
 */
static unsigned x86_sys_push_bits(const DisasContext *dc, unsigned bits)
{
    if (bits == 64) {
        return dc->insn.zi.operand_width == 16 ? 16 : 32;
    }
    return bits;
}

static uint64_t x86_sys_sp_mask(const DisasContext *dc)
{
    return (dc->tb->flags & X86_TBFLAG_SS16) ? 0xffff : 0xffffffffu;
}

/* SS base + (sp & mask) */
static TCGTemp x86_sys_stack_addr(DisasContext *dc, TCGTemp sp)
{
    TCGContext *s = dc->s;
    TCGTemp a = tcg_temp_new(s);
    TCGTemp base = tcg_temp_new(s);
    tcg_gen_and(s, TCG_I64, a, sp, tcg_const(s, x86_sys_sp_mask(dc)));
    tcg_gen_ld(s, TCG_I64, MO_64, base, TCG_TEMP_ENV, ENV_OFF(seg_base[R_SS]));
    tcg_gen_add(s, TCG_I64, a, a, base);
    return a;
}

static void x86_sys_set_sp(DisasContext *dc, TCGTemp sp)
{
    TCGContext *s = dc->s;
    if (dc->tb->flags & X86_TBFLAG_SS16) {
        tcg_gen_deposit(s, TCG_I64, cpu_regs[R_ESP], cpu_regs[R_ESP], sp, 0, 16);
    } else {
        tcg_gen_ext32u(s, TCG_I64, cpu_regs[R_ESP], sp);
    }
}

void gen_push(DisasContext *dc, TCGTemp v, unsigned bits)
{
    TCGContext *s = dc->s;
    if (dc->sys && !x86_dc_code64(dc)) {
        bits = x86_sys_push_bits(dc, bits);
        TCGTemp nsp = tcg_temp_new(s);
        tcg_gen_sub(s, TCG_I64, nsp, cpu_regs[R_ESP], tcg_const(s, bits / 8));
        gen_st(dc, x86_sys_stack_addr(dc, nsp), v, bits);
        x86_sys_set_sp(dc, nsp);
        return;
    }
    /* Memory first: a fault leaves RSP untouched. The address is RSP - n again rather than the new RSP, so
       that the store takes it as [rsp - n] and RSP is simply decremented after (no copy between them). */
    TCGTemp addr = tcg_temp_new(s);
    tcg_gen_add(s, TCG_I64, addr, cpu_regs[R_ESP], tcg_const(s, -(int64_t)(bits / 8)));
    gen_st(dc, addr, v, bits);
    tcg_gen_sub(s, TCG_I64, cpu_regs[R_ESP], cpu_regs[R_ESP], tcg_const(s, bits / 8));
}

TCGTemp gen_pop_value(DisasContext *dc, unsigned bits)
{
    if (dc->sys && !x86_dc_code64(dc)) {
        return gen_ld(dc, x86_sys_stack_addr(dc, cpu_regs[R_ESP]), x86_sys_push_bits(dc, bits), false);
    }
    return gen_ld(dc, cpu_regs[R_ESP], bits, false);
}

void gen_pop_commit(DisasContext *dc, unsigned bits)
{
    if (dc->sys && !x86_dc_code64(dc)) {
        TCGTemp nsp = tcg_temp_new(dc->s);
        tcg_gen_add(dc->s, TCG_I64, nsp, cpu_regs[R_ESP], tcg_const(dc->s, x86_sys_push_bits(dc, bits) / 8));
        x86_sys_set_sp(dc, nsp);
        return;
    }
    tcg_gen_add(dc->s, TCG_I64, cpu_regs[R_ESP], cpu_regs[R_ESP], tcg_const(dc->s, bits / 8));
}
