/*
 * Emitters of the vector and x87 families (insn-vec.def). Almost every instruction goes through
 * x86_emit_hostexec: compute the guest address, call its host stub. The few that cannot run as a host
 * instruction (they touch state the host must keep: MXCSR, XCR0, the whole FPU image; or address memory
 * through vector indexes) call C helpers.
 */
#include "core/target-x86/cpuid.h"
#include "core/target-x86/helpers.h"
#include "core/target-x86/hostexec.h"

/*
 * The features one encoding needs beyond its row's, from Zydis's ISA set; -1 for an ISA set we do not
 * implement (VAES and VPCLMULQDQ's 256-bit forms, GFNI...), which must be #UD even where the host has it.
 */
static int vec_isa_features(ZydisISASet set, X86Feature out[2])
{
    switch (set) {
    case ZYDIS_ISA_SET_X87:
    case ZYDIS_ISA_SET_PPRO:
        out[0] = X86_FEAT_FPU;
        return 1;
    case ZYDIS_ISA_SET_FCMOV:
        out[0] = X86_FEAT_FPU;
        out[1] = X86_FEAT_CMOV;
        return 2;
    case ZYDIS_ISA_SET_PENTIUMMMX:
        out[0] = X86_FEAT_MMX;
        return 1;
    case ZYDIS_ISA_SET_SSE:
    case ZYDIS_ISA_SET_SSEMXCSR:
        out[0] = X86_FEAT_SSE;
        return 1;
    case ZYDIS_ISA_SET_SSE2:
    case ZYDIS_ISA_SET_SSE2MMX:
        out[0] = X86_FEAT_SSE2;
        return 1;
    case ZYDIS_ISA_SET_SSE3:
    case ZYDIS_ISA_SET_SSE3X87:
        out[0] = X86_FEAT_SSE3;
        return 1;
    case ZYDIS_ISA_SET_SSSE3:
    case ZYDIS_ISA_SET_SSSE3MMX:
        out[0] = X86_FEAT_SSSE3;
        return 1;
    case ZYDIS_ISA_SET_SSE4:
        out[0] = X86_FEAT_SSE41;
        return 1;
    case ZYDIS_ISA_SET_SSE42:
        out[0] = X86_FEAT_SSE42;
        return 1;
    case ZYDIS_ISA_SET_AES:
        out[0] = X86_FEAT_AES;
        return 1;
    case ZYDIS_ISA_SET_SHA:
        out[0] = X86_FEAT_SHA;
        return 1;
    case ZYDIS_ISA_SET_PCLMULQDQ:
        out[0] = X86_FEAT_PCLMUL;
        return 1;
    case ZYDIS_ISA_SET_AVX:
        out[0] = X86_FEAT_AVX;
        return 1;
    case ZYDIS_ISA_SET_AVXAES:
        out[0] = X86_FEAT_AVX;
        out[1] = X86_FEAT_AES;
        return 2;
    case ZYDIS_ISA_SET_AVX2:
    case ZYDIS_ISA_SET_AVX2GATHER:
        out[0] = X86_FEAT_AVX2;
        return 1;
    case ZYDIS_ISA_SET_FMA:
        out[0] = X86_FEAT_FMA;
        return 1;
    case ZYDIS_ISA_SET_F16C:
        out[0] = X86_FEAT_F16C;
        return 1;
    case ZYDIS_ISA_SET_FXSAVE:
    case ZYDIS_ISA_SET_FXSAVE64:
        out[0] = X86_FEAT_FXSR;
        return 1;
    case ZYDIS_ISA_SET_XSAVE:
        out[0] = X86_FEAT_XSAVE;
        return 1;
    case ZYDIS_ISA_SET_XSAVEC:
        out[0] = X86_FEAT_XSAVEC;
        return 1;
    case ZYDIS_ISA_SET_XSAVEOPT:
        out[0] = X86_FEAT_XSAVEOPT;
        return 1;
    default:
        return -1;
    }
}

/* Is this encoding allowed by the CPU model? The row's feature was checked by the translator. */
static bool vec_encoding_allowed(const DisasContext *dc)
{
    const ZydisDecodedInstruction *zi = &dc->insn.zi;
    if (zi->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY && zi->encoding != ZYDIS_INSTRUCTION_ENCODING_VEX) {
        return false;   /* EVEX (AVX-512), MVEX, XOP, 3DNow!: not advertised */
    }
    X86Feature need[2];
    int n = vec_isa_features(zi->meta.isa_set, need);
    if (n < 0) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (!x86_model_has_feature(dc->env->model, need[i])) {
            return false;
        }
    }
    return true;
}

