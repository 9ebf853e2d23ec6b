/*
 * Building host stubs (see hostexec.h): classify the guest instruction's operands, re-encode it with its
 * memory operand as [rsi] and its explicit GPRs as r8..r11, and wrap it in the loads and stores of the
 * guest state it uses. Every stub instruction is encoded with Zydis's encoder, so there are no hand-made
 * opcode bytes here.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/tcg/host-insn.h"
#include "core/target-x86/hostexec-code.h"
#include "core/target-x86/hostexec.h"
#include "core/target-x86/zydis-operand.h"

#define STUB_MAX_CODE 1024
#define STUB_MAX_GPR 4       /* explicit GPR operands get r8..r11 */
/* Inside a stub: env in RBX (callee-saved, and not an operand of any host-executed instruction), the
   guest address in RSI, the flags argument in RDX; [rsp] holds the host MXCSR, [rsp+4] the host FCW. */
#define STUB_ENV ZYDIS_REGISTER_RBX

typedef struct StubPlan {
    ZydisEncoderRequest req;     /* the remapped guest instruction */
    uint32_t vec_read, vec_write;   /* XMM/YMM register numbers it reads / writes */
    int8_t gpr_guest[16];        /* host GPR number -> guest GPR index it stands for, -1 if none */
    uint16_t gpr_read, gpr_write;   /* host GPR numbers loaded / stored */
    uint32_t flags;
    uint32_t mem_bytes;
    int mem_operand;
    int mask_reg;
    uint32_t mask_elem;
} StubPlan;

typedef struct StubBuf {
    uint8_t b[STUB_MAX_CODE];
    size_t len;
    bool failed;
} StubBuf;

/* --- encoding stub instructions --------------------------------------------------------------------- */

static ZydisEncoderOperand op_env(size_t offset, unsigned size)
{
    return zop_mem(STUB_ENV, (int64_t)offset, size);
}

static void emit_req(StubBuf *buf, const ZydisEncoderRequest *req)
{
    if (buf->failed) {
        return;
    }
    ZyanUSize len = sizeof(buf->b) - buf->len;
    if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(req, buf->b + buf->len, &len))) {
        buf->failed = true;
        return;
    }
    buf->len += len;
}

static void emit(StubBuf *buf, ZydisMnemonic m, int n, ZydisEncoderOperand a, ZydisEncoderOperand b)
{
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof(req));
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.mnemonic = m;
    req.operand_count = (ZyanU8)n;
    req.operands[0] = a;
    req.operands[1] = b;
    /* Our own loads and stores of YMM state must never come out as EVEX. */
    req.allowed_encodings = ZYDIS_ENCODABLE_ENCODING_LEGACY | ZYDIS_ENCODABLE_ENCODING_VEX;
    emit_req(buf, &req);
}

static const ZydisEncoderOperand NO_OP;


#define EMIT0(buf, m) emit((buf), ZYDIS_MNEMONIC_##m, 0, NO_OP, NO_OP)
#define EMIT1(buf, m, a) emit((buf), ZYDIS_MNEMONIC_##m, 1, (a), NO_OP)
#define EMIT2(buf, m, a, b) emit((buf), ZYDIS_MNEMONIC_##m, 2, (a), (b))

/* --- classifying the guest instruction -------------------------------------------------------------- */

static bool is_gpr_class(ZydisRegisterClass c)
{
    return c == ZYDIS_REGCLASS_GPR8 || c == ZYDIS_REGCLASS_GPR16 || c == ZYDIS_REGCLASS_GPR32 ||
           c == ZYDIS_REGCLASS_GPR64;
}

static int gpr_number(ZydisRegister r)
{
    ZydisRegister full = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
    return full >= ZYDIS_REGISTER_RAX && full <= ZYDIS_REGISTER_R15 ? (int)(full - ZYDIS_REGISTER_RAX) : -1;
}

