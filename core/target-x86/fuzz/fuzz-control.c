/*
 * Units the operand-form path cannot build, because what they do depends on where they are or on the
 * moment they run:
 *
 *   - control flow (Jcc, JRCXZ/JECXZ, JMP, CALL, RET, LOOP*): every target lies inside the unit. A forward
 *     branch skips a short body of flag-free register changes (so taken and not taken leave different
 *     registers); a LOOP may also go backward over its body with a small count in RCX; a CALL reaches a
 *     later point of the unit that POPs its return address or RETurns (RET imm16 after lowering RSP by the
 *     same amount), so the stack is balanced after the unit. Indirect targets come from LEA [RIP+target],
 *     which moves with the unit when the shrinker moves it. The flags and RCX that earlier units left
 *     decide the conditions; JRCXZ/LOOP get 0, 1 or 2 in RCX half of the time, and a third of the
 *     conditional units compare two registers (or one with itself) first, so both outcomes occur.
 *   - faults (UD0/1/2, INT3, INT1, INT n, HLT, the privileged instructions): only as a sequence's last
 *     unit; the harness compares the signal, vector, si_code, faulting RIP and the state at the fault.
 *     INT 0x80 is never generated: natively it is the ia32 system call gate, not a fault.
 *   - masked outputs (RDTSC, RDTSCP, RDRAND, RDSEED, CPUID, XGETBV): the instruction runs, then SHRX
 *     replaces each nondeterministic or model-specific output register by its bits above what the
 *     instruction writes (which must be zero, or kept for a 16-bit RDRAND) and `mov r32, 0` clears a
 *     64-bit one. Flags (RDRAND's CF and cleared flags) and everything else are compared as they are.
 *   - SYSCALL: RAX is loaded right before it with a call the harness allows (harness_syscall_allowed: the
 *     same result natively and emulated, no state changed); the other argument registers sometimes get
 *     random values, which those calls ignore. RCX and R11 (next RIP, RFLAGS) are compared as they are;
 *     RFLAGS must hold no undefined flag then (fuzz-flags.c treats SYSCALL as reading all of them), so a
 *     CMP defines the arithmetic flags first when an earlier unit left some undefined.
 */
#include <string.h>

#include "core/target-x86/cpuid.h"
#include "core/target-x86/fuzz/fuzz-internal.h"
#include "core/target-x86/zydis-operand.h"

