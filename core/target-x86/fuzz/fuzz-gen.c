/*
 * One random sequence. Each unit is one instruction from the table, in one of its operand forms, with
 * random registers, a memory operand in a random addressing mode, edge-biased immediates and the legal
 * prefixes, preceded by the setup instructions it needs: every memory operand's base and index registers
 * are loaded just before it so that the effective address lands in the harness's data buffer (any register
 * can therefore also be a random destination), string instructions get RSI/RDI/RCX, and the few
 * instructions that load control state (POPF, LDMXCSR, FLDCW, FXRSTOR...) get a sane image first.
 */
#include <stdlib.h>
#include <string.h>

#include "core/target-x86/fuzz/fuzz-internal.h"

uint64_t fuzz_rand(FuzzGen *g, uint64_t n)
{
    return n ? harness_rng_next(g->rng) % n : 0;
}

static uint64_t fuzz_here(const FuzzGen *g)
{
    return HARNESS_CODE_ADDR + g->seq->len + g->len;
}

/* Encode a request at the current end of the unit. */
bool fuzz_emit_req(FuzzGen *g, ZydisEncoderRequest *req)
{
    req->machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req->allowed_encodings = ZYDIS_ENCODABLE_ENCODING_LEGACY | ZYDIS_ENCODABLE_ENCODING_VEX;
    ZyanUSize n = sizeof(g->buf) - g->len;
    if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstructionAbsolute(req, g->buf + g->len, &n, fuzz_here(g)))) {
        g->failed = true;
        return false;
    }
    g->len += n;
    return true;
}

ZydisRegister fuzz_gpr(int width, int i)
{
    static const ZydisRegister base[] = {ZYDIS_REGISTER_AL, ZYDIS_REGISTER_AX, ZYDIS_REGISTER_EAX,
                                         ZYDIS_REGISTER_RAX};
    int w = width == 8 ? 0 : width == 16 ? 1 : width == 32 ? 2 : 3;
    if (w == 0 && i >= 4 && i < 8) {
        return (ZydisRegister)(ZYDIS_REGISTER_SPL + (i - 4));   /* SPL..DIL; AH..BH are separate */
    }
    if (w == 0 && i >= 8) {
        return (ZydisRegister)(ZYDIS_REGISTER_R8B + (i - 8));
    }
    return (ZydisRegister)(base[w] + i);
}

/* mov reg64, value (the encoder picks the shortest form). */
void fuzz_emit_load(FuzzGen *g, int reg, uint64_t value)
{
    if (reg == HR_RSP) {   /* the stack pointer is never the generator's to load */
        g->failed = true;
        return;
    }
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof(req));
    req.mnemonic = ZYDIS_MNEMONIC_MOV;
    req.operand_count = 2;
    req.operands[0].type = ZYDIS_OPERAND_TYPE_REGISTER;
    req.operands[0].reg.value = fuzz_gpr(64, reg);
    req.operands[1].type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
    req.operands[1].imm.u = value;
    fuzz_emit_req(g, &req);
    g->setup_regs |= 1u << reg;
}

/* A GPR number not in `avoid` (and never RSP). */
int fuzz_pick_free(FuzzGen *g, uint32_t avoid)
{
    avoid |= 1u << HR_RSP;
    for (;;) {
        int r = (int)fuzz_rand(g, 16);
        if (!(avoid & (1u << r))) {
            return r;
        }
    }
}

/* --- memory operands ----------------------------------------------------------------------------------- */

/* A target offset in the data buffer for an access of `size` bytes, aligned most of the time. */
uint64_t fuzz_pick_target(FuzzGen *g, unsigned size, unsigned margin)
{
    unsigned align = 1;
    while (align < size && align < 64) {
        align <<= 1;
    }
    uint64_t room = HARNESS_DATA_SIZE - size - 2 * margin;
    uint64_t t = margin + fuzz_rand(g, room);
    if (fuzz_rand(g, 4) != 0) {
        t &= ~(uint64_t)(align - 1);
        if (t < margin) {
            t += align;
        }
    }
    return HARNESS_DATA_ADDR + t;
}

/*
 * A memory operand of `size` bytes whose effective address is `ea`, in a random addressing mode; its base
 * and index are loaded by setup code. `lea`: the operand is an address only (sized as the address).
 */