/* x87 instructions that do not wait for pending exceptions (the FN* control forms) or are no-ops. */
static bool x87_is_control(ZydisMnemonic m)
{
    switch (m) {
    case ZYDIS_MNEMONIC_FNINIT:
    case ZYDIS_MNEMONIC_FNCLEX:
    case ZYDIS_MNEMONIC_FNSTSW:
    case ZYDIS_MNEMONIC_FNSTCW:
    case ZYDIS_MNEMONIC_FNSTENV:
    case ZYDIS_MNEMONIC_FNSAVE:
    case ZYDIS_MNEMONIC_FDISI8087_NOP:
    case ZYDIS_MNEMONIC_FENI8087_NOP:
    case ZYDIS_MNEMONIC_FSETPM287_NOP:
        return true;
    default:
        return false;
    }
}

/* x87 instructions that only move state and never raise arithmetic exceptions themselves. */
static bool x87_is_state_only(ZydisMnemonic m)
{
    switch (m) {
    case ZYDIS_MNEMONIC_FLDCW:
    case ZYDIS_MNEMONIC_FLDENV:
    case ZYDIS_MNEMONIC_FRSTOR:
    case ZYDIS_MNEMONIC_FWAIT:
    case ZYDIS_MNEMONIC_FNOP:
    case ZYDIS_MNEMONIC_FFREE:
    case ZYDIS_MNEMONIC_FFREEP:
    case ZYDIS_MNEMONIC_FDECSTP:
    case ZYDIS_MNEMONIC_FINCSTP:
    case ZYDIS_MNEMONIC_EMMS:
        return true;
    default:
        return false;
    }
}

/*
 * Which memory operands must be aligned (#GP otherwise). Checked in C before the stub runs, so the host
 * never faults inside a stub: legacy SSE 16-byte operands except the unaligned forms, and the VEX aligned
 * moves.
 */
static bool needs_alignment(const ZydisDecodedInstruction *zi, unsigned bytes)
{
    switch (zi->mnemonic) {
    case ZYDIS_MNEMONIC_VMOVAPS:
    case ZYDIS_MNEMONIC_VMOVAPD:
    case ZYDIS_MNEMONIC_VMOVDQA:
    case ZYDIS_MNEMONIC_VMOVNTPS:
    case ZYDIS_MNEMONIC_VMOVNTPD:
    case ZYDIS_MNEMONIC_VMOVNTDQ:
    case ZYDIS_MNEMONIC_VMOVNTDQA:
        return true;
    case ZYDIS_MNEMONIC_MOVUPS:
    case ZYDIS_MNEMONIC_MOVUPD:
    case ZYDIS_MNEMONIC_MOVDQU:
    case ZYDIS_MNEMONIC_LDDQU:
    case ZYDIS_MNEMONIC_PCMPESTRI:
    case ZYDIS_MNEMONIC_PCMPESTRM:
    case ZYDIS_MNEMONIC_PCMPISTRI:
    case ZYDIS_MNEMONIC_PCMPISTRM:
    case ZYDIS_MNEMONIC_MASKMOVDQU:
        return false;
    default:
        return zi->encoding == ZYDIS_INSTRUCTION_ENCODING_LEGACY && bytes == 16 &&
               zi->meta.isa_ext != ZYDIS_ISA_EXT_X87;
    }
}

/*
 * Instructions that neither raise SIMD floating-point exceptions nor read MXCSR's control bits: the SDM's
 * exception types 1 (aligned moves), 4, 5 and 7 (packed, scalar and register-only operations without
 * floating-point exceptions), as Zydis classifies them. Everything else (types 2, 3, 6, F16C's...) counts
 * as using MXCSR. (The randomized-MXCSR tests and fuzz-cpu check this against the hardware.)
 */
static bool mxcsr_free(ZydisExceptionClass c)
{
    switch (c) {
    case ZYDIS_EXCEPTION_CLASS_SSE1:
    case ZYDIS_EXCEPTION_CLASS_SSE4:
    case ZYDIS_EXCEPTION_CLASS_SSE5:
    case ZYDIS_EXCEPTION_CLASS_SSE7:
    case ZYDIS_EXCEPTION_CLASS_AVX1:
    case ZYDIS_EXCEPTION_CLASS_AVX4:
    case ZYDIS_EXCEPTION_CLASS_AVX5:
    case ZYDIS_EXCEPTION_CLASS_AVX7:
        return true;
    default:
        return false;
    }
}