FuzzRole fuzz_role(ZydisMnemonic m)
{
    if (FUZZ_IS(m, ZYDIS_MNEMONIC_JMP, ZYDIS_MNEMONIC_JO, ZYDIS_MNEMONIC_JNO, ZYDIS_MNEMONIC_JB, ZYDIS_MNEMONIC_JNB,
                ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_JNZ, ZYDIS_MNEMONIC_JBE, ZYDIS_MNEMONIC_JNBE, ZYDIS_MNEMONIC_JS,
                ZYDIS_MNEMONIC_JNS, ZYDIS_MNEMONIC_JP, ZYDIS_MNEMONIC_JNP, ZYDIS_MNEMONIC_JL, ZYDIS_MNEMONIC_JNL,
                ZYDIS_MNEMONIC_JLE, ZYDIS_MNEMONIC_JNLE, ZYDIS_MNEMONIC_JRCXZ, ZYDIS_MNEMONIC_JECXZ,
                ZYDIS_MNEMONIC_LOOP, ZYDIS_MNEMONIC_LOOPE, ZYDIS_MNEMONIC_LOOPNE, ZYDIS_MNEMONIC_CALL,
                ZYDIS_MNEMONIC_RET)) {
        return FUZZ_ROLE_CONTROL;
    }
    if (FUZZ_IS(m, ZYDIS_MNEMONIC_UD0, ZYDIS_MNEMONIC_UD1, ZYDIS_MNEMONIC_UD2, ZYDIS_MNEMONIC_INT3,
                ZYDIS_MNEMONIC_INT1, ZYDIS_MNEMONIC_INT, ZYDIS_MNEMONIC_INTO, ZYDIS_MNEMONIC_HLT, ZYDIS_MNEMONIC_IN,
                ZYDIS_MNEMONIC_OUT, ZYDIS_MNEMONIC_INSB, ZYDIS_MNEMONIC_INSW, ZYDIS_MNEMONIC_INSD,
                ZYDIS_MNEMONIC_OUTSB, ZYDIS_MNEMONIC_OUTSW, ZYDIS_MNEMONIC_OUTSD, ZYDIS_MNEMONIC_CLI,
                ZYDIS_MNEMONIC_STI, ZYDIS_MNEMONIC_CLTS, ZYDIS_MNEMONIC_LGDT, ZYDIS_MNEMONIC_LIDT,
                ZYDIS_MNEMONIC_LLDT, ZYDIS_MNEMONIC_LTR, ZYDIS_MNEMONIC_LMSW, ZYDIS_MNEMONIC_INVD,
                ZYDIS_MNEMONIC_WBINVD, ZYDIS_MNEMONIC_INVLPG, ZYDIS_MNEMONIC_RDMSR, ZYDIS_MNEMONIC_WRMSR,
                ZYDIS_MNEMONIC_RDPMC, ZYDIS_MNEMONIC_SWAPGS, ZYDIS_MNEMONIC_SYSRET, ZYDIS_MNEMONIC_SYSEXIT,
                ZYDIS_MNEMONIC_XSETBV, ZYDIS_MNEMONIC_MONITOR, ZYDIS_MNEMONIC_MWAIT)) {
        return FUZZ_ROLE_FAULT;
    }
    if (FUZZ_IS(m, ZYDIS_MNEMONIC_RDTSC, ZYDIS_MNEMONIC_RDTSCP, ZYDIS_MNEMONIC_RDRAND, ZYDIS_MNEMONIC_RDSEED,
                ZYDIS_MNEMONIC_CPUID, ZYDIS_MNEMONIC_XGETBV, ZYDIS_MNEMONIC_RDPID)) {
        return FUZZ_ROLE_MASKED;
    }
    if (m == ZYDIS_MNEMONIC_SYSCALL) {
        return FUZZ_ROLE_SYSCALL;
    }
    return FUZZ_ROLE_PLAIN;
}

/* --- encoding with labels -------------------------------------------------------------------------------- */

/* A relative field to fill in once its label's place is known. */
typedef struct FuzzFix {
    size_t field, end;          /* where the field is and where its instruction ends, in g->buf */
    int size;                   /* 1 or 4 bytes */
    int label;
} FuzzFix;

typedef struct FuzzAsm {
    FuzzFix fix[8];
    int nfix;
    long label[4];              /* offsets in g->buf; -1 until placed */
} FuzzAsm;

static void fuzz_req(ZydisEncoderRequest *r, ZydisMnemonic m, int n)
{
    memset(r, 0, sizeof(*r));
    r->mnemonic = m;
    r->operand_count = (ZyanU8)n;
}

/* Encode with the relative displacement (branch or RIP-relative) as given, not as an absolute target. */
static bool fuzz_emit_raw(FuzzGen *g, ZydisEncoderRequest *req)
{
    req->machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req->allowed_encodings = ZYDIS_ENCODABLE_ENCODING_LEGACY;
    ZyanUSize n = sizeof(g->buf) - g->len;
    if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(req, g->buf + g->len, &n))) {
        g->failed = true;
        return false;
    }
    g->len += n;
    return true;
}

/* Emit an instruction whose last `size` bytes are a displacement to `label` (filled in by fuzz_fix_all). */
static bool fuzz_emit_to(FuzzGen *g, FuzzAsm *a, ZydisEncoderRequest *req, int label, int size)
{
    if (!fuzz_emit_raw(g, req) || a->nfix >= (int)(sizeof(a->fix) / sizeof(a->fix[0]))) {
        g->failed = true;
        return false;
    }
    a->fix[a->nfix++] = (FuzzFix){.field = g->len - (size_t)size, .end = g->len, .size = size, .label = label};
    return true;
}

static void fuzz_place(FuzzGen *g, FuzzAsm *a, int label)
{
    a->label[label] = (long)g->len;
}

static bool fuzz_fix_all(FuzzGen *g, FuzzAsm *a)
{
    for (int i = 0; i < a->nfix; i++) {
        const FuzzFix *f = &a->fix[i];
        if (a->label[f->label] < 0) {
            return false;
        }
        int64_t d = a->label[f->label] - (long)f->end;
        if (f->size == 1) {
            if (d < -128 || d > 127) {
                return false;
            }
            g->buf[f->field] = (uint8_t)(int8_t)d;
        } else {
            int32_t d32 = (int32_t)d;
            memcpy(g->buf + f->field, &d32, 4);
        }
    }
    return true;
}