ZydisEncoderOperand fuzz_mem_operand(FuzzGen *g, uint16_t size, uint64_t ea, bool lea, uint32_t avoid)
{
    ZydisEncoderOperand op;
    memset(&op, 0, sizeof(op));
    op.type = ZYDIS_OPERAND_TYPE_MEMORY;
    op.mem.size = size;
    int mode = (int)fuzz_rand(g, 10);
    bool a32 = mode <= 7 && fuzz_rand(g, 6) == 0;
    int aw = a32 ? 32 : 64;
    if (lea) {
        op.mem.size = a32 ? 4 : 8;
    }
    uint64_t amask = a32 ? 0xffffffffULL : ~0ULL;
    int scale = 1 << fuzz_rand(g, 4);
    int64_t disp = 0;
    bool has_base = true, has_index = false;
    switch (mode) {
    case 0: break;                                                    /* [base] */
    case 1: disp = (int8_t)fuzz_rand(g, 256); break;                  /* [base + disp8] */
    case 2: disp = (int32_t)harness_rng_next(g->rng); break;          /* [base + disp32] */
    case 3: has_index = true; break;                                  /* [base + index*s] */
    case 4: has_index = true; disp = (int8_t)fuzz_rand(g, 256); break;
    case 5: has_index = true; disp = (int32_t)harness_rng_next(g->rng); break;
    case 6: has_base = false; has_index = true; break;                /* [index*s + disp32] */
    case 7: has_base = false; break;                                  /* [disp32] */
    case 8:                                                           /* [rip + disp32] */
        op.mem.base = ZYDIS_REGISTER_RIP;
        op.mem.displacement = (int64_t)ea;
        return op;
    default: {                                                        /* [rsp + disp32] */
        uint64_t rsp = HARNESS_STACK_TOP - (uint64_t)g->depth;
        op.mem.base = ZYDIS_REGISTER_RSP;
        op.mem.displacement = (int64_t)(ea - rsp);
        return op;
    }
    }
    int64_t iv = 0;
    if (has_index) {
        int idx = fuzz_pick_free(g, avoid | g->setup_regs);
        iv = (int64_t)fuzz_rand(g, 64) - 16;
        op.mem.index = fuzz_gpr(aw, idx);
        op.mem.scale = (ZyanU8)scale;
        uint64_t v = (uint64_t)iv & amask;
        if (a32) {
            v |= harness_rng_next(g->rng) << 32;   /* 32-bit addressing ignores the upper half */
        }
        fuzz_emit_load(g, idx, v);
    }
    uint64_t rest = (ea - (uint64_t)iv * (uint64_t)scale) & amask;
    if (!has_base) {
        op.mem.displacement = (int64_t)(int32_t)rest;
        if ((uint64_t)(int64_t)(int32_t)rest != rest && !a32) {
            g->failed = true;
        }
        return op;
    }
    int base = fuzz_pick_free(g, avoid | g->setup_regs);
    op.mem.base = fuzz_gpr(aw, base);
    op.mem.displacement = disp;
    uint64_t bv = (rest - (uint64_t)disp) & amask;
    if (a32) {
        bv |= harness_rng_next(g->rng) << 32;
    }
    fuzz_emit_load(g, base, bv);
    return op;
}

/* --- immediates ---------------------------------------------------------------------------------------- */

static int64_t fuzz_imm(FuzzGen *g, int bits)
{
    int64_t min = bits >= 64 ? INT64_MIN : -(1LL << (bits - 1));
    int64_t max = bits >= 64 ? INT64_MAX : (1LL << (bits - 1)) - 1;
    switch (fuzz_rand(g, 8)) {
    case 0: {
        static const int64_t edge[] = {0, 1, -1, 2};
        return edge[fuzz_rand(g, 4)];
    }
    case 1: return fuzz_rand(g, 2) ? min : max;
    case 2: {
        static const int64_t counts[] = {7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65};
        return counts[fuzz_rand(g, 12)];
    }
    case 3: return (int64_t)fuzz_rand(g, 70);
    default: {
        uint64_t v = harness_rng_next(g->rng);
        if (bits < 64) {
            v &= (1ULL << bits) - 1;
            if (v & (1ULL << (bits - 1))) {
                v |= ~0ULL << bits;   /* sign-extend: the encoder takes signed values */
            }
        }
        return (int64_t)v;
    }
    }
}

/* --- mnemonics with special needs ---------------------------------------------------------------------- */

bool fuzz_is(ZydisMnemonic m, const ZydisMnemonic *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i] == m) {
            return true;
        }
    }
    return false;
}

static bool fuzz_is_string(ZydisMnemonic m)
{
    return FUZZ_IS(m, ZYDIS_MNEMONIC_MOVSB, ZYDIS_MNEMONIC_MOVSW, ZYDIS_MNEMONIC_MOVSD, ZYDIS_MNEMONIC_MOVSQ,
                   ZYDIS_MNEMONIC_STOSB, ZYDIS_MNEMONIC_STOSW, ZYDIS_MNEMONIC_STOSD, ZYDIS_MNEMONIC_STOSQ,
                   ZYDIS_MNEMONIC_LODSB, ZYDIS_MNEMONIC_LODSW, ZYDIS_MNEMONIC_LODSD, ZYDIS_MNEMONIC_LODSQ,
                   ZYDIS_MNEMONIC_CMPSB, ZYDIS_MNEMONIC_CMPSW, ZYDIS_MNEMONIC_CMPSD, ZYDIS_MNEMONIC_CMPSQ,
                   ZYDIS_MNEMONIC_SCASB, ZYDIS_MNEMONIC_SCASW, ZYDIS_MNEMONIC_SCASD, ZYDIS_MNEMONIC_SCASQ);
}