static bool plan_register(StubPlan *p, const ZydisDecodedOperand *op, int i, int *next_gpr)
{
    ZydisRegister r = op->reg.value;
    ZydisRegisterClass c = ZydisRegisterGetClass(r);
    bool wr = (op->actions & (ZYDIS_OPERAND_ACTION_WRITE | ZYDIS_OPERAND_ACTION_CONDWRITE)) != 0;

    if (c == ZYDIS_REGCLASS_XMM || c == ZYDIS_REGCLASS_YMM) {
        int n = ZydisRegisterGetId(r);
        if (n < 0 || n > 15) {
            return false;
        }
        /* A conditional or partial write still needs the old value in the host register. */
        p->vec_read |= 1u << n;
        if (wr) {
            p->vec_write |= 1u << n;
        }
        return true;
    }
    if (is_gpr_class(c)) {
        int g = gpr_number(r);
        if (g < 0 || (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH)) {
            return false;
        }
        int host;
        if (op->visibility == ZYDIS_OPERAND_VISIBILITY_EXPLICIT) {
            /* The same guest register twice gets the same host register. */
            host = -1;
            for (int h = 8; h < 8 + STUB_MAX_GPR; h++) {
                if (p->gpr_guest[h] == g) {
                    host = h;
                }
            }
            if (host < 0) {
                if (*next_gpr >= 8 + STUB_MAX_GPR) {
                    return false;
                }
                host = (*next_gpr)++;
            }
            if (i < p->req.operand_count) {
                p->req.operands[i].reg.value = ZydisRegisterEncode(c, (ZyanU8)host);
            }
        } else {
            /* Implicit GPRs keep their own host register; only these are free in a stub. */
            if (g != 0 && g != 1 && g != 2 && g != 7) {
                return false;
            }
            host = g;
        }
        p->gpr_guest[host] = (int8_t)g;
        /* Load even written registers: an 8/16-bit write merges, and the store writes all 64 bits. */
        p->gpr_read |= 1u << host;
        if (wr) {
            p->gpr_write |= 1u << host;
        }
        return true;
    }
    if (c == ZYDIS_REGCLASS_X87 || c == ZYDIS_REGCLASS_MMX || r == ZYDIS_REGISTER_X87CONTROL ||
        r == ZYDIS_REGISTER_X87STATUS || r == ZYDIS_REGISTER_X87TAG) {
        p->flags |= HOSTEXEC_X87;
        return true;
    }
    if (r == ZYDIS_REGISTER_MXCSR) {
        p->flags |= HOSTEXEC_MXCSR;   /* always moved in and out of the stub */
        return true;
    }
    if (c == ZYDIS_REGCLASS_FLAGS) {
        return true;   /* flags come from cpu_flags */
    }
    return false;
}

static bool plan_memory(StubPlan *p, const X86Insn *insn_of_plan, const ZydisDecodedOperand *op, int i)
{
    if (op->mem.type != ZYDIS_MEMOP_TYPE_MEM || p->mem_operand >= 0) {
        return false;   /* AGEN, MIB, VSIB (gathers run in C) or two memory operands */
    }
    p->mem_operand = i;
    p->mem_bytes = op->size / 8;
    if (needs_alignment(&insn_of_plan->zi, p->mem_bytes)) {
        p->flags |= HOSTEXEC_ALIGNED;
    }
    if (op->actions & (ZYDIS_OPERAND_ACTION_READ | ZYDIS_OPERAND_ACTION_CONDREAD)) {
        p->flags |= HOSTEXEC_MEM_READ;
    }
    if (op->actions & (ZYDIS_OPERAND_ACTION_WRITE | ZYDIS_OPERAND_ACTION_CONDWRITE)) {
        p->flags |= HOSTEXEC_MEM_WRITE;
    }
    if (op->actions & (ZYDIS_OPERAND_ACTION_CONDREAD | ZYDIS_OPERAND_ACTION_CONDWRITE)) {
        p->flags |= HOSTEXEC_NO_PROBE;
    }
    if (op->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN) {
        /* MASKMOVDQU/MASKMOVQ store through [rdi]: the stub points RDI at the address. */
        if (op->mem.base != ZYDIS_REGISTER_RDI && op->mem.base != ZYDIS_REGISTER_EDI) {
            return false;
        }
        p->flags |= HOSTEXEC_HIDDEN_MEM | HOSTEXEC_NO_PROBE;
        return true;
    }
    if (i < p->req.operand_count) {
        ZydisEncoderOperand *e = &p->req.operands[i];
        e->mem.base = ZYDIS_REGISTER_RSI;
        e->mem.index = ZYDIS_REGISTER_NONE;
        e->mem.scale = 0;
        e->mem.displacement = 0;
    }
    return true;
}