static int vec_find_memory_operand(const DisasContext *dc)
{
    for (int i = 0; i < dc->insn.zi.operand_count; i++) {
        if (dc->insn.op[i].type == ZYDIS_OPERAND_TYPE_MEMORY) {
            return i;
        }
    }
    return -1;
}

void x86_emit_hostexec(DisasContext *dc);
void x86_emit_ldmxcsr(DisasContext *dc);
void x86_emit_stmxcsr(DisasContext *dc);
void x86_emit_vzero(DisasContext *dc);
void x86_emit_xgetbv(DisasContext *dc);
void x86_emit_cpuid(DisasContext *dc);
void x86_emit_xsave(DisasContext *dc);
void x86_emit_gather(DisasContext *dc);

void x86_emit_hostexec(DisasContext *dc)
{
    TCGContext *s = dc->s;
    const HostStub *st = vec_encoding_allowed(dc) ? hostexec_stub_get(&dc->insn) : NULL;
    if (st == NULL) {
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    TCGTemp addr = st->mem_operand >= 0 ? gen_lea(dc, st->mem_operand) : tcg_const(s, 0);
    TCGTemp flags_in = (st->flags & HOSTEXEC_FLAGS_IN) ? gen_compute_eflags(dc) : tcg_const(s, 0);
    uint64_t pc_info = dc->insn.pc & HOSTEXEC_PC_MASK;
    const ZydisDecodedInstruction *zi = &dc->insn.zi;
    if (zi->meta.isa_ext == ZYDIS_ISA_EXT_X87 && zi->opcode >= 0xd8 && zi->opcode <= 0xdf) {
        /* FOP: the low 3 bits of the first opcode byte and the ModRM byte. */
        uint64_t modrm = ((uint64_t)zi->raw.modrm.mod << 6) | ((uint64_t)zi->raw.modrm.reg << 3) | zi->raw.modrm.rm;
        uint64_t fop = ((uint64_t)(zi->opcode & 7) << 8) | modrm;
        pc_info |= HOSTEXEC_PC_HAS_FOP | (fop << HOSTEXEC_PC_FOP_SHIFT);
    }
    TCGTemp ret = tcg_temp_new(s);
    gen_helper(s, hostexec_call, ret, TCG_TEMP_ENV, tcg_const(s, (uint64_t)(uintptr_t)st), addr, flags_in,
               tcg_const(s, pc_info));
    /* User mode: the JIT may run it inline (guest memory is at guest_base 0; floating point only while the
       guest's MXCSR control is the host's: see vec-state.c). */
    bool mxcsr_ok = !(st->flags & HOSTEXEC_MXCSR) || (dc->tb->flags & X86_TBFLAG_MXCSR_HOST);
    if (st->inline_insn && !dc->env->sys && mxcsr_ok && !s->overflow) {
        s->ops[s->nb_ops - 1].host_insn = st->inline_insn;
    } else {
        s->host_pointers = true;   /* the call passes st */
    }
    if (st->flags & HOSTEXEC_FLAGS_OUT) {
        gen_set_eflags_arith(dc, ret);
    }
}

void x86_emit_ldmxcsr(DisasContext *dc)
{
    int m = vec_find_memory_operand(dc);
    if (!vec_encoding_allowed(dc) || m < 0) {
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    TCGTemp v = gen_ld(dc, gen_lea(dc, m), 32, false);
    gen_helper(dc->s, ldmxcsr, -1, TCG_TEMP_ENV, v);
    if (!dc->env->sys) {
        gen_exit(dc, TCG_EXIT_NONE);   /* the next block's key has the new control bits (X86_TBFLAG_MXCSR_HOST) */
    }
}

void x86_emit_stmxcsr(DisasContext *dc)
{
    int m = vec_find_memory_operand(dc);
    if (!vec_encoding_allowed(dc) || m < 0) {
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    TCGTemp v = tcg_temp_new(dc->s);
    gen_helper(dc->s, mxcsr_fold, -1, TCG_TEMP_ENV);
    tcg_gen_ld(dc->s, TCG_I64, MO_32, v, TCG_TEMP_ENV, ENV_OFF(fx.mxcsr));
    gen_st(dc, gen_lea(dc, m), v, 32);
}

void x86_emit_vzero(DisasContext *dc)
{
    if (!vec_encoding_allowed(dc)) {
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    gen_helper(dc->s, vzero, -1, TCG_TEMP_ENV, tcg_const(dc->s, dc->insn.zi.mnemonic == ZYDIS_MNEMONIC_VZEROALL));
}

void x86_emit_xgetbv(DisasContext *dc)
{
    if (!x86_model_has_feature(dc->env->model, X86_FEAT_OSXSAVE)) {
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    gen_helper(dc->s, xgetbv, -1, TCG_TEMP_ENV);
}

void x86_emit_cpuid(DisasContext *dc)
{
    gen_helper(dc->s, cpuid, -1, TCG_TEMP_ENV);
}

void x86_emit_xsave(DisasContext *dc)
{
    int m = vec_find_memory_operand(dc);
    if (!vec_encoding_allowed(dc) || m < 0) {
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    uint32_t op;
    switch (dc->insn.zi.mnemonic) {
    case ZYDIS_MNEMONIC_FXSAVE: op = X86_XOP_FXSAVE; break;
    case ZYDIS_MNEMONIC_FXSAVE64: op = X86_XOP_FXSAVE | X86_XOP_REXW; break;
    case ZYDIS_MNEMONIC_FXRSTOR: op = X86_XOP_FXRSTOR; break;
    case ZYDIS_MNEMONIC_FXRSTOR64: op = X86_XOP_FXRSTOR | X86_XOP_REXW; break;
    case ZYDIS_MNEMONIC_XSAVE: op = X86_XOP_XSAVE; break;
    case ZYDIS_MNEMONIC_XSAVE64: op = X86_XOP_XSAVE | X86_XOP_REXW; break;
    case ZYDIS_MNEMONIC_XSAVEC: op = X86_XOP_XSAVEC; break;
    case ZYDIS_MNEMONIC_XSAVEC64: op = X86_XOP_XSAVEC | X86_XOP_REXW; break;
    case ZYDIS_MNEMONIC_XSAVEOPT: op = X86_XOP_XSAVEOPT; break;
    case ZYDIS_MNEMONIC_XSAVEOPT64: op = X86_XOP_XSAVEOPT | X86_XOP_REXW; break;
    case ZYDIS_MNEMONIC_XRSTOR: op = X86_XOP_XRSTOR; break;
    case ZYDIS_MNEMONIC_XRSTOR64: op = X86_XOP_XRSTOR | X86_XOP_REXW; break;
    default:
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    gen_helper(dc->s, xsave_op, -1, TCG_TEMP_ENV, gen_lea(dc, m), tcg_const(dc->s, op));
    if (!dc->env->sys && ((op & 0xff) == X86_XOP_FXRSTOR || (op & 0xff) == X86_XOP_XRSTOR)) {
        gen_exit(dc, TCG_EXIT_NONE);   /* MXCSR may have changed: the next block's key has its control bits */
    }
}

/* Descriptor of a gather for helper_gather (vec-gather.c). */
#define GATHER_DESC(dst, index, mask, scale_log2, vl256, data64, index64) \
    ((dst) | ((index) << 4) | ((mask) << 8) | ((scale_log2) << 12) | ((vl256) << 14) | ((data64) << 15) | \
     ((index64) << 16))

void x86_emit_gather(DisasContext *dc)
{
    const ZydisDecodedOperand *op = dc->insn.op;
    if (!vec_encoding_allowed(dc) || dc->insn.zi.operand_count_visible < 3 ||
        op[1].type != ZYDIS_OPERAND_TYPE_MEMORY || op[1].mem.type != ZYDIS_MEMOP_TYPE_VSIB) {
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    uint32_t dst = (uint32_t)ZydisRegisterGetId(op[0].reg.value);
    uint32_t mask = (uint32_t)ZydisRegisterGetId(op[2].reg.value);
    uint32_t index = (uint32_t)ZydisRegisterGetId(op[1].mem.index);
    /* The three registers must differ (#UD otherwise). */
    if (dst == mask || dst == index || mask == index) {
        gen_exception(dc, EXCP_UD, 0);
        return;
    }
    uint32_t scale = op[1].mem.scale == 8 ? 3 : op[1].mem.scale == 4 ? 2 : op[1].mem.scale == 2 ? 1 : 0;
    uint32_t vl256 = dc->insn.zi.avx.vector_length == 256;
    uint32_t data64 = op[0].element_size == 64;
    ZydisMnemonic mn = dc->insn.zi.mnemonic;
    uint32_t index64 = mn == ZYDIS_MNEMONIC_VGATHERQPS || mn == ZYDIS_MNEMONIC_VGATHERQPD ||
                       mn == ZYDIS_MNEMONIC_VPGATHERQD || mn == ZYDIS_MNEMONIC_VPGATHERQQ;
    uint32_t desc = GATHER_DESC(dst, index, mask, scale, vl256, data64, index64);
    gen_helper(dc->s, gather, -1, TCG_TEMP_ENV, gen_lea(dc, 1), tcg_const(dc->s, desc));
}