/* Store a 32-bit value at `ea` (setup for instructions that load control state from memory). */
void fuzz_emit_store32(FuzzGen *g, uint64_t ea, uint32_t value, int width)
{
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof(req));
    req.mnemonic = ZYDIS_MNEMONIC_MOV;
    req.operand_count = 2;
    req.operands[0].type = ZYDIS_OPERAND_TYPE_MEMORY;
    req.operands[0].mem.displacement = (int64_t)ea;   /* absolute [disp32]: below 2 GiB */
    req.operands[0].mem.size = (ZyanU16)(width / 8);
    req.operands[1].type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
    req.operands[1].imm.u = width == 16 ? (uint16_t)value : value;
    fuzz_emit_req(g, &req);
}

/* An instruction whose one operand is the memory at absolute `ea` (e.g. the save of the matching state
   image before a restore, so that the restore loads something the CPU accepts). */
static void fuzz_emit_mem_insn(FuzzGen *g, ZydisMnemonic mnemonic, uint64_t ea, uint16_t size)
{
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof(req));
    req.mnemonic = mnemonic;
    req.operand_count = 1;
    req.operands[0].type = ZYDIS_OPERAND_TYPE_MEMORY;
    req.operands[0].mem.displacement = (int64_t)ea;
    req.operands[0].mem.size = size;
    fuzz_emit_req(g, &req);
}

/* --- one unit ------------------------------------------------------------------------------------------ */

static bool fuzz_writes_rsp(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
    if (FUZZ_IS(insn->mnemonic, ZYDIS_MNEMONIC_PUSH, ZYDIS_MNEMONIC_POP, ZYDIS_MNEMONIC_PUSHF,
                ZYDIS_MNEMONIC_PUSHFQ, ZYDIS_MNEMONIC_POPF, ZYDIS_MNEMONIC_POPFQ, ZYDIS_MNEMONIC_ENTER,
                ZYDIS_MNEMONIC_LEAVE)) {
        /* They move RSP by design (tracked); only an explicit RSP operand is refused. */
        for (int i = 0; i < insn->operand_count_visible; i++) {
            if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
                ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[i].reg.value) == ZYDIS_REGISTER_RSP) {
                return true;
            }
        }
        return false;
    }
    for (int i = 0; i < insn->operand_count; i++) {
        if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER && (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
            ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[i].reg.value) == ZYDIS_REGISTER_RSP) {
            return true;
        }
    }
    return false;
}

/* RSP's change by a stack instruction (negative: pushes). */
static long fuzz_stack_delta(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops)
{
    long w = insn->operand_width / 8;
    switch (insn->mnemonic) {
    case ZYDIS_MNEMONIC_PUSH:
    case ZYDIS_MNEMONIC_PUSHF:
    case ZYDIS_MNEMONIC_PUSHFQ:
        return -w;
    case ZYDIS_MNEMONIC_POP:
    case ZYDIS_MNEMONIC_POPF:
    case ZYDIS_MNEMONIC_POPFQ:
        return w;
    case ZYDIS_MNEMONIC_ENTER: {
        long size = (long)ops[0].imm.value.u, level = (long)(ops[1].imm.value.u % 32);
        return -(w + (level ? w * level : 0) + size);
    }
    default:
        return 0;
    }
}

/* Encodings whose meaning differs between vendors: 0F 0D with a register operand is a reserved NOP to
   Intel and #UD to AMD (Zydis's encoder picks it for NOP r16/r32/r64). */
static bool fuzz_vendor_specific(const ZydisDecodedInstruction *insn)
{
    return insn->opcode_map == ZYDIS_OPCODE_MAP_0F && insn->opcode == 0x0d && insn->raw.modrm.mod == 3;
}

static bool fuzz_saves_x87_pointers(ZydisMnemonic m)
{
    return FUZZ_IS(m, ZYDIS_MNEMONIC_FXSAVE, ZYDIS_MNEMONIC_FXSAVE64, ZYDIS_MNEMONIC_XSAVE, ZYDIS_MNEMONIC_XSAVE64,
                   ZYDIS_MNEMONIC_XSAVEOPT, ZYDIS_MNEMONIC_XSAVEOPT64, ZYDIS_MNEMONIC_XSAVEC,
                   ZYDIS_MNEMONIC_XSAVEC64, ZYDIS_MNEMONIC_FNSAVE, ZYDIS_MNEMONIC_FNSTENV, ZYDIS_MNEMONIC_FXRSTOR,
                   ZYDIS_MNEMONIC_FXRSTOR64, ZYDIS_MNEMONIC_XRSTOR, ZYDIS_MNEMONIC_XRSTOR64, ZYDIS_MNEMONIC_FRSTOR,
                   ZYDIS_MNEMONIC_FLDENV);
}