/*
 * Masked accesses fault only on their enabled elements, so the run helper probes exactly those (from the
 * mask register's element MSBs) before the stub runs. MASKMOVQ's mask is an MMX register: not probed.
 */
static void plan_mask(StubPlan *p, const X86Insn *insn)
{
    uint32_t elem;
    switch (insn->zi.mnemonic) {
    case ZYDIS_MNEMONIC_VMASKMOVPS:
    case ZYDIS_MNEMONIC_VPMASKMOVD:
        elem = 4;
        break;
    case ZYDIS_MNEMONIC_VMASKMOVPD:
    case ZYDIS_MNEMONIC_VPMASKMOVQ:
        elem = 8;
        break;
    case ZYDIS_MNEMONIC_MASKMOVDQU:
    case ZYDIS_MNEMONIC_VMASKMOVDQU:
        elem = 1;
        break;
    default:
        return;
    }
    /* The mask is the second operand in every form (VEX.vvvv, or MASKMOVDQU's ModRM.rm). */
    const ZydisDecodedOperand *m = &insn->op[1];
    ZydisRegisterClass c = ZydisRegisterGetClass(m->reg.value);
    if (m->type == ZYDIS_OPERAND_TYPE_REGISTER && (c == ZYDIS_REGCLASS_XMM || c == ZYDIS_REGCLASS_YMM)) {
        p->mask_reg = ZydisRegisterGetId(m->reg.value);
        p->mask_elem = elem;
    }
}

static bool plan_insn(StubPlan *p, const X86Insn *insn)
{
    const ZydisDecodedInstruction *zi = &insn->zi;
    memset(p, 0, sizeof(*p));
    memset(p->gpr_guest, -1, sizeof(p->gpr_guest));
    p->mem_operand = -1;
    p->mask_reg = -1;

    if (zi->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY && zi->encoding != ZYDIS_INSTRUCTION_ENCODING_VEX) {
        return false;
    }
    if (zi->meta.branch_type != ZYDIS_BRANCH_TYPE_NONE || (zi->attributes & ZYDIS_ATTRIB_HAS_LOCK)) {
        return false;
    }
    if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(zi, insn->op, zi->operand_count_visible,
                                                                      &p->req))) {
        return false;
    }
    /* A 16/32-bit guest instruction (system mode) runs as the same instruction in the host's 64-bit mode. */
    p->req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    /* The address is computed by the IR: no segment override, no address-size prefix on the host. */
    p->req.prefixes &= ~(ZydisInstructionAttributes)(ZYDIS_ATTRIB_HAS_SEGMENT_CS | ZYDIS_ATTRIB_HAS_SEGMENT_SS |
                                                     ZYDIS_ATTRIB_HAS_SEGMENT_DS | ZYDIS_ATTRIB_HAS_SEGMENT_ES |
                                                     ZYDIS_ATTRIB_HAS_SEGMENT_FS | ZYDIS_ATTRIB_HAS_SEGMENT_GS);
    p->req.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_NONE;
    p->req.allowed_encodings = zi->encoding == ZYDIS_INSTRUCTION_ENCODING_VEX ? ZYDIS_ENCODABLE_ENCODING_VEX
                                                                              : ZYDIS_ENCODABLE_ENCODING_LEGACY;
    if (zi->encoding == ZYDIS_INSTRUCTION_ENCODING_VEX) {
        p->flags |= HOSTEXEC_VEX;
    }

    int next_gpr = 8;
    for (int i = 0; i < zi->operand_count; i++) {
        const ZydisDecodedOperand *op = &insn->op[i];
        bool ok;
        switch (op->type) {
        case ZYDIS_OPERAND_TYPE_REGISTER:
            ok = plan_register(p, op, i, &next_gpr);
            break;
        case ZYDIS_OPERAND_TYPE_MEMORY:
            ok = plan_memory(p, insn, op, i);
            break;
        case ZYDIS_OPERAND_TYPE_IMMEDIATE:
            ok = true;
            break;
        default:
            ok = false;
            break;
        }
        if (!ok) {
            return false;
        }
    }
    plan_mask(p, insn);
    if (!mxcsr_free(zi->meta.exception_class)) {
        p->flags |= HOSTEXEC_MXCSR;
    }
    if (zi->cpu_flags != NULL) {
        if (zi->cpu_flags->tested) {
            p->flags |= HOSTEXEC_FLAGS_IN;
        }
        if (zi->cpu_flags->modified | zi->cpu_flags->set_0 | zi->cpu_flags->set_1 | zi->cpu_flags->undefined) {
            p->flags |= HOSTEXEC_FLAGS_OUT;
        }
    }
    if (zi->meta.isa_ext == ZYDIS_ISA_EXT_X87 || zi->meta.isa_ext == ZYDIS_ISA_EXT_MMX) {
        p->flags |= HOSTEXEC_X87;
    }
    if (zi->meta.isa_ext == ZYDIS_ISA_EXT_X87 || zi->mnemonic == ZYDIS_MNEMONIC_FWAIT ||
        zi->mnemonic == ZYDIS_MNEMONIC_FISTTP) {
        p->flags |= HOSTEXEC_X87;
        if (x87_is_control(zi->mnemonic)) {
            p->flags |= HOSTEXEC_X87_CONTROL;
        } else if (!x87_is_state_only(zi->mnemonic)) {
            p->flags |= HOSTEXEC_X87_ARITH;
        }
    }
    return true;
}