/* A relative branch request to be fixed up: rel8 (short) or rel32 (near). */
static void fuzz_branch_req(ZydisEncoderRequest *r, ZydisMnemonic m, bool rel8)
{
    fuzz_req(r, m, 1);
    r->operands[0] = zop_imm(0);
    r->branch_type = rel8 ? ZYDIS_BRANCH_TYPE_SHORT : ZYDIS_BRANCH_TYPE_NEAR;
    r->branch_width = rel8 ? ZYDIS_BRANCH_WIDTH_8 : ZYDIS_BRANCH_WIDTH_32;
}

/* lea reg, [rip + label] */
static bool fuzz_emit_lea_label(FuzzGen *g, FuzzAsm *a, int reg, int label)
{
    ZydisEncoderRequest r;
    fuzz_req(&r, ZYDIS_MNEMONIC_LEA, 2);
    r.operands[0] = zop_reg(fuzz_gpr(64, reg));
    r.operands[1] = zop_mem(ZYDIS_REGISTER_RIP, 0x7fffffff, 8);   /* a disp32, fixed up */
    g->setup_regs |= 1u << reg;
    return fuzz_emit_to(g, a, &r, label, 4);
}

/*
 * 1-3 instructions that change registers, never flags, memory or RCX (a loop's counter): what a taken
 * branch skips. NOT, LEA, MOV r32, imm32 and BSWAP.
 */
static bool fuzz_emit_body(FuzzGen *g, uint32_t avoid)
{
    int n = 1 + (int)fuzz_rand(g, 3);
    for (int i = 0; i < n; i++) {
        int reg = fuzz_pick_free(g, avoid | (1u << HR_RCX));
        ZydisEncoderRequest r;
        switch (fuzz_rand(g, 4)) {
        case 0:
            fuzz_req(&r, ZYDIS_MNEMONIC_NOT, 1);
            r.operands[0] = zop_reg(fuzz_gpr(fuzz_rand(g, 2) ? 64 : 32, reg));
            break;
        case 1:
            fuzz_req(&r, ZYDIS_MNEMONIC_LEA, 2);
            r.operands[0] = zop_reg(fuzz_gpr(64, reg));
            r.operands[1] = zop_mem(fuzz_gpr(64, reg), (int8_t)fuzz_rand(g, 256), 8);
            break;
        case 2:
            fuzz_req(&r, ZYDIS_MNEMONIC_MOV, 2);
            r.operands[0] = zop_reg(fuzz_gpr(32, reg));
            r.operands[1] = zop_imm(harness_rng_next(g->rng) & 0xffffffffULL);
            break;
        default:
            fuzz_req(&r, ZYDIS_MNEMONIC_BSWAP, 1);
            r.operands[0] = zop_reg(fuzz_gpr(fuzz_rand(g, 2) ? 64 : 32, reg));
            break;
        }
        if (!fuzz_emit_raw(g, &r)) {
            return false;
        }
    }
    return true;
}

static void fuzz_unit_start(FuzzGen *g, FuzzAsm *a)
{
    g->len = 0;
    g->setup_regs = 0;
    g->failed = false;
    memset(a, 0, sizeof(*a));
    for (size_t i = 0; i < sizeof(a->label) / sizeof(a->label[0]); i++) {
        a->label[i] = -1;
    }
}

static bool fuzz_unit_end(FuzzGen *g, FuzzAsm *a, size_t insn_at, long depth_before)
{
    if (g->failed || !fuzz_fix_all(g, a)) {
        g->depth = depth_before;
        return false;
    }
    return fuzz_append_unit(g, insn_at, depth_before, depth_before);
}

/* --- control flow ---------------------------------------------------------------------------------------- */

static bool fuzz_uses_rcx(ZydisMnemonic m)
{
    return FUZZ_IS(m, ZYDIS_MNEMONIC_JRCXZ, ZYDIS_MNEMONIC_JECXZ, ZYDIS_MNEMONIC_LOOP, ZYDIS_MNEMONIC_LOOPE,
                   ZYDIS_MNEMONIC_LOOPNE);
}