/* Vendor differences in alignment checks: AMD does not check legacy-SSE SHA memory operands for 16-byte
   alignment (the SDM says #GP); aligned operands mean the same on both. */
static bool fuzz_always_aligned(ZydisMnemonic m)
{
    return FUZZ_IS(m, ZYDIS_MNEMONIC_SHA1MSG1, ZYDIS_MNEMONIC_SHA1MSG2, ZYDIS_MNEMONIC_SHA1NEXTE,
                   ZYDIS_MNEMONIC_SHA1RNDS4, ZYDIS_MNEMONIC_SHA256MSG1, ZYDIS_MNEMONIC_SHA256MSG2,
                   ZYDIS_MNEMONIC_SHA256RNDS2);
}

/* Encode the unit's instruction after its setup, check it, and append the unit to the sequence. */
static bool fuzz_vendor_specific(const ZydisDecodedInstruction *insn);

bool fuzz_finish_unit(FuzzGen *g, ZydisEncoderRequest *reqp, ZydisMnemonic m, long depth_before)
{
    size_t insn_at = g->len;
    if (!fuzz_emit_req(g, reqp)) {
        /* An unsigned immediate, or a register the form does not take (AH with REX): once more. */
        bool retried = false;
        for (int i = 0; i < reqp->operand_count; i++) {
            if (reqp->operands[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE && (int64_t)reqp->operands[i].imm.u < 0) {
                /* the unsigned reading of a negative value, at the width the encoder would use */
                uint64_t v = reqp->operands[i].imm.u;
                reqp->operands[i].imm.u = v >= ~0xffULL ? (v & 0xff) : v >= ~0xffffULL ? (v & 0xffff) : (v & 0xffffffffULL);
                retried = true;
            }
        }
        g->failed = false;
        if (!retried || !fuzz_emit_req(g, reqp)) {
            g->depth = depth_before;
            return false;
        }
    }

    if (!fuzz_patch_blendv(m, g->buf + insn_at, g->len - insn_at)) {
        g->depth = depth_before;
        return false;
    }
    /* Check what it does, as the decoder sees it. */
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&g->dec, g->buf + insn_at, g->len - insn_at, &insn, ops)) ||
        (!g->fault_unit && fuzz_writes_rsp(&insn, ops)) || fuzz_vendor_specific(&insn)) {
        g->depth = depth_before;
        return false;
    }
    long depth = g->depth - fuzz_stack_delta(&insn, ops);
    if (!g->fault_unit && (depth > FUZZ_STACK_BELOW || depth < -FUZZ_STACK_ABOVE || g->depth > FUZZ_STACK_BELOW ||
                           g->depth < -FUZZ_STACK_ABOVE)) {
        g->depth = depth_before;
        return false;
    }
    return fuzz_append_unit(g, insn_at, depth_before, depth);
}

bool fuzz_append_unit(FuzzGen *g, size_t insn_at, long depth_before, long depth)
{
    ZydisDecodedInstruction insn;
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&g->dec, NULL, g->buf + insn_at, g->len - insn_at, &insn))) {
        g->depth = depth_before;
        return false;
    }
    /* Every instruction of the unit in order: the setup's own flags effects (the PUSH before POPF, the
       saves) come first, a control-flow unit's bodies and a masked unit's clean-up after (they touch no
       flag, so the path taken does not matter). */
    FuzzUndef u = g->undef;
    ZydisDecodedInstruction si;
    for (size_t off = 0; off < g->len; off += si.length) {
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&g->dec, NULL, g->buf + off, g->len - off, &si))) {
            g->depth = depth_before;
            return false;
        }
        fuzz_undef_step(&u, &si);
    }
    if (u.reads_undefined) {
        g->depth = depth_before;
        return false;
    }
    if (g->seq->len + g->len > sizeof(g->seq->bytes) - 16) {
        g->depth = depth_before;
        return false;
    }
    g->undef = u;
    g->depth = depth;
    g->x87_used |= insn.meta.isa_ext == ZYDIS_ISA_EXT_X87;
    g->maybe_init |= FUZZ_IS(insn.mnemonic, ZYDIS_MNEMONIC_VZEROALL, ZYDIS_MNEMONIC_VZEROUPPER,
                             ZYDIS_MNEMONIC_FNINIT);
    FuzzUnit *unit = &g->seq->unit[g->seq->nunits++];
    unit->offset = (uint16_t)g->seq->len;
    unit->len = (uint16_t)g->len;
    unit->insn_offset = (uint16_t)(g->seq->len + insn_at);
    unit->mnemonic = insn.mnemonic;
    unit->isa_ext = (uint8_t)insn.meta.isa_ext;
    memcpy(g->seq->bytes + g->seq->len, g->buf, g->len);
    g->seq->len += g->len;
    return true;
}