/* --- assembling the stub ----------------------------------------------------------------------------- */

static size_t vec_offset(int n)
{
    return offsetof(CPUX86State, ymm) + (size_t)n * sizeof(X86YMMReg);
}

static void emit_vec_moves(StubBuf *buf, const StubPlan *p, uint32_t set, bool store)
{
    bool vex = (p->flags & HOSTEXEC_VEX) != 0;
    for (int n = 0; n < 16; n++) {
        if (!(set & (1u << n))) {
            continue;
        }
        /* Legacy SSE: 128 bits in and out (the guest's upper half is untouched); VEX: all 256 bits. */
        ZydisEncoderOperand r = zop_reg((ZydisRegister)((vex ? ZYDIS_REGISTER_YMM0 : ZYDIS_REGISTER_XMM0) + n));
        ZydisEncoderOperand m = op_env(vec_offset(n), vex ? 32 : 16);
        ZydisMnemonic mn = vex ? ZYDIS_MNEMONIC_VMOVDQU : ZYDIS_MNEMONIC_MOVDQU;
        if (store) {
            emit(buf, mn, 2, m, r);
        } else {
            emit(buf, mn, 2, r, m);
        }
    }
}

static void emit_gpr_moves(StubBuf *buf, const StubPlan *p, uint16_t set, bool store)
{
    for (int h = 0; h < 16; h++) {
        if (!(set & (1u << h))) {
            continue;
        }
        ZydisEncoderOperand r = zop_reg((ZydisRegister)(ZYDIS_REGISTER_RAX + h));
        ZydisEncoderOperand m = op_env(offsetof(CPUX86State, regs) + 8 * (size_t)p->gpr_guest[h], 8);
        if (store) {
            EMIT2(buf, MOV, m, r);
        } else {
            EMIT2(buf, MOV, r, m);
        }
    }
}