/* Jcc / JRCXZ / JECXZ / LOOPcc / JMP rel over a body; LOOPcc also backward over its body. */
static bool fuzz_branch_unit(FuzzGen *g, ZydisMnemonic m)
{
    FuzzAsm a;
    long depth_before = g->depth;
    fuzz_unit_start(g, &a);
    bool is_loop = FUZZ_IS(m, ZYDIS_MNEMONIC_LOOP, ZYDIS_MNEMONIC_LOOPE, ZYDIS_MNEMONIC_LOOPNE);
    bool ecx = m == ZYDIS_MNEMONIC_JECXZ || (is_loop && fuzz_rand(g, 3) == 0);   /* 67h: ECX only */
    bool backward = is_loop && fuzz_rand(g, 2);
    if (backward || (fuzz_uses_rcx(m) && fuzz_rand(g, 2))) {
        /* A small count (a backward loop runs it down); with 67h the upper half must not matter. */
        uint64_t count = backward ? 1 + fuzz_rand(g, 4) : fuzz_rand(g, 3);
        if (ecx || fuzz_rand(g, 4) == 0) {
            count |= ecx ? harness_rng_next(g->rng) << 32 : 0;
        }
        fuzz_emit_load(g, HR_RCX, count);
    }
    if (m != ZYDIS_MNEMONIC_JMP && fuzz_rand(g, 3) == 0) {
        /* Now and then the unit's own comparison: random results rarely set ZF, which JZ, JBE, JLE,
           LOOPE and LOOPNE need to see both ways. CMP of a register with itself gives ZF = PF = 1. */
        ZydisEncoderRequest cmp;
        int x = fuzz_pick_free(g, 1u << HR_RCX), y = fuzz_rand(g, 2) ? x : fuzz_pick_free(g, 1u << HR_RCX);
        fuzz_req(&cmp, fuzz_rand(g, 2) ? ZYDIS_MNEMONIC_CMP : ZYDIS_MNEMONIC_TEST, 2);
        cmp.operands[0] = zop_reg(fuzz_gpr(64, x));
        cmp.operands[1] = zop_reg(fuzz_gpr(64, y));
        fuzz_emit_raw(g, &cmp);
    }
    ZydisEncoderRequest br;
    bool rel8 = fuzz_uses_rcx(m) || fuzz_rand(g, 2);
    fuzz_branch_req(&br, m, rel8);
    if (ecx && m != ZYDIS_MNEMONIC_JECXZ) {
        br.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_32;
    }
    size_t insn_at;
    if (backward) {
        fuzz_place(g, &a, 0);
        if (!fuzz_emit_body(g, 0)) {
            return false;
        }
        insn_at = g->len;
        fuzz_emit_to(g, &a, &br, 0, 1);
    } else {
        insn_at = g->len;
        fuzz_emit_to(g, &a, &br, 0, rel8 ? 1 : 4);
        fuzz_emit_body(g, 0);
        fuzz_place(g, &a, 0);
    }
    return fuzz_unit_end(g, &a, insn_at, depth_before);
}

/* JMP or CALL through a register or memory holding label's address (loaded by LEA, stored to the data
   buffer for the memory form). */
static bool fuzz_emit_indirect(FuzzGen *g, FuzzAsm *a, ZydisMnemonic m, bool mem, int label, size_t *insn_at)
{
    int reg = fuzz_pick_free(g, 0);
    if (!fuzz_emit_lea_label(g, a, reg, label)) {
        return false;
    }
    ZydisEncoderRequest r;
    if (mem) {
        uint64_t ea = fuzz_pick_target(g, 8, 0) & ~7ULL;
        fuzz_req(&r, ZYDIS_MNEMONIC_MOV, 2);
        r.operands[0] = zop_mem(ZYDIS_REGISTER_NONE, (int64_t)ea, 8);
        r.operands[1] = zop_reg(fuzz_gpr(64, reg));
        if (!fuzz_emit_req(g, &r)) {
            return false;
        }
        ZydisEncoderOperand op = fuzz_mem_operand(g, 8, ea, false, 0);
        fuzz_req(&r, m, 1);
        r.operands[0] = op;
    } else {
        fuzz_req(&r, m, 1);
        r.operands[0] = zop_reg(fuzz_gpr(64, reg));
    }
    *insn_at = g->len;
    return fuzz_emit_req(g, &r);
}