bool fuzz_unmasked_exceptions;

bool fuzz_build_unit(FuzzGen *g, ZydisMnemonic m)
{
    if (fuzz_is_gather(m)) {
        long depth_before = g->depth;
        g->len = 0;
        g->setup_regs = 0;
        g->failed = false;
        ZydisEncoderRequest req;
        if (!fuzz_gather_request(g, m, &req)) {
            return false;
        }
        return fuzz_finish_unit(g, &req, m, depth_before);
    }
    const FuzzForms *forms = fuzz_forms(fuzz_form_source(m));
    if (forms->count == 0) {
        return false;
    }
    const FuzzForm *form = &forms->forms[fuzz_rand(g, (uint64_t)forms->count)];
    /* The 256-bit VEX forms of VAES* and VPCLMULQDQ need the VAES / VPCLMULQDQ features, which the model
       does not advertise (it raises #UD, as it should); the host has them. */
    if (FUZZ_IS(m, ZYDIS_MNEMONIC_VAESENC, ZYDIS_MNEMONIC_VAESENCLAST, ZYDIS_MNEMONIC_VAESDEC,
                ZYDIS_MNEMONIC_VAESDECLAST, ZYDIS_MNEMONIC_VPCLMULQDQ) && form->slot[0].kind == FK_YMM) {
        return false;
    }
    uint64_t xsave_rfbm = 0;   /* XSAVE/XRSTOR: the components the setup requests in EDX:EAX */
    g->len = 0;
    g->setup_regs = 0;
    g->failed = false;
    long depth_before = g->depth;

    ZydisEncoderRequest req;
    memset(&req, 0, sizeof(req));
    req.mnemonic = fuzz_form_source(m);
    req.operand_count = form->count;
    uint32_t operand_regs = 0;
    int mem_slot = -1;
    bool bt_family = FUZZ_IS(m, ZYDIS_MNEMONIC_BT, ZYDIS_MNEMONIC_BTS, ZYDIS_MNEMONIC_BTR, ZYDIS_MNEMONIC_BTC);

    /* Registers first, so the memory operand's setup can keep clear of a register the instruction names. */
    for (int i = 0; i < form->count; i++) {
        const FuzzSlot *s = &form->slot[i];
        ZydisEncoderOperand *op = &req.operands[i];
        op->type = ZYDIS_OPERAND_TYPE_REGISTER;
        int r;
        switch ((FuzzKind)s->kind) {
        case FK_GPR8:
            r = (int)fuzz_rand(g, 20);
            op->reg.value = r < 16 ? fuzz_gpr(8, r) : (ZydisRegister)(ZYDIS_REGISTER_AH + (r - 16));
            operand_regs |= 1u << (r < 16 ? r : r - 16);
            break;
        case FK_GPR16:
        case FK_GPR32:
        case FK_GPR64:
            r = (int)fuzz_rand(g, 16);
            op->reg.value = fuzz_gpr(s->kind == FK_GPR16 ? 16 : s->kind == FK_GPR32 ? 32 : 64, r);
            operand_regs |= 1u << r;
            break;
        case FK_CL:
            op->reg.value = ZYDIS_REGISTER_CL;
            operand_regs |= 1u << HR_RCX;
            break;
        case FK_XMM: op->reg.value = (ZydisRegister)(ZYDIS_REGISTER_XMM0 + fuzz_rand(g, 16)); break;
        case FK_YMM: op->reg.value = (ZydisRegister)(ZYDIS_REGISTER_YMM0 + fuzz_rand(g, 16)); break;
        case FK_MM: op->reg.value = (ZydisRegister)(ZYDIS_REGISTER_MM0 + fuzz_rand(g, 8)); break;
        case FK_ST0: op->reg.value = ZYDIS_REGISTER_ST0; break;
        case FK_STI: op->reg.value = (ZydisRegister)(ZYDIS_REGISTER_ST0 + fuzz_rand(g, 8)); break;
        case FK_IMM:
            op->type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
            op->imm.s = fuzz_imm(g, s->imm_bits ? s->imm_bits : 8);
            if (req.mnemonic != m) {   /* VBLENDV*: the fourth register */
                op->imm.u = fuzz_rand(g, 16) << 4;
            }
            if (m == ZYDIS_MNEMONIC_ENTER) {   /* a small frame, a small nesting level */
                op->imm.u = i == 0 ? fuzz_rand(g, 0x100) : fuzz_rand(g, 4) ? fuzz_rand(g, 4) : fuzz_rand(g, 256);
            }
            break;
        case FK_MEM:
            mem_slot = i;
            break;
        default:
            return false;
        }
    }
    /*
     * Saved x87 instruction/data pointers and opcode (FIP, FDP, FOP) are implementation specific: AMD
     * saves them only while an exception is pending, Intel always. Images are compared only while no x87
     * instruction has run yet (every pointer is then zero on both sides).
     */
    if ((g->x87_used || g->maybe_init) && fuzz_saves_x87_pointers(m)) {
        return false;
    }
    /* SHLD/SHRD of 16 bits by more than 16: result and flags undefined. */
    if (FUZZ_IS(m, ZYDIS_MNEMONIC_SHLD, ZYDIS_MNEMONIC_SHRD) && form->count == 3 &&
        (form->slot[0].kind == FK_GPR16 || (form->slot[0].kind == FK_MEM && form->slot[0].access == 2))) {
        uint64_t count = fuzz_rand(g, 17) | (fuzz_rand(g, 8) << 5);
        if (form->slot[2].kind == FK_CL) {
            fuzz_emit_load(g, HR_RCX, count | (harness_rng_next(g->rng) & ~0xffULL));
        } else {
            req.operands[2].imm.u = count;
        }
    }
    /* Instructions with implicit pointers. */
    if (fuzz_is_string(m) && form->count == 0) {
        fuzz_emit_load(g, HR_RSI, fuzz_pick_target(g, 8, 0x180));
        fuzz_emit_load(g, HR_RDI, fuzz_pick_target(g, 8, 0x180));
        if (form->rep_ok && fuzz_rand(g, 2)) {
            static const ZydisInstructionAttributes reps[] = {ZYDIS_ATTRIB_HAS_REP, ZYDIS_ATTRIB_HAS_REPE,
                                                              ZYDIS_ATTRIB_HAS_REPNE};
            req.prefixes = reps[fuzz_rand(g, 3)];
            fuzz_emit_load(g, HR_RCX, fuzz_rand(g, 18));
        }
    } else if (m == ZYDIS_MNEMONIC_XLAT) {
        fuzz_emit_load(g, HR_RBX, fuzz_pick_target(g, 256, 0));
    } else if (FUZZ_IS(m, ZYDIS_MNEMONIC_MASKMOVQ, ZYDIS_MNEMONIC_MASKMOVDQU, ZYDIS_MNEMONIC_VMASKMOVDQU)) {
        fuzz_emit_load(g, HR_RDI, fuzz_pick_target(g, 16, 0));
    } else if (FUZZ_IS(m, ZYDIS_MNEMONIC_POPF, ZYDIS_MNEMONIC_POPFQ)) {
        /* A flags image with only the bits a test may choose (TF would trap, AC would check alignment). */
        ZydisEncoderRequest push;
        memset(&push, 0, sizeof(push));
        push.mnemonic = ZYDIS_MNEMONIC_PUSH;
        push.operand_count = 1;
        push.operands[0].type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
        push.operands[0].imm.u = harness_rng_next(g->rng) & HARNESS_ALL_FLAGS;
        fuzz_emit_req(g, &push);
        g->depth += 8;
    } else if (m == ZYDIS_MNEMONIC_LEAVE) {
        /* RBP somewhere at or above the current stack pointer. */
        long up = (long)fuzz_rand(g, (uint64_t)(g->depth > 0 ? g->depth : 0) + 1) & ~7L;
        fuzz_emit_load(g, HR_RBP, HARNESS_STACK_TOP - (uint64_t)g->depth + (uint64_t)up);
        g->depth -= up + 8;
    } else if (m == ZYDIS_MNEMONIC_ENTER) {
        fuzz_emit_load(g, HR_RBP, HARNESS_STACK_TOP - (uint64_t)g->depth);
    } else if (FUZZ_IS(m, ZYDIS_MNEMONIC_DIV, ZYDIS_MNEMONIC_IDIV) && fuzz_rand(g, 4)) {
        fuzz_emit_load(g, HR_RDX, 0);   /* mostly a quotient that fits, so the sequence goes on */
    } else if (FUZZ_IS(m, ZYDIS_MNEMONIC_XSAVE, ZYDIS_MNEMONIC_XSAVE64, ZYDIS_MNEMONIC_XSAVEOPT,
                       ZYDIS_MNEMONIC_XSAVEOPT64, ZYDIS_MNEMONIC_XSAVEC, ZYDIS_MNEMONIC_XSAVEC64,
                       ZYDIS_MNEMONIC_XRSTOR, ZYDIS_MNEMONIC_XRSTOR64)) {
        /* Only the components the model has (the host's AVX-512 state is not the guest's). XSAVEOPT and
           XSAVEC may skip a component in its initial configuration, and whether the x87 state (initial in
           half the inputs) counts as such is the implementation's choice: they save SSE and AVX only.
           XSAVE's XSTATE_BV is the same choice (XINUSE: Intel reports the x87 state loaded by the harness's
           FXRSTOR as in use, whatever its values; ember, from the values), so XSAVE (and the XSAVE before
           an XRSTOR) saves it only after the setup takes it out of its initial configuration below. */
        bool opt = !FUZZ_IS(m, ZYDIS_MNEMONIC_XSAVE, ZYDIS_MNEMONIC_XSAVE64, ZYDIS_MNEMONIC_XRSTOR,
                            ZYDIS_MNEMONIC_XRSTOR64);
        xsave_rfbm = fuzz_rand(g, 8) & (opt ? 6 : 7);
        fuzz_emit_load(g, HR_RAX, xsave_rfbm);
        fuzz_emit_load(g, HR_RDX, 0);
    }

    if (mem_slot >= 0) {
        const FuzzSlot *s = &form->slot[mem_slot];
        unsigned access = s->access ? s->access : s->size;
        bool lea = m == ZYDIS_MNEMONIC_LEA;
        if (FUZZ_IS(m, ZYDIS_MNEMONIC_XSAVE, ZYDIS_MNEMONIC_XSAVE64, ZYDIS_MNEMONIC_XSAVEOPT,
                    ZYDIS_MNEMONIC_XSAVEOPT64, ZYDIS_MNEMONIC_XSAVEC, ZYDIS_MNEMONIC_XSAVEC64,
                    ZYDIS_MNEMONIC_XRSTOR, ZYDIS_MNEMONIC_XRSTOR64)) {
            access = 1024;
        }
        if (access > HARNESS_DATA_SIZE / 2) {
            return false;
        }
        unsigned margin = 0;
        uint32_t avoid = operand_regs | (1u << HR_RAX) | (1u << HR_RDX);
        if (bt_family && form->count == 2 && req.operands[1].type == ZYDIS_OPERAND_TYPE_REGISTER) {
            /* A register bit offset reaches far: keep it within 64 bytes either side. */
            margin = 64;
            ZydisRegister br = req.operands[1].reg.value;
            int bi = ZydisRegisterGetId(br);
            int w = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, br);
            int64_t off = (int64_t)fuzz_rand(g, 1024) - 512;
            fuzz_emit_load(g, bi, (uint64_t)off & (w == 64 ? ~0ULL : w == 32 ? 0xffffffffULL : 0xffffULL));
        }
        uint64_t ea = fuzz_pick_target(g, access, margin);
        if (fuzz_always_aligned(m)) {
            ea &= ~15ULL;
        }
        if (xsave_rfbm & 1) {
            /* FLDCW [ea] (the save overwrites it): a precision control other than the initial 64 bits, all
               exceptions masked. A control instruction: FIP, FDP and FOP stay as they were (zero). */
            uint32_t fcw = 0x7f | ((uint32_t)fuzz_rand(g, 2) << 9) | ((uint32_t)fuzz_rand(g, 4) << 10);
            fuzz_emit_store32(g, ea, fcw, 16);
            fuzz_emit_mem_insn(g, ZYDIS_MNEMONIC_FLDCW, ea, 2);
        }
        /* Restores load what a save of the same kind stored just before. */
        static const struct { ZydisMnemonic restore, save; } pairs[] = {
            {ZYDIS_MNEMONIC_FXRSTOR, ZYDIS_MNEMONIC_FXSAVE}, {ZYDIS_MNEMONIC_FXRSTOR64, ZYDIS_MNEMONIC_FXSAVE64},
            {ZYDIS_MNEMONIC_XRSTOR, ZYDIS_MNEMONIC_XSAVE}, {ZYDIS_MNEMONIC_XRSTOR64, ZYDIS_MNEMONIC_XSAVE64},
            {ZYDIS_MNEMONIC_FRSTOR, ZYDIS_MNEMONIC_FNSAVE}, {ZYDIS_MNEMONIC_FLDENV, ZYDIS_MNEMONIC_FNSTENV},
        };
        for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
            if (pairs[i].restore == m) {
                if (access >= 64 || fuzz_rand(g, 8)) {
                    ea = (ea + 63) & ~63ULL;
                }
                /* XSAVE writes only the XSTATE_BV bits it saves; XRSTOR wants the rest of the header zero. */
                if (access >= 576) {
                    for (int k = 0; k < 64; k += 4) {
                        fuzz_emit_store32(g, ea + 512 + (uint64_t)k, 0, 32);
                    }
                }
                fuzz_emit_mem_insn(g, pairs[i].save, ea, s->size);
            }
        }
        if (FUZZ_IS(m, ZYDIS_MNEMONIC_LDMXCSR, ZYDIS_MNEMONIC_VLDMXCSR)) {
            uint32_t v = 0x1f80 | ((uint32_t)harness_rng_next(g->rng) & 0xe07f);
            if (fuzz_unmasked_exceptions && fuzz_rand(g, 16) == 0) {
                v = (uint32_t)harness_rng_next(g->rng) & 0xffff;   /* unmasked exceptions, now and then */
            }
            fuzz_emit_store32(g, ea, v, 32);
        } else if (m == ZYDIS_MNEMONIC_FLDCW) {
            fuzz_emit_store32(g, ea, 0x7f | ((uint32_t)harness_rng_next(g->rng) & 0xf00), 16);
        }
        req.operands[mem_slot] = fuzz_mem_operand(g, s->size, ea, lea, avoid);
        if (form->lock_ok && fuzz_rand(g, 3) == 0) {
            req.prefixes |= ZYDIS_ATTRIB_HAS_LOCK;
        }
    }
    if (g->failed) {
        g->depth = depth_before;
        return false;
    }

    return fuzz_finish_unit(g, &req, m, depth_before);
}