static void assemble(StubBuf *buf, const StubPlan *p)
{
    const ZydisEncoderOperand host_mxcsr = zop_mem(ZYDIS_REGISTER_RSP, 0, 4);
    const ZydisEncoderOperand host_fcw = zop_mem(ZYDIS_REGISTER_RSP, 4, 2);
    const ZydisEncoderOperand guest_mxcsr = op_env(offsetof(CPUX86State, fx.mxcsr), 4);
    const ZydisEncoderOperand guest_fx = op_env(offsetof(CPUX86State, fx), 512);
    bool x87 = (p->flags & HOSTEXEC_X87) != 0;

    EMIT1(buf, PUSH, zop_reg(ZYDIS_REGISTER_RBX));
    EMIT2(buf, MOV, zop_reg(STUB_ENV), zop_reg(ZYDIS_REGISTER_RDI));
    EMIT2(buf, SUB, zop_reg(ZYDIS_REGISTER_RSP), zop_imm(16));
    EMIT1(buf, STMXCSR, host_mxcsr);
    if (x87) {
        EMIT1(buf, FNSTCW, host_fcw);
        /* FXRSTOR also loads XMM0-15 and MXCSR from the image: the loads below come after it. */
        EMIT1(buf, FXRSTOR64, guest_fx);
    }
    if (p->flags & HOSTEXEC_FLAGS_IN) {
        EMIT1(buf, PUSH, zop_reg(ZYDIS_REGISTER_RDX));
        EMIT0(buf, POPFQ);
    }
    emit_vec_moves(buf, p, p->vec_read, false);
    emit_gpr_moves(buf, p, p->gpr_read, false);
    if (p->flags & HOSTEXEC_HIDDEN_MEM) {
        EMIT2(buf, MOV, zop_reg(ZYDIS_REGISTER_RDI), zop_reg(ZYDIS_REGISTER_RSI));
    }
    EMIT1(buf, LDMXCSR, guest_mxcsr);
    emit_req(buf, &p->req);
    /* Nothing below changes RFLAGS until PUSHFQ. */
    EMIT1(buf, STMXCSR, guest_mxcsr);
    emit_gpr_moves(buf, p, p->gpr_write, true);
    emit_vec_moves(buf, p, p->vec_write, true);
    EMIT0(buf, PUSHFQ);
    EMIT1(buf, POP, zop_reg(ZYDIS_REGISTER_RAX));
    if (x87) {
        EMIT1(buf, FXSAVE64, guest_fx);
        /* The ABI wants an empty x87 stack and the host's control word back. */
        EMIT0(buf, FNINIT);
        EMIT1(buf, FLDCW, host_fcw);
    }
    EMIT1(buf, LDMXCSR, host_mxcsr);
    if (p->flags & HOSTEXEC_VEX) {
        EMIT0(buf, VZEROUPPER);
    }
    EMIT2(buf, ADD, zop_reg(ZYDIS_REGISTER_RSP), zop_imm(16));
    EMIT1(buf, POP, zop_reg(ZYDIS_REGISTER_RBX));
    EMIT0(buf, RET);
}

/* --- the inline form (core/tcg/host-insn.h) ---------------------------------------------------------- */

/*
 * The stub's instruction with its GPRs moved to the JIT's scratch registers: implicit RAX/RCX/RDX stay
 * where they are, explicit ones take what is left of the three. False when it has no inline form.
 */
static bool plan_inline(const StubPlan *p, TCGHostInsn *hi)
{
    const uint32_t out_of_line = HOSTEXEC_X87 | HOSTEXEC_FLAGS_IN | HOSTEXEC_NO_PROBE | HOSTEXEC_HIDDEN_MEM;
    if ((p->flags & out_of_line) || p->mask_reg >= 0) {
        return false;
    }
    memset(hi, 0, sizeof(*hi));
    hi->req = p->req;
    int8_t host_of[16];   /* stub host register -> inline host register */
    memset(host_of, -1, sizeof(host_of));
    uint16_t taken = 0;
    for (int h = 0; h < 16; h++) {
        if (p->gpr_guest[h] >= 0 && h < 8) {
            if (h > 2) {
                return false;   /* an implicit RDI (string-like SSE4.2 forms do not use it; MASKMOV does) */
            }
            host_of[h] = (int8_t)h;
            taken |= 1u << h;
        }
    }
    for (int h = 8; h < 16; h++) {
        if (p->gpr_guest[h] < 0) {
            continue;
        }
        int free_reg = 0;
        while (free_reg < 3 && (taken & (1u << free_reg))) {
            free_reg++;
        }
        if (free_reg == 3) {
            return false;
        }
        host_of[h] = (int8_t)free_reg;
        taken |= 1u << free_reg;
    }
    for (int h = 0; h < 16; h++) {
        if (host_of[h] < 0) {
            continue;
        }
        if (hi->ngpr == TCG_HOST_INSN_MAX_GPR) {
            return false;
        }
        hi->gpr[hi->ngpr].host = (uint8_t)host_of[h];
        hi->gpr[hi->ngpr].write = (p->gpr_write >> h) & 1;
        hi->gpr[hi->ngpr].arg = -1;
        hi->gpr[hi->ngpr].env_offset = (uint32_t)(offsetof(CPUX86State, regs) + 8 * (size_t)p->gpr_guest[h]);
        hi->ngpr++;
    }
    for (int i = 0; i < hi->req.operand_count; i++) {
        ZydisEncoderOperand *o = &hi->req.operands[i];
        if (o->type != ZYDIS_OPERAND_TYPE_REGISTER || !is_gpr_class(ZydisRegisterGetClass(o->reg.value))) {
            continue;
        }
        int h = ZydisRegisterGetId(o->reg.value);
        if (h < 0 || h > 15 || host_of[h] < 0) {
            return false;
        }
        o->reg.value = ZydisRegisterEncode(ZydisRegisterGetClass(o->reg.value), (ZyanU8)host_of[h]);
    }
    hi->mem_operand = (int8_t)p->mem_operand;
    hi->addr_arg = 2;   /* helper_hostexec_call(env, stub, address, flags in, pc info) */
    hi->vec_read = (uint16_t)p->vec_read;
    hi->vec_write = (uint16_t)p->vec_write;
    hi->vex = (p->flags & HOSTEXEC_VEX) != 0;
    hi->flags_out = (p->flags & HOSTEXEC_FLAGS_OUT) != 0;
    hi->vec_env_offset = (uint32_t)offsetof(CPUX86State, ymm);
    hi->vec_stride = (uint32_t)sizeof(X86YMMReg);
    /* It must encode (with a memory base the JIT will choose: any GPR does). */
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZyanUSize len = sizeof(bytes);
    ZydisEncoderRequest probe = hi->req;
    if (hi->mem_operand >= 0) {
        probe.operands[hi->mem_operand].mem.base = ZYDIS_REGISTER_R12;
    }
    return ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&probe, bytes, &len));
}