static bool fuzz_jmp_unit(FuzzGen *g)
{
    int how = (int)fuzz_rand(g, 4);
    if (how < 2) {
        return fuzz_branch_unit(g, ZYDIS_MNEMONIC_JMP);
    }
    FuzzAsm a;
    long depth_before = g->depth;
    fuzz_unit_start(g, &a);
    size_t insn_at = 0;
    if (!fuzz_emit_indirect(g, &a, ZYDIS_MNEMONIC_JMP, how == 3, 0, &insn_at) || !fuzz_emit_body(g, 0)) {
        g->depth = depth_before;
        return false;
    }
    fuzz_place(g, &a, 0);
    return fuzz_unit_end(g, &a, insn_at, depth_before);
}

/*
 * CALL (rel32, register or memory) to a later point F, in one of three shapes:
 *   call F; body; F: pop reg                                 (the return address lands in a register)
 *   call F; jmp E; F: body; ret; E:
 *   lea rsp, [rsp-k]; call F; jmp E; F: body; ret k; E:
 * The tested instruction is the CALL, or for m == RET the RET.
 */
static bool fuzz_call_unit(FuzzGen *g, ZydisMnemonic m)
{
    enum { F = 0, E = 1 };
    FuzzAsm a;
    long depth_before = g->depth;
    if (g->depth + 8 + 64 > FUZZ_STACK_BELOW) {
        return false;
    }
    fuzz_unit_start(g, &a);
    int shape = m == ZYDIS_MNEMONIC_RET ? 1 + (int)fuzz_rand(g, 2) : (int)fuzz_rand(g, 3);
    uint64_t k = shape == 2 ? (fuzz_rand(g, 2) ? 8 * fuzz_rand(g, 7) : fuzz_rand(g, 64)) : 0;
    ZydisEncoderRequest r;
    if (shape == 2) {
        fuzz_req(&r, ZYDIS_MNEMONIC_LEA, 2);
        r.operands[0] = zop_reg(ZYDIS_REGISTER_RSP);
        r.operands[1] = zop_mem(ZYDIS_REGISTER_RSP, -(int64_t)k, 8);
        fuzz_emit_raw(g, &r);
        g->depth += (long)k;   /* an [rsp + disp] operand of the CALL sees the lowered RSP */
    }
    size_t call_at = g->len, insn_at;
    int how = (int)fuzz_rand(g, 3);
    if (how == 0) {
        ZydisEncoderRequest br;
        fuzz_branch_req(&br, ZYDIS_MNEMONIC_CALL, false);
        call_at = g->len;
        fuzz_emit_to(g, &a, &br, F, 4);
    } else if (!fuzz_emit_indirect(g, &a, ZYDIS_MNEMONIC_CALL, how == 2, F, &call_at)) {
        g->depth = depth_before;
        return false;
    }
    insn_at = call_at;
    if (shape == 0) {
        fuzz_emit_body(g, 0);
        fuzz_place(g, &a, F);
        fuzz_req(&r, ZYDIS_MNEMONIC_POP, 1);
        r.operands[0] = zop_reg(fuzz_gpr(64, fuzz_pick_free(g, 0)));
        fuzz_emit_raw(g, &r);
    } else {
        ZydisEncoderRequest br;
        fuzz_branch_req(&br, ZYDIS_MNEMONIC_JMP, true);
        fuzz_emit_to(g, &a, &br, E, 1);
        fuzz_place(g, &a, F);
        fuzz_emit_body(g, 0);
        if (m == ZYDIS_MNEMONIC_RET) {
            insn_at = g->len;
        }
        fuzz_req(&r, ZYDIS_MNEMONIC_RET, shape == 2 ? 1 : 0);
        if (shape == 2) {
            r.operands[0] = zop_imm(k);
        }
        fuzz_emit_raw(g, &r);
        fuzz_place(g, &a, E);
    }
    return fuzz_unit_end(g, &a, insn_at, depth_before);
}

bool fuzz_control_unit(FuzzGen *g, ZydisMnemonic m)
{
    if (m == ZYDIS_MNEMONIC_JMP) {
        return fuzz_jmp_unit(g);
    }
    if (m == ZYDIS_MNEMONIC_CALL || m == ZYDIS_MNEMONIC_RET) {
        return fuzz_call_unit(g, m);
    }
    return fuzz_branch_unit(g, m);
}

