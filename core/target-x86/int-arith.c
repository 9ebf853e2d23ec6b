/*
 * Integer arithmetic and logic: ADD ADC SUB SBB AND OR XOR CMP TEST NEG NOT INC DEC. The read-modify-write
 * forms go through gen_rmw_op, which makes them atomic under LOCK.
 */
#include "core/target-x86/int-emit.h"

typedef enum IntAluOp { ALU_ADD, ALU_ADC, ALU_SUB, ALU_SBB, ALU_AND, ALU_OR, ALU_XOR } IntAluOp;

typedef struct IntAluArgs {
    IntAluOp op;
    TCGType type;
    TCGTemp src;
    TCGTemp carry;   /* ADC/SBB: CF before the instruction (0/1) */
} IntAluArgs;

/* The lazy-flag family of each operation. */
static const int int_alu_cc[] = {
    [ALU_ADD] = CC_OP_ADDB, [ALU_ADC] = CC_OP_ADCB, [ALU_SUB] = CC_OP_SUBB, [ALU_SBB] = CC_OP_SBBB,
    [ALU_AND] = CC_OP_LOGICB, [ALU_OR] = CC_OP_LOGICB, [ALU_XOR] = CC_OP_LOGICB,
};

static TCGTemp int_alu_compute(DisasContext *dc, TCGTemp old, const void *p)
{
    const IntAluArgs *a = p;
    TCGContext *s = dc->s;
    TCGTemp r = tcg_temp_new(s);
    switch (a->op) {
    case ALU_ADD:
        tcg_gen_add(s, a->type, r, old, a->src);
        break;
    case ALU_ADC:
        tcg_gen_add(s, a->type, r, old, a->src);
        tcg_gen_add(s, a->type, r, r, a->carry);
        break;
    case ALU_SUB:
        tcg_gen_sub(s, a->type, r, old, a->src);
        break;
    case ALU_SBB:
        tcg_gen_sub(s, a->type, r, old, a->src);
        tcg_gen_sub(s, a->type, r, r, a->carry);
        break;
    case ALU_AND:
        tcg_gen_and(s, a->type, r, old, a->src);
        break;
    case ALU_OR:
        tcg_gen_or(s, a->type, r, old, a->src);
        break;
    case ALU_XOR:
        tcg_gen_xor(s, a->type, r, old, a->src);
        break;
    }
    return r;
}

/* op0 = op0 <op> op1 (or, for CMP and TEST, only the flags). */
static void int_alu(DisasContext *dc, IntAluOp op, bool store)
{
    unsigned bits = x86_op_bits(dc, 0);
    IntAluArgs a = {op, x86_type_of_bits(bits), int_load_src(dc, 1, bits), -1};
    if (op == ALU_ADC || op == ALU_SBB) {
        a.carry = gen_cond(dc, 2);   /* JB: CF */
    }
    TCGTemp old, res;
    if (store) {
        res = gen_rmw_op(dc, 0, int_alu_compute, &a, &old);
    } else {
        old = gen_load_op(dc, 0);
        res = int_alu_compute(dc, old, &a);
    }
    int cc = cc_op_sized(int_alu_cc[op], bits);
    switch (op) {
    case ALU_ADD:
        gen_set_cc(dc, cc, res, a.src, -1);
        break;
    case ALU_SUB:
        gen_set_cc(dc, cc, res, a.src, old);
        break;
    case ALU_ADC:
    case ALU_SBB:
        gen_set_cc(dc, cc, res, a.src, a.carry);
        break;
    default:
        gen_set_cc(dc, cc, res, -1, -1);
        break;
    }
}

void int_emit_add(DisasContext *dc) { int_alu(dc, ALU_ADD, true); }
void int_emit_adc(DisasContext *dc) { int_alu(dc, ALU_ADC, true); }
void int_emit_sub(DisasContext *dc) { int_alu(dc, ALU_SUB, true); }
void int_emit_sbb(DisasContext *dc) { int_alu(dc, ALU_SBB, true); }
void int_emit_and(DisasContext *dc) { int_alu(dc, ALU_AND, true); }
void int_emit_or(DisasContext *dc) { int_alu(dc, ALU_OR, true); }
void int_emit_xor(DisasContext *dc) { int_alu(dc, ALU_XOR, true); }
void int_emit_cmp(DisasContext *dc) { int_alu(dc, ALU_SUB, false); }
void int_emit_test(DisasContext *dc) { int_alu(dc, ALU_AND, false); }

/* --- one-operand forms ------------------------------------------------------------------------------ */

typedef enum IntUnaryOp { UN_NEG, UN_NOT, UN_INC, UN_DEC } IntUnaryOp;

typedef struct IntUnaryArgs {
    IntUnaryOp op;
    TCGType type;
} IntUnaryArgs;

static TCGTemp int_unary_compute(DisasContext *dc, TCGTemp old, const void *p)
{
    const IntUnaryArgs *a = p;
    TCGContext *s = dc->s;
    TCGTemp r = tcg_temp_new(s);
    switch (a->op) {
    case UN_NEG:
        tcg_gen_neg(s, a->type, r, old);
        break;
    case UN_NOT:
        tcg_gen_not(s, a->type, r, old);
        break;
    case UN_INC:
        tcg_gen_add(s, a->type, r, old, tcg_const(s, 1));
        break;
    case UN_DEC:
        tcg_gen_sub(s, a->type, r, old, tcg_const(s, 1));
        break;
    }
    return r;
}

static void int_unary(DisasContext *dc, IntUnaryOp op)
{
    unsigned bits = x86_op_bits(dc, 0);
    IntUnaryArgs a = {op, x86_type_of_bits(bits)};
    TCGTemp carry = -1, old;
    if (op == UN_INC || op == UN_DEC) {
        carry = gen_cond(dc, 2);   /* INC and DEC keep CF */
    }
    TCGTemp res = gen_rmw_op(dc, 0, int_unary_compute, &a, &old);
    switch (op) {
    case UN_NEG:
        /* NEG is 0 - x: SUB with minuend 0 */
        gen_set_cc(dc, cc_op_sized(CC_OP_SUBB, bits), res, old, tcg_const(dc->s, 0));
        break;
    case UN_INC:
        gen_set_cc(dc, cc_op_sized(CC_OP_INCB, bits), res, carry, -1);
        break;
    case UN_DEC:
        gen_set_cc(dc, cc_op_sized(CC_OP_DECB, bits), res, carry, -1);
        break;
    case UN_NOT:
        break;   /* NOT leaves the flags alone */
    }
}

void int_emit_neg(DisasContext *dc) { int_unary(dc, UN_NEG); }
void int_emit_not(DisasContext *dc) { int_unary(dc, UN_NOT); }
void int_emit_inc(DisasContext *dc) { int_unary(dc, UN_INC); }
void int_emit_dec(DisasContext *dc) { int_unary(dc, UN_DEC); }