/* --- the cache --------------------------------------------------------------------------------------- */

/* What makes two instructions share a stub: the remapped instruction and where its GPRs come from. */
typedef struct StubKey {
    uint8_t insn[ZYDIS_MAX_INSTRUCTION_LENGTH];
    uint8_t insn_len;
    int8_t gpr_guest[16];
    uint32_t flags;
} StubKey;

typedef struct StubEntry {
    StubKey key;
    HostStub stub;
    TCGHostInsn inline_insn;
    struct StubEntry *next;
} StubEntry;

#define STUB_HASH_BITS 12
static StubEntry *stub_hash[1u << STUB_HASH_BITS];
static pthread_mutex_t stub_lock = PTHREAD_MUTEX_INITIALIZER;

void x86_fork_lock(bool lock)
{
    /* The stub cache's lock is taken before the allocator's (hostexec_stub_get allocates under it). */
    if (lock) {
        pthread_mutex_lock(&stub_lock);
        hostexec_code_fork_lock(true);
    } else {
        hostexec_code_fork_lock(false);
        pthread_mutex_unlock(&stub_lock);
    }
}

static uint32_t bytes_hash(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return h >> (32 - STUB_HASH_BITS);
}

/*
 * Most vector instructions a program translates recur byte for byte (its string functions' SSE and AVX
 * loops, each variant translated once): what each guest encoding led to, so that a repeat skips the
 * planning, re-encoding and checking below, which cost several decodes' worth. Failures are kept too.
 * The result depends on the bytes and the decoder's mode only (the stub reaches memory through [rsi],
 * so a RIP-relative operand's pc does not matter).
 */
typedef struct SeenKey {
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
    uint8_t len;
    uint8_t machine_mode, stack_width;
} SeenKey;

typedef struct SeenInsn {
    SeenKey key;
    const HostStub *stub;
    struct SeenInsn *next;
} SeenInsn;

static SeenInsn *seen_hash[1u << STUB_HASH_BITS];

static SeenKey seen_key(const X86Insn *insn)
{
    SeenKey k;
    memset(&k, 0, sizeof(k));
    k.len = insn->zi.length;
    memcpy(k.bytes, insn->bytes, k.len);
    k.machine_mode = (uint8_t)insn->zi.machine_mode;
    k.stack_width = (uint8_t)insn->zi.stack_width;
    return k;
}