static bool fuzz_build_any(FuzzGen *g, ZydisMnemonic m)
{
    switch (fuzz_role(m)) {
    case FUZZ_ROLE_CONTROL: return fuzz_control_unit(g, m);
    case FUZZ_ROLE_MASKED: return fuzz_masked_unit(g, m);
    case FUZZ_ROLE_SYSCALL: return fuzz_syscall_unit(g);
    case FUZZ_ROLE_FAULT: return false;   /* only as the last unit */
    default: return fuzz_build_unit(g, m);
    }
}

/* The usable mnemonics that fault (drawn for the last unit); from `only` when it is given. */
static size_t fuzz_fault_pool(const FuzzGenOptions *opt, const ZydisMnemonic **out)
{
    static ZydisMnemonic all[64], some[64];
    static size_t nall;
    static bool listed;
    if (!listed) {
        const FuzzInsn *insns;
        size_t usable;
        fuzz_insns(&insns, &usable);
        for (size_t i = 0; i < usable && nall < 64; i++) {
            if (fuzz_role(insns[i].mnemonic) == FUZZ_ROLE_FAULT) {
                all[nall++] = insns[i].mnemonic;
            }
        }
        listed = true;
    }
    if (!opt->only) {
        *out = all;
        return nall;
    }
    size_t n = 0;
    for (size_t i = 0; i < opt->nonly && n < 64; i++) {
        if (fuzz_is(opt->only[i], all, nall)) {
            some[n++] = opt->only[i];
        }
    }
    *out = some;
    return n;
}