/* --- faults ---------------------------------------------------------------------------------------------- */

/* The accumulator of a width, for IN/OUT. */
static ZydisRegister fuzz_acc(FuzzGen *g)
{
    static const ZydisRegister acc[] = {ZYDIS_REGISTER_AL, ZYDIS_REGISTER_AX, ZYDIS_REGISTER_EAX};
    return acc[fuzz_rand(g, 3)];
}

bool fuzz_fault_unit(FuzzGen *g, ZydisMnemonic m)
{
    if (!FUZZ_IS(m, ZYDIS_MNEMONIC_IN, ZYDIS_MNEMONIC_OUT, ZYDIS_MNEMONIC_INT)) {
        return fuzz_build_unit(g, m);
    }
    long depth_before = g->depth;
    g->len = 0;
    g->setup_regs = 0;
    g->failed = false;
    ZydisEncoderRequest r;
    ZydisEncoderOperand port = fuzz_rand(g, 2) ? zop_imm(fuzz_rand(g, 256)) : zop_reg(ZYDIS_REGISTER_DX);
    if (m == ZYDIS_MNEMONIC_IN) {
        fuzz_req(&r, m, 2);
        r.operands[0] = zop_reg(fuzz_acc(g));
        r.operands[1] = port;
    } else if (m == ZYDIS_MNEMONIC_OUT) {
        fuzz_req(&r, m, 2);
        r.operands[0] = port;
        r.operands[1] = zop_reg(fuzz_acc(g));
    } else {
        /* Vectors 3 and 4 are the user-callable traps; 0x80 is Linux's ia32 system call gate. */
        uint64_t n = fuzz_rand(g, 4) == 0 ? 3 + fuzz_rand(g, 2) : fuzz_rand(g, 256);
        if (n == 0x80) {
            n = 0x81;
        }
        fuzz_req(&r, m, 1);
        r.operands[0] = zop_imm(n);
    }
    return fuzz_finish_unit(g, &r, m, depth_before);
}

/* --- masked outputs -------------------------------------------------------------------------------------- */