/* Called with stub_lock held. */
static bool seen_find(const SeenKey *k, const HostStub **stub)
{
    for (const SeenInsn *e = seen_hash[bytes_hash(k, sizeof(*k))]; e != NULL; e = e->next) {
        if (memcmp(&e->key, k, sizeof(*k)) == 0) {
            *stub = e->stub;
            return true;
        }
    }
    return false;
}

static void seen_add(const SeenKey *k, const HostStub *stub)
{
    SeenInsn *e = malloc(sizeof(*e));
    if (e != NULL) {
        uint32_t h = bytes_hash(k, sizeof(*k));
        *e = (SeenInsn){*k, stub, seen_hash[h]};
        seen_hash[h] = e;
    }
}

/*
 * The re-encoded instruction must decode to the same mnemonic and operand kinds as the guest's: a cheap
 * guard against the encoder choosing something else.
 */
static ZydisDecoder check_dec;
static pthread_once_t check_dec_once = PTHREAD_ONCE_INIT;

static void check_dec_init(void)
{
    ZydisDecoderInit(&check_dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
}

static bool check_reencoding(const X86Insn *insn, const uint8_t *bytes, size_t len)
{
    pthread_once(&check_dec_once, check_dec_init);
    ZydisDecodedInstruction zi;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&check_dec, bytes, len, &zi, ops)) || zi.length != len ||
        zi.mnemonic != insn->zi.mnemonic || zi.operand_count != insn->zi.operand_count ||
        zi.encoding != insn->zi.encoding) {
        return false;
    }
    for (int i = 0; i < zi.operand_count; i++) {
        if (ops[i].type != insn->op[i].type || ops[i].size != insn->op[i].size) {
            return false;
        }
    }
    return true;
}

/* The stub for an instruction never seen before, found or built (under stub_lock); *definite: a NULL
   result would be the same next time (the instruction cannot run as a stub, not just no memory now). */
static const HostStub *stub_for_new_insn(const X86Insn *insn, bool *definite)
{
    *definite = true;
    StubPlan p;
    if (!plan_insn(&p, insn)) {
        return NULL;
    }
    StubKey key;
    memset(&key, 0, sizeof(key));
    ZyanUSize len = sizeof(key.insn);
    if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&p.req, key.insn, &len)) ||
        !check_reencoding(insn, key.insn, len)) {
        return NULL;
    }
    key.insn_len = (uint8_t)len;
    memcpy(key.gpr_guest, p.gpr_guest, sizeof(key.gpr_guest));
    key.flags = p.flags;

    uint32_t h = bytes_hash(&key, sizeof(key));
    const HostStub *found = NULL;
    for (StubEntry *e = stub_hash[h]; e != NULL; e = e->next) {
        if (memcmp(&e->key, &key, sizeof(key)) == 0) {
            found = &e->stub;
            break;
        }
    }
    if (found == NULL) {
        StubBuf buf = {.len = 0};
        assemble(&buf, &p);
        StubEntry *e = buf.failed ? NULL : calloc(1, sizeof(*e));
        void *code = e ? hostexec_code_alloc(buf.len, 16) : NULL;
        if (code != NULL) {
            memcpy(code, buf.b, buf.len);
            e->key = key;
            e->stub = (HostStub){
                .code = (HostStubFn)code,
                .flags = p.flags,
                .mem_bytes = p.mem_bytes,
                .code_size = (uint32_t)buf.len,
                .mem_operand = p.mem_operand,
                .mask_reg = p.mask_reg,
                .mask_elem = p.mask_elem,
                .mnemonic = insn->zi.mnemonic,
            };
            if (plan_inline(&p, &e->inline_insn)) {
                e->stub.inline_insn = &e->inline_insn;
            }
            e->next = stub_hash[h];
            stub_hash[h] = e;
            found = &e->stub;
        } else {
            free(e);
            *definite = buf.failed;
        }
    }
    return found;
}

const HostStub *hostexec_stub_get(const X86Insn *insn)
{
    SeenKey k = seen_key(insn);
    const HostStub *stub;
    pthread_mutex_lock(&stub_lock);
    if (!seen_find(&k, &stub)) {
        bool definite;
        stub = stub_for_new_insn(insn, &definite);
        if (stub != NULL || definite) {
            seen_add(&k, stub);
        }
    }
    pthread_mutex_unlock(&stub_lock);
    return stub;
}