void fuzz_generate(FuzzSeq *seq, HarnessRng *rng, const FuzzGenOptions *opt)
{
    FuzzGen g;
    memset(&g, 0, sizeof(g));
    g.seq = seq;
    g.rng = rng;
    ZydisDecoderInit(&g.dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    seq->len = 0;
    seq->nunits = 0;
    const FuzzInsn *insns;
    size_t usable;
    fuzz_insns(&insns, &usable);
    int want = opt->units > 0 && opt->units <= FUZZ_MAX_UNITS ? opt->units : 32;
    /* A quarter of the sequences end in an instruction that faults or traps in user mode. They are short,
       so that an earlier fault (#DE, an unaligned operand...) rarely keeps the last unit from running. */
    const ZydisMnemonic *faults;
    size_t nfaults = fuzz_fault_pool(opt, &faults);
    bool end_in_fault = nfaults && fuzz_rand(&g, opt->only ? 2 : 4) == 0;
    if (end_in_fault) {
        want = 1 + (int)fuzz_rand(&g, (uint64_t)(want < 8 ? want : 8));
    }
    int misses = 0;
    while (seq->nunits < want && misses < 64 * want) {
        ZydisMnemonic m;
        if (opt->only && opt->nonly) {
            m = opt->only[fuzz_rand(&g, opt->nonly)];
        } else if (usable) {
            m = insns[fuzz_rand(&g, usable)].mnemonic;
        } else {
            break;
        }
        if (!fuzz_build_any(&g, m)) {
            misses++;
        }
    }
    if (end_in_fault && seq->nunits < FUZZ_MAX_UNITS) {
        g.fault_unit = true;
        for (int tries = 0; tries < 8 && !fuzz_fault_unit(&g, faults[fuzz_rand(&g, nfaults)]); tries++) {
        }
        g.fault_unit = false;
    }
}