bool fuzz_masked_unit(FuzzGen *g, ZydisMnemonic m)
{
    static int shrx_ok = -1;
    if (shrx_ok < 0) {
        shrx_ok = x86_model_has_feature(NULL, X86_FEAT_BMI2) && x86_host_has_feature(X86_FEAT_BMI2);
    }
    if (!shrx_ok) {
        return false;
    }
    long depth_before = g->depth;
    g->len = 0;
    g->setup_regs = 0;
    g->failed = false;
    uint32_t shr32 = 0, shr16 = 0, zero = 0;   /* GPR masks of the clean-up */
    ZydisEncoderRequest r;
    fuzz_req(&r, m, 0);
    switch (m) {
    case ZYDIS_MNEMONIC_RDTSC:
        shr32 = 1u << HR_RAX | 1u << HR_RDX;
        break;
    case ZYDIS_MNEMONIC_RDTSCP:   /* ECX: the host's TSC_AUX (its CPU number), which may change between runs */
        shr32 = 1u << HR_RAX | 1u << HR_RDX | 1u << HR_RCX;
        break;
    case ZYDIS_MNEMONIC_CPUID:
        if (fuzz_rand(g, 2)) {
            static const uint32_t leaves[] = {0, 1, 7, 0xd, 0x80000000u, 0x80000001u, 0x80000008u};
            fuzz_emit_load(g, HR_RAX, leaves[fuzz_rand(g, sizeof(leaves) / sizeof(leaves[0]))]);
            fuzz_emit_load(g, HR_RCX, fuzz_rand(g, 3));
        }
        shr32 = 1u << HR_RAX | 1u << HR_RBX | 1u << HR_RCX | 1u << HR_RDX;
        break;
    case ZYDIS_MNEMONIC_RDPID: {   /* the host's TSC_AUX (its CPU number), which may change between runs */
        int reg = fuzz_pick_free(g, 0);
        fuzz_req(&r, m, 1);
        r.operands[0] = zop_reg(fuzz_gpr(64, reg));
        zero = 1u << reg;
        break;
    }
    case ZYDIS_MNEMONIC_XGETBV:
        /* XCR0 (the model's differs from the host's by design); now and then an XCR that does not exist
           (#GP on both). */
        fuzz_emit_load(g, HR_RCX, fuzz_rand(g, 8) ? 0 : 2 + fuzz_rand(g, 0x1000));
        shr32 = 1u << HR_RAX | 1u << HR_RDX;
        break;
    default: {   /* RDRAND, RDSEED r16/r32/r64 */
        int reg = fuzz_pick_free(g, 0);
        int w = 16 << fuzz_rand(g, 3);
        fuzz_req(&r, m, 1);
        r.operands[0] = zop_reg(fuzz_gpr(w, reg));
        if (w == 16) {
            shr16 = 1u << reg;
        } else if (w == 32) {
            shr32 = 1u << reg;
        } else {
            zero = 1u << reg;
        }
        break;
    }
    }
    size_t insn_at = g->len;
    if (!fuzz_emit_req(g, &r)) {
        g->depth = depth_before;
        return false;
    }
    for (int pass = 0; pass < 2; pass++) {
        uint32_t set = pass == 0 ? shr32 : shr16;
        if (!set) {
            continue;
        }
        int count = fuzz_pick_free(g, shr32 | shr16 | zero);
        fuzz_req(&r, ZYDIS_MNEMONIC_MOV, 2);
        r.operands[0] = zop_reg(fuzz_gpr(32, count));
        r.operands[1] = zop_imm(pass == 0 ? 32 : 16);
        fuzz_emit_req(g, &r);
        for (int i = 0; i < 16; i++) {
            if (set & (1u << i)) {
                fuzz_req(&r, ZYDIS_MNEMONIC_SHRX, 3);
                r.operands[0] = zop_reg(fuzz_gpr(64, i));
                r.operands[1] = zop_reg(fuzz_gpr(64, i));
                r.operands[2] = zop_reg(fuzz_gpr(64, count));
                r.allowed_encodings = ZYDIS_ENCODABLE_ENCODING_VEX;
                fuzz_emit_req(g, &r);
            }
        }
    }
    for (int i = 0; i < 16; i++) {
        if (zero & (1u << i)) {
            fuzz_req(&r, ZYDIS_MNEMONIC_MOV, 2);
            r.operands[0] = zop_reg(fuzz_gpr(32, i));
            r.operands[1] = zop_imm(0);
            fuzz_emit_req(g, &r);
        }
    }
    if (g->failed) {
        g->depth = depth_before;
        return false;
    }
    return fuzz_append_unit(g, insn_at, depth_before, g->depth);
}

/* --- system calls ---------------------------------------------------------------------------------------- */

bool fuzz_syscall_unit(FuzzGen *g)
{
    long depth_before = g->depth;
    g->len = 0;
    g->setup_regs = 0;
    g->failed = false;
    /* The argument registers (RDI, RSI, RDX, R10, R8, R9): the allowed calls ignore them. */
    static const int args[] = {HR_RDI, HR_RSI, HR_RDX, HR_R10, HR_R8, HR_R9};
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
        if (fuzz_rand(g, 4) == 0) {
            fuzz_emit_load(g, args[i], fuzz_rand(g, 2) ? fuzz_rand(g, 256) : fuzz_rand(g, UINT64_MAX));
        }
    }
    fuzz_emit_load(g, HR_RAX, harness_syscall_numbers[fuzz_rand(g, harness_syscall_count)]);
    ZydisEncoderRequest r;
    if (g->undef.rflags) {
        /* R11 gets RFLAGS whole: an earlier MUL, DIV... left flags undefined, so define them first. */
        fuzz_req(&r, ZYDIS_MNEMONIC_CMP, 2);
        r.operands[0] = zop_reg(ZYDIS_REGISTER_RAX);
        r.operands[1] = zop_imm(fuzz_rand(g, 0x80));
        fuzz_emit_req(g, &r);
    }
    fuzz_req(&r, ZYDIS_MNEMONIC_SYSCALL, 0);
    size_t insn_at = g->len;
    if (g->failed || !fuzz_emit_req(g, &r)) {
        g->depth = depth_before;
        return false;
    }
    return fuzz_append_unit(g, insn_at, depth_before, g->depth);
}
