/*
 * The JIT's compiler: lowers the optimized op list of one block into x86-64 host code.
 *
 * Model: the CPU state pointer is in rbp for the whole run. Each op loads its inputs into scratch
 * registers (rax, rcx, rdx, rsi: caller-saved), computes, and puts its outputs. Temps are cached in seven
 * host registers (rbx, r12-r15, r10, r11) within a block: globals write through (their env slot is
 * stored on every write, so the guest state in env is exact at every guest memory access, helper call
 * and exit — what the fault handler and helpers rely on); locals (TCGCPU.frame slots, as in the
 * interpreter) are written back only when evicted, before a branch, label or clobbering call, and never
 * once dead. Constants become immediates where the instruction has a form for them. insn_start is
 * stored only before an op that can observe it (see jit_flush_pc).
 *
 * Block layout: a JitBlock header (the goto_tb patch sites), the entry (the exit-request check), the
 * body, then the shared "exit to the loop" stub. Helpers are called directly (SysV ABI; the trampoline
 * keeps rsp 16-byte aligned), and may leave through tcg_cpu_loop_exit: nothing is held across a call.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/jit.h"
#include "core/tcg/tb.h"

typedef struct JitFixup {
    uint8_t *field;
    int label;            /* -1: the block's exit stub */
} JitFixup;

/* Host registers that cache temps within a block: callee-saved ones survive helper calls. */
#define JIT_NCACHE 7
static const int jit_cache_regs[JIT_NCACHE] = {JR_RBX, JR_R12, JR_R13, JR_R14, JR_R15, JR_R10, JR_R11};
#define JIT_CACHE_CALLEE_SAVED 5   /* the first five */

typedef struct JitCtx {
    TCGContext *s;
    /* The write-through register cache: memory always holds every temp's value (so faults and helpers
       see exact state); a cached copy only saves the reload. */
    int8_t cache_of[TCG_MAX_TEMPS];       /* temp -> cache slot + 1 (0: not cached) */
    TCGTemp cache_temp[JIT_NCACHE];       /* slot -> temp (-1: free) */
    uint32_t cache_used[JIT_NCACHE];      /* for least-recently-used replacement */
    bool cache_dirty[JIT_NCACHE];         /* a local whose frame slot is stale */
    uint32_t clock;
    /* Locals are written back lazily: only when evicted, before a branch or label, or before a call
       that clobbers their register, and not at all once dead. Liveness is the index of the last op
       that reads each local; a block with a backward branch keeps every local live. */
    int last_use[TCG_MAX_TEMPS];
    int cur_op;
    bool has_back_branch;
    /* insn_start is stored lazily: only an op that can observe it (a guest memory access that may
       fault, a helper, any block exit or branch) writes the pc of its instruction, and a pc whose upper
       half is already in TCGCPU.insn_pc needs only a 4-byte store. */
    uint64_t pending_pc;
    bool pc_pending;
    bool pc_hi_known;
    uint32_t pc_hi;
    TranslationBlock *tb;
    JitBuf b;
    JitBlock *hdr;
    bool soft_mem;        /* guest memory through TCGCPU.mem (system mode) */
    uint8_t *label_at[TCG_MAX_LABELS];
    JitFixup fix[TCG_MAX_OPS + 8];
    int nfix;
} JitCtx;

#define R(reg, bits) jit_r((reg), (bits))
#define ENVM(off, bytes) jit_m(JIT_ENV, (int32_t)(off), (bytes))

static bool jit_temp_ok(const TCGContext *s, TCGTemp t)
{
    return t >= 0 && t < TCG_MAX_TEMPS && (t < s->nb_temps || t == TCG_MAX_TEMPS - 1);
}

/* The env offset of a temp kept in memory; -1 for env and constants. */
static int64_t jit_slot(const JitCtx *c, TCGTemp t)
{
    const TCGTempInfo *ti = &c->s->temps[t];
    switch (ti->kind) {
    case TEMP_GLOBAL: return ti->env_offset;
    case TEMP_LOCAL: return (int64_t)(offsetof(TCGCPU, frame) + 8 * (size_t)t);
    default: return -1;
    }
}

static bool jit_is_const(const JitCtx *c, TCGTemp t) { return c->s->temps[t].kind == TEMP_CONST; }

static uint64_t jit_const(const JitCtx *c, TCGTemp t, int bits)
{
    uint64_t v = c->s->temps[t].value;
    return bits == 32 ? (uint32_t)v : v;
}

/* A constant that fits the sign-extended imm32 of an op of this width (any value does at 32 bits). */
static bool jit_imm_ok(const JitCtx *c, TCGTemp t, int bits)
{
    if (!jit_is_const(c, t)) {
        return false;
    }
    uint64_t v = c->s->temps[t].value;
    return bits == 32 || (int64_t)v == (int32_t)v;
}

static ZydisEncoderOperand jit_imm(const JitCtx *c, TCGTemp t, int bits)
{
    uint64_t v = jit_const(c, t, bits);
    return jit_i(bits == 32 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v);
}

/* --- the register cache ------------------------------------------------------------------------------ */

/* Whether a local's value may still be read after the current op. */
static bool jit_live(const JitCtx *c, TCGTemp t)
{
    return c->has_back_branch || c->last_use[t] > c->cur_op;
}

/* Write a dirty local back to its frame slot (the cached copy stays valid). */
static void jit_cache_spill(JitCtx *c, int k)
{
    TCGTemp t = c->cache_temp[k];
    if (t >= 0 && c->cache_dirty[k]) {
        if (jit_live(c, t)) {
            jit_op_rm(&c->b, JOP_MOV_STORE, jit_cache_regs[k], JIT_ENV, (int32_t)jit_slot(c, t), 64);
        }
        c->cache_dirty[k] = false;
    }
}

static void jit_cache_drop_slot(JitCtx *c, int k)
{
    if (c->cache_temp[k] >= 0) {
        jit_cache_spill(c, k);
        c->cache_of[c->cache_temp[k]] = 0;
        c->cache_temp[k] = -1;
    }
}

static void jit_cache_spill_all(JitCtx *c)
{
    for (int k = 0; k < JIT_NCACHE; k++) {
        jit_cache_spill(c, k);
    }
}

/* Forget cached copies of globals (memory may have changed under them); globals are never dirty. */
static void jit_cache_forget_globals(JitCtx *c)
{
    for (int k = 0; k < JIT_NCACHE; k++) {
        TCGTemp t = c->cache_temp[k];
        if (t >= 0 && c->s->temps[t].kind == TEMP_GLOBAL) {
            jit_cache_drop_slot(c, k);
        }
    }
}

/* Before a call: the registers it clobbers give up what they hold (dirty locals written back). */
static void jit_cache_evict_caller_saved(JitCtx *c)
{
    for (int k = JIT_CACHE_CALLEE_SAVED; k < JIT_NCACHE; k++) {
        jit_cache_drop_slot(c, k);
    }
}

/* Forget cached globals whose 8-byte slot overlaps env bytes [lo, hi) (a store there changed them). */
static void jit_cache_forget_range(JitCtx *c, int64_t lo, int64_t hi, TCGTemp except)
{
    for (int k = 0; k < JIT_NCACHE; k++) {
        TCGTemp t = c->cache_temp[k];
        if (t >= 0 && t != except && c->s->temps[t].kind == TEMP_GLOBAL) {
            int64_t off = c->s->temps[t].env_offset;
            if (off < hi && off + 8 > lo) {
                jit_cache_drop_slot(c, k);
            }
        }
    }
}

/* Before op i: locals that are never read again give up their registers, unwritten. */
static void jit_cache_retire(JitCtx *c)
{
    if (c->has_back_branch) {
        return;
    }
    for (int k = 0; k < JIT_NCACHE; k++) {
        TCGTemp t = c->cache_temp[k];
        if (t >= 0 && c->s->temps[t].kind == TEMP_LOCAL && c->last_use[t] < c->cur_op) {
            c->cache_dirty[k] = false;
            jit_cache_drop_slot(c, k);
        }
    }
}

/* reg = the temp's value; a 32-bit load zero-extends, which is the I32 view of it. */
static void jit_get(JitCtx *c, int reg, TCGTemp t, int bits)
{
    const TCGTempInfo *ti = &c->s->temps[t];
    if (c->cache_of[t]) {
        int k = c->cache_of[t] - 1;
        c->cache_used[k] = ++c->clock;
        jit_op_rr(&c->b, JOP_MOV_STORE, jit_cache_regs[k], reg, bits);
    } else if (ti->kind == TEMP_ENV) {
        JI2(&c->b, MOV, R(reg, 64), R(JIT_ENV, 64));
    } else if (ti->kind == TEMP_CONST) {
        jit_movi(&c->b, reg, jit_const(c, t, bits));
    } else {
        jit_op_rm(&c->b, JOP_MOV_LOAD, reg, JIT_ENV, (int32_t)jit_slot(c, t), bits);
    }
}

/* Store a result: reg holds it with its upper half already clear for I32 ops. */
static void jit_put(JitCtx *c, TCGTemp t, int reg)
{
    bool local = c->s->temps[t].kind == TEMP_LOCAL;
    if (!local) {
        /* Globals are written through: env is exact at every op, for faults and helpers. */
        int64_t off = jit_slot(c, t);
        jit_op_rm(&c->b, JOP_MOV_STORE, reg, JIT_ENV, (int32_t)off, 64);
        jit_cache_forget_range(c, off, off + 8, t);   /* globals that alias this one */
    } else if (!c->has_back_branch && c->last_use[t] <= c->cur_op) {
        /* Never read again (possibly by this same op, which has its inputs already). */
        if (c->cache_of[t]) {
            int k = c->cache_of[t] - 1;
            c->cache_dirty[k] = false;
            jit_cache_drop_slot(c, k);
        }
        return;
    }
    int k = c->cache_of[t] - 1;
    if (k < 0) {
        /* A free register, else the least recently used one. */
        k = 0;
        for (int i = 0; i < JIT_NCACHE; i++) {
            if (c->cache_temp[i] < 0) {
                k = i;
                break;
            }
            if (c->cache_used[i] < c->cache_used[k]) {
                k = i;
            }
        }
        jit_cache_drop_slot(c, k);
        c->cache_temp[k] = t;
        c->cache_of[t] = (int8_t)(k + 1);
    }
    c->cache_used[k] = ++c->clock;
    c->cache_dirty[k] = local;
    jit_op_rr(&c->b, JOP_MOV_STORE, reg, jit_cache_regs[k], 64);
}

static void jit_fixup(JitCtx *c, uint8_t *field, int label)
{
    if (field && c->nfix < (int)(sizeof(c->fix) / sizeof(c->fix[0]))) {
        c->fix[c->nfix++] = (JitFixup){field, label};
    } else if (field) {
        c->b.error = true;
    }
}

/* rdx = slot | reason << 32, rax = the block, then the epilogue returns them as a TCGExit. */
static void jit_exit(JitCtx *c, int slot, TCGExitReason reason)
{
    jit_movi(&c->b, JR_RAX, (uintptr_t)c->tb);
    jit_movi(&c->b, JR_RDX, (uint32_t)slot | (uint64_t)reason << 32);
    jit_jmp32(&c->b, jit_epilogue);
}

/* --- comparisons --------------------------------------------------------------------------------- */

static int jit_cc_of(TCGCond cond)
{
    static const int8_t cc[] = {
        [TCG_COND_EQ] = JCC_E, [TCG_COND_NE] = JCC_NE,
        [TCG_COND_LT] = JCC_L, [TCG_COND_GE] = JCC_GE, [TCG_COND_LE] = JCC_LE, [TCG_COND_GT] = JCC_G,
        [TCG_COND_LTU] = JCC_B, [TCG_COND_GEU] = JCC_AE, [TCG_COND_LEU] = JCC_BE, [TCG_COND_GTU] = JCC_A,
        [TCG_COND_TSTEQ] = JCC_E, [TCG_COND_TSTNE] = JCC_NE,
    };
    return cc[cond];
}

/* Set the host flags for cond(a, b) (cond is neither NEVER nor ALWAYS); returns the condition code. */
static int jit_compare(JitCtx *c, TCGCond cond, TCGTemp a, TCGTemp b, int bits)
{
    bool tst = cond == TCG_COND_TSTEQ || cond == TCG_COND_TSTNE;
    jit_get(c, JR_RAX, a, bits);
    if (jit_imm_ok(c, b, bits)) {
        jit_ins(&c->b, tst ? ZYDIS_MNEMONIC_TEST : ZYDIS_MNEMONIC_CMP, 2, R(JR_RAX, bits), jit_imm(c, b, bits),
                jit_i(0));
    } else {
        jit_get(c, JR_RCX, b, bits);
        jit_op_rr(&c->b, tst ? JOP_TEST : JOP_CMP, JR_RCX, JR_RAX, bits);
    }
    return jit_cc_of(cond);
}

/* --- loads and stores ------------------------------------------------------------------------------ */

/* dst = the memop-sized value at [base + disp], extended, then cut to the op's width. */
static void jit_load_mo(JitCtx *c, int dst, int base, int32_t disp, unsigned mo, int bits)
{
    JitBuf *b = &c->b;
    switch (mo & 7) {
    case MO_8: JI2(b, MOVZX, R(dst, 32), jit_m(base, disp, 1)); break;
    case MO_S8: JI2(b, MOVSX, R(dst, bits), jit_m(base, disp, 1)); break;
    case MO_16: JI2(b, MOVZX, R(dst, 32), jit_m(base, disp, 2)); break;
    case MO_S16: JI2(b, MOVSX, R(dst, bits), jit_m(base, disp, 2)); break;
    case MO_32: JI2(b, MOV, R(dst, 32), jit_m(base, disp, 4)); break;
    case MO_S32:
        if (bits == 64) {
            JI2(b, MOVSXD, R(dst, 64), jit_m(base, disp, 4));
        } else {
            JI2(b, MOV, R(dst, 32), jit_m(base, disp, 4));
        }
        break;
    default: JI2(b, MOV, R(dst, bits), jit_m(base, disp, bits / 8)); break;
    }
}

static void jit_store_mo(JitCtx *c, int src, int base, int32_t disp, unsigned mo)
{
    int bytes = 1 << (mo & MO_SIZE);
    JI2(&c->b, MOV, jit_m(base, disp, bytes), R(src, bytes * 8));
}

/* The base register and displacement for a CPU-state access at base temp + off. */
static int jit_state_addr(JitCtx *c, TCGTemp base, uint64_t off, int32_t *disp)
{
    int reg = JR_RAX;
    if (c->s->temps[base].kind == TEMP_ENV) {
        reg = JIT_ENV;
    } else {
        jit_get(c, JR_RAX, base, 64);
    }
    if ((int64_t)off == (int32_t)off) {
        *disp = (int32_t)off;
        return reg;
    }
    if (reg == JIT_ENV) {
        JI2(&c->b, MOV, R(JR_RAX, 64), R(JIT_ENV, 64));
    }
    jit_movi(&c->b, JR_RDX, off);
    JI2(&c->b, ADD, R(JR_RAX, 64), R(JR_RDX, 64));
    *disp = 0;
    return JR_RAX;
}

/* System mode: guest memory through TCGCPU.mem. */
static uint64_t jit_soft_ld(TCGCPU *cpu, uint64_t addr, uint64_t mo)
{
    return cpu->mem->load(cpu, addr, (TCGMemOp)mo);
}
static void jit_soft_st(TCGCPU *cpu, uint64_t addr, uint64_t value, uint64_t mo)
{
    cpu->mem->store(cpu, addr, value, (TCGMemOp)mo);
}
static void jit_soft_ld128(TCGCPU *cpu, uint64_t addr, uint64_t off)
{
    cpu->mem->load128(cpu, addr, (uint8_t *)cpu + off);
}
static void jit_soft_st128(TCGCPU *cpu, uint64_t addr, uint64_t off)
{
    cpu->mem->store128(cpu, addr, (const uint8_t *)cpu + off);
}

static void jit_call_abs(JitCtx *c, const void *fn)
{
    jit_cache_evict_caller_saved(c);
    jit_movi(&c->b, JR_RAX, (uintptr_t)fn);
    JI1(&c->b, CALL, R(JR_RAX, 64));
}

/* A call to one of our own helpers that may touch any of the CPU state. */
static void jit_call_any(JitCtx *c, const void *fn)
{
    jit_call_abs(c, fn);
    jit_cache_forget_globals(c);
}

/* Guest memory ops. The state in env is exact here (every temp is in memory), so a fault sees it. */
static void jit_guest_mem(JitCtx *c, const TCGOp *op, int bits)
{
    unsigned mo = (unsigned)op->cargs[0];
    switch (op->opc) {
    case INDEX_op_guest_ld:
        if (c->soft_mem) {
            JI2(&c->b, MOV, R(JR_RDI, 64), R(JIT_ENV, 64));
            jit_get(c, JR_RSI, op->args[1], 64);
            jit_movi(&c->b, JR_RDX, mo & 7);
            jit_call_any(c, (const void *)jit_soft_ld);
            if (bits == 32) {
                JI2(&c->b, MOV, R(JR_RAX, 32), R(JR_RAX, 32));
            }
        } else {
            jit_get(c, JR_RAX, op->args[1], 64);
            jit_load_mo(c, JR_RAX, JR_RAX, 0, mo, bits);
        }
        jit_put(c, op->args[0], JR_RAX);
        break;
    case INDEX_op_guest_st:
        if (c->soft_mem) {
            JI2(&c->b, MOV, R(JR_RDI, 64), R(JIT_ENV, 64));
            jit_get(c, JR_RSI, op->args[1], 64);
            jit_get(c, JR_RDX, op->args[0], 64);
            jit_movi(&c->b, JR_RCX, mo & MO_SIZE);
            jit_call_any(c, (const void *)jit_soft_st);
        } else {
            jit_get(c, JR_RAX, op->args[1], 64);
            jit_get(c, JR_RCX, op->args[0], 64);
            jit_store_mo(c, JR_RCX, JR_RAX, 0, mo);
        }
        break;
    default: /* guest_ld128, guest_st128 */
        if (c->soft_mem) {
            JI2(&c->b, MOV, R(JR_RDI, 64), R(JIT_ENV, 64));
            jit_get(c, JR_RSI, op->args[0], 64);
            jit_movi(&c->b, JR_RDX, op->cargs[0]);
            jit_call_any(c, op->opc == INDEX_op_guest_ld128 ? (const void *)jit_soft_ld128 : (const void *)jit_soft_st128);
        } else {
            jit_get(c, JR_RAX, op->args[0], 64);
            if (op->opc == INDEX_op_guest_ld128) {
                JI2(&c->b, MOVDQU, R(0, 128), jit_m(JR_RAX, 0, 16));
                JI2(&c->b, MOVDQU, ENVM(op->cargs[0], 16), R(0, 128));
                jit_cache_forget_range(c, (int64_t)op->cargs[0], (int64_t)op->cargs[0] + 16, -1);
            } else {
                JI2(&c->b, MOVDQU, R(0, 128), ENVM(op->cargs[0], 16));
                JI2(&c->b, MOVDQU, jit_m(JR_RAX, 0, 16), R(0, 128));
            }
        }
        break;
    }
}

/* --- helper calls ------------------------------------------------------------------------------------ */

static int jit_call(JitCtx *c, const TCGOp *op)
{
    static const int argreg[TCG_MAX_HELPER_ARGS] = {JR_RDI, JR_RSI, JR_RDX, JR_RCX, JR_R8, JR_R9};
    const TCGHelperInfo *h = op->helper;
    if (!h || !h->func || h->nargs > TCG_MAX_HELPER_ARGS) {
        return -EINVAL;
    }
    for (int i = 0; i < h->nargs; i++) {
        if (!jit_temp_ok(c->s, op->call_args[i])) {
            return -EINVAL;
        }
        /* A 32-bit argument's upper half is the callee's to ignore (SysV). */
        jit_get(c, argreg[i], op->call_args[i], 64);
    }
    jit_call_abs(c, h->func);
    if (!(h->flags & TCG_CALL_NO_RW_GLOBALS)) {
        jit_cache_forget_globals(c);
    }
    if (h->ret != TCG_ARG_VOID) {
        if (!jit_temp_ok(c->s, op->call_ret) || jit_slot(c, op->call_ret) < 0) {
            return -EINVAL;
        }
        if (h->ret == TCG_ARG_I32) {
            JI2(&c->b, MOV, R(JR_RAX, 32), R(JR_RAX, 32));
        }
        jit_put(c, op->call_ret, JR_RAX);
    }
    return 0;
}

/* --- pure ops ---------------------------------------------------------------------------------------- */

/* rax = a OP b for the two-operand ALU forms; immediates where they fit. */
static void jit_alu(JitCtx *c, ZydisMnemonic m, TCGTemp a, TCGTemp b, int bits)
{
    jit_get(c, JR_RAX, a, bits);
    if (jit_imm_ok(c, b, bits)) {
        if (m == ZYDIS_MNEMONIC_IMUL) {
            jit_ins(&c->b, m, 3, R(JR_RAX, bits), R(JR_RAX, bits), jit_imm(c, b, bits));
        } else {
            jit_ins(&c->b, m, 2, R(JR_RAX, bits), jit_imm(c, b, bits), jit_i(0));
        }
    } else {
        jit_get(c, JR_RCX, b, bits);
        uint8_t opcode = m == ZYDIS_MNEMONIC_ADD ? JOP_ADD : m == ZYDIS_MNEMONIC_SUB ? JOP_SUB
                         : m == ZYDIS_MNEMONIC_AND ? JOP_AND : m == ZYDIS_MNEMONIC_OR ? JOP_OR
                         : m == ZYDIS_MNEMONIC_XOR ? JOP_XOR : 0;
        if (opcode) {
            jit_op_rr(&c->b, opcode, JR_RCX, JR_RAX, bits);   /* rax op= rcx */
        } else {
            jit_ins(&c->b, m, 2, R(JR_RAX, bits), R(JR_RCX, bits), jit_i(0));
        }
    }
}

static void jit_shift(JitCtx *c, ZydisMnemonic m, TCGTemp a, TCGTemp b, int bits)
{
    jit_get(c, JR_RAX, a, bits);
    if (jit_is_const(c, b)) {
        unsigned n = (unsigned)(c->s->temps[b].value & (unsigned)(bits - 1));
        if (n) {
            jit_ins(&c->b, m, 2, R(JR_RAX, bits), jit_i(n), jit_i(0));
        }
    } else {
        jit_get(c, JR_RCX, b, bits);
        /* The host masks the count to the width, as the IR defines it. */
        jit_ins(&c->b, m, 2, R(JR_RAX, bits), R(JR_RCX, 8), jit_i(0));
    }
}

/* Bit fields: pos/len outside the width give what the evaluator gives (0 / the input unchanged). */
static void jit_field(JitCtx *c, const TCGOp *op, int bits)
{
    JitBuf *b = &c->b;
    uint64_t pos = op->cargs[0], len = op->cargs[1];
    bool valid = !(len == 0 || pos >= (uint64_t)bits || len > bits - pos);
    if (op->opc == INDEX_op_deposit) {
        jit_get(c, JR_RAX, op->args[1], bits);
        if (valid) {
            uint64_t m = (len >= 64 ? ~0ULL : (1ULL << len) - 1) << pos;
            jit_get(c, JR_RCX, op->args[2], 64);
            if (pos) {
                JI2(b, SHL, R(JR_RCX, 64), jit_i((int64_t)pos));
            }
            jit_movi(b, JR_RDX, m);
            JI2(b, AND, R(JR_RCX, 64), R(JR_RDX, 64));
            JI1(b, NOT, R(JR_RDX, 64));
            JI2(b, AND, R(JR_RAX, 64), R(JR_RDX, 64));
            JI2(b, OR, R(JR_RAX, 64), R(JR_RCX, 64));
            if (bits == 32) {
                JI2(b, MOV, R(JR_RAX, 32), R(JR_RAX, 32));
            }
        }
    } else if (!valid) {
        jit_movi(b, JR_RAX, 0);
    } else if (op->opc == INDEX_op_extract) {
        jit_get(c, JR_RAX, op->args[1], bits);
        if (pos) {
            JI2(b, SHR, R(JR_RAX, 64), jit_i((int64_t)pos));
        }
        if (len < 32) {
            JI2(b, AND, R(JR_RAX, 32), jit_i((int64_t)((1ULL << len) - 1)));
        } else if (len == 32) {
            JI2(b, MOV, R(JR_RAX, 32), R(JR_RAX, 32));
        } else if (len < 64) {
            JI2(b, SHL, R(JR_RAX, 64), jit_i((int64_t)(64 - len)));
            JI2(b, SHR, R(JR_RAX, 64), jit_i((int64_t)(64 - len)));
        }
    } else {
        jit_get(c, JR_RAX, op->args[1], 64);
        if (64 - pos - len) {
            JI2(b, SHL, R(JR_RAX, 64), jit_i((int64_t)(64 - pos - len)));
        }
        if (64 - len) {
            JI2(b, SAR, R(JR_RAX, 64), jit_i((int64_t)(64 - len)));
        }
        if (bits == 32) {
            JI2(b, MOV, R(JR_RAX, 32), R(JR_RAX, 32));
        }
    }
    jit_put(c, op->args[0], JR_RAX);
}

static int jit_pure(JitCtx *c, const TCGOp *op, int bits)
{
    JitBuf *b = &c->b;
    const TCGTemp *a = op->args;
    switch (op->opc) {
    case INDEX_op_mov: jit_get(c, JR_RAX, a[1], bits); break;
    case INDEX_op_movi: jit_movi(b, JR_RAX, bits == 32 ? (uint32_t)op->cargs[0] : op->cargs[0]); break;
    case INDEX_op_add: jit_alu(c, ZYDIS_MNEMONIC_ADD, a[1], a[2], bits); break;
    case INDEX_op_sub: jit_alu(c, ZYDIS_MNEMONIC_SUB, a[1], a[2], bits); break;
    case INDEX_op_mul: jit_alu(c, ZYDIS_MNEMONIC_IMUL, a[1], a[2], bits); break;
    case INDEX_op_and: jit_alu(c, ZYDIS_MNEMONIC_AND, a[1], a[2], bits); break;
    case INDEX_op_or: jit_alu(c, ZYDIS_MNEMONIC_OR, a[1], a[2], bits); break;
    case INDEX_op_xor: jit_alu(c, ZYDIS_MNEMONIC_XOR, a[1], a[2], bits); break;
    case INDEX_op_andc:
        jit_get(c, JR_RAX, a[1], bits);
        jit_get(c, JR_RCX, a[2], bits);
        JI1(b, NOT, R(JR_RCX, bits));
        JI2(b, AND, R(JR_RAX, bits), R(JR_RCX, bits));
        break;
    case INDEX_op_shl: jit_shift(c, ZYDIS_MNEMONIC_SHL, a[1], a[2], bits); break;
    case INDEX_op_shr: jit_shift(c, ZYDIS_MNEMONIC_SHR, a[1], a[2], bits); break;
    case INDEX_op_sar: jit_shift(c, ZYDIS_MNEMONIC_SAR, a[1], a[2], bits); break;
    case INDEX_op_rotl: jit_shift(c, ZYDIS_MNEMONIC_ROL, a[1], a[2], bits); break;
    case INDEX_op_rotr: jit_shift(c, ZYDIS_MNEMONIC_ROR, a[1], a[2], bits); break;
    case INDEX_op_neg: jit_get(c, JR_RAX, a[1], bits); JI1(b, NEG, R(JR_RAX, bits)); break;
    case INDEX_op_not: jit_get(c, JR_RAX, a[1], bits); JI1(b, NOT, R(JR_RAX, bits)); break;
    case INDEX_op_mulu2:
    case INDEX_op_muls2:
        jit_get(c, JR_RAX, a[2], bits);
        jit_get(c, JR_RCX, a[3], bits);
        /* One-operand form: rdx:rax = rax * rcx (edx:eax at 32 bits, each zero-extended). */
        jit_ins(b, op->opc == INDEX_op_mulu2 ? ZYDIS_MNEMONIC_MUL : ZYDIS_MNEMONIC_IMUL, 1, R(JR_RCX, bits), jit_i(0),
                jit_i(0));
        jit_put(c, a[0], JR_RAX);
        jit_put(c, a[1], JR_RDX);
        return 0;
    case INDEX_op_ext8s: jit_get(c, JR_RAX, a[1], 64); JI2(b, MOVSX, R(JR_RAX, bits), R(JR_RAX, 8)); break;
    case INDEX_op_ext8u: jit_get(c, JR_RAX, a[1], 64); JI2(b, MOVZX, R(JR_RAX, 32), R(JR_RAX, 8)); break;
    case INDEX_op_ext16s: jit_get(c, JR_RAX, a[1], 64); JI2(b, MOVSX, R(JR_RAX, bits), R(JR_RAX, 16)); break;
    case INDEX_op_ext16u: jit_get(c, JR_RAX, a[1], 64); JI2(b, MOVZX, R(JR_RAX, 32), R(JR_RAX, 16)); break;
    case INDEX_op_ext32s:
        if (bits == 64) {
            jit_get(c, JR_RAX, a[1], 64);
            JI2(b, MOVSXD, R(JR_RAX, 64), R(JR_RAX, 32));
        } else {
            jit_get(c, JR_RAX, a[1], 32);
        }
        break;
    case INDEX_op_ext32u: jit_get(c, JR_RAX, a[1], 32); break;
    case INDEX_op_extract:
    case INDEX_op_sextract:
    case INDEX_op_deposit:
        jit_field(c, op, bits);
        return 0;
    case INDEX_op_bswap: jit_get(c, JR_RAX, a[1], bits); JI1(b, BSWAP, R(JR_RAX, bits)); break;
    case INDEX_op_clz:
    case INDEX_op_ctz:
        jit_get(c, JR_RDX, a[1], bits);
        jit_get(c, JR_RCX, a[2], bits);
        if (op->opc == INDEX_op_clz) {
            /* clz = index of the top set bit, flipped; BSR leaves rax undefined for 0, replaced below. */
            JI2(b, BSR, R(JR_RAX, bits), R(JR_RDX, bits));
            JI2(b, XOR, R(JR_RAX, bits), jit_i(bits - 1));
        } else {
            JI2(b, BSF, R(JR_RAX, bits), R(JR_RDX, bits));
        }
        JI2(b, TEST, R(JR_RDX, bits), R(JR_RDX, bits));
        jit_cmov(b, JCC_E, JR_RAX, JR_RCX, bits);
        if (bits == 32) {
            JI2(b, MOV, R(JR_RAX, 32), R(JR_RAX, 32));
        }
        break;
    case INDEX_op_ctpop: jit_get(c, JR_RAX, a[1], bits); JI2(b, POPCNT, R(JR_RAX, 64), R(JR_RAX, 64)); break;
    case INDEX_op_setcond: {
        TCGCond cond = (TCGCond)op->cargs[0];
        if (cond == TCG_COND_NEVER || cond == TCG_COND_ALWAYS) {
            jit_movi(b, JR_RAX, cond == TCG_COND_ALWAYS);
        } else {
            int cc = jit_compare(c, cond, a[1], a[2], bits);
            jit_setcc(b, cc, JR_RAX);
            JI2(b, MOVZX, R(JR_RAX, 32), R(JR_RAX, 8));
        }
        break;
    }
    case INDEX_op_movcond: {
        TCGCond cond = (TCGCond)op->cargs[0];
        if (cond == TCG_COND_NEVER || cond == TCG_COND_ALWAYS) {
            jit_get(c, JR_RAX, cond == TCG_COND_ALWAYS ? a[3] : a[4], bits);
        } else {
            int cc = jit_compare(c, cond, a[1], a[2], bits);
            /* Plain moves keep the flags. */
            jit_get(c, JR_RDX, a[3], bits);
            jit_get(c, JR_RAX, a[4], bits);
            jit_cmov(b, cc, JR_RAX, JR_RDX, 64);
        }
        break;
    }
    default:
        return -EINVAL;
    }
    jit_put(c, a[0], JR_RAX);
    return 0;
}

/* --- one op ------------------------------------------------------------------------------------------ */

static void jit_flush_pc(JitCtx *c)
{
    if (!c->pc_pending) {
        return;
    }
    uint64_t pc = c->pending_pc;
    const size_t off = offsetof(TCGCPU, insn_pc);
    if (c->pc_hi_known && c->pc_hi == (uint32_t)(pc >> 32)) {
        jit_store_imm32(&c->b, JIT_ENV, (int32_t)off, (int32_t)(uint32_t)pc, 32);
    } else if ((int64_t)pc == (int32_t)pc) {
        jit_store_imm32(&c->b, JIT_ENV, (int32_t)off, (int32_t)pc, 64);
    } else {
        jit_movi(&c->b, JR_RAX, pc);
        jit_op_rm(&c->b, JOP_MOV_STORE, JR_RAX, JIT_ENV, (int32_t)off, 64);
    }
    c->pc_hi_known = true;
    c->pc_hi = (uint32_t)(pc >> 32);
    c->pc_pending = false;
}

static int jit_op(JitCtx *c, const TCGOp *op)
{
    JitBuf *b = &c->b;
    const TCGOpDef *def = &tcg_op_defs[op->opc];
    const int bits = op->type == TCG_I32 ? 32 : 64;

    if ((def->flags & (OPF_SIDE_EFFECTS | OPF_BB_END | OPF_MEM | OPF_CALL)) && op->opc != INDEX_op_insn_start &&
        op->opc != INDEX_op_st) {
        jit_flush_pc(c);
    }
    if (op->opc == INDEX_op_set_label) {
        c->pc_hi_known = false;   /* paths merge here */
    }

    if (op->opc == INDEX_op_call) {
        return jit_call(c, op);
    }
    for (int i = 0; i < def->nb_oargs + def->nb_iargs; i++) {
        if (!jit_temp_ok(c->s, op->args[i])) {
            return -EINVAL;
        }
        if (i < def->nb_oargs && jit_slot(c, op->args[i]) < 0) {
            return -EINVAL;   /* outputs must be writable slots */
        }
    }
    switch (op->opc) {
    case INDEX_op_ld: {
        int32_t disp;
        int base = jit_state_addr(c, op->args[1], op->cargs[1], &disp);
        jit_load_mo(c, JR_RAX, base, disp, (unsigned)op->cargs[0], bits);
        jit_put(c, op->args[0], JR_RAX);
        return 0;
    }
    case INDEX_op_st: {
        int32_t disp;
        int base = jit_state_addr(c, op->args[1], op->cargs[1], &disp);
        jit_get(c, JR_RCX, op->args[0], 64);
        jit_store_mo(c, JR_RCX, base, disp, (unsigned)op->cargs[0]);
        if (base == JIT_ENV) {
            jit_cache_forget_range(c, disp, disp + (1 << (op->cargs[0] & MO_SIZE)), -1);
        } else {
            jit_cache_forget_globals(c);   /* could point anywhere into the state */
        }
        return 0;
    }
    case INDEX_op_guest_ld:
    case INDEX_op_guest_st:
    case INDEX_op_guest_ld128:
    case INDEX_op_guest_st128:
        jit_guest_mem(c, op, bits);
        return 0;
    case INDEX_op_set_label:
        if (op->cargs[0] >= (uint64_t)c->s->nb_labels || op->cargs[0] >= TCG_MAX_LABELS) {
            return -EINVAL;
        }
        /* Reached from elsewhere too: locals go to memory on the way in, and nothing is known after. */
        jit_cache_spill_all(c);
        c->label_at[op->cargs[0]] = b->p;
        for (int k = 0; k < JIT_NCACHE; k++) {
            jit_cache_drop_slot(c, k);
        }
        return 0;
    case INDEX_op_br:
        if (op->cargs[0] >= (uint64_t)c->s->nb_labels) {
            return -EINVAL;
        }
        jit_cache_spill_all(c);
        jit_fixup(c, jit_jmp32(b, NULL), (int)op->cargs[0]);
        return 0;
    case INDEX_op_brcond: {
        TCGCond cond = (TCGCond)op->cargs[0];
        if (cond > TCG_COND_TSTNE || op->cargs[1] >= (uint64_t)c->s->nb_labels) {
            return -EINVAL;
        }
        if (cond == TCG_COND_NEVER) {
            return 0;
        }
        jit_cache_spill_all(c);   /* the label reads locals from memory */
        if (cond == TCG_COND_ALWAYS) {
            jit_fixup(c, jit_jmp32(b, NULL), (int)op->cargs[1]);
            return 0;
        }
        int cc = jit_compare(c, cond, op->args[0], op->args[1], bits);
        jit_fixup(c, jit_jcc32(b, cc, NULL), (int)op->cargs[1]);
        return 0;
    }
    case INDEX_op_call:
        return jit_call(c, op);
    case INDEX_op_insn_start:
        c->pending_pc = op->cargs[0];
        c->pc_pending = true;
        return 0;
    case INDEX_op_goto_tb: {
        int slot = (int)op->cargs[0];
        if (op->cargs[0] > 1) {
            return -EINVAL;
        }
        if (c->hdr->jmp_field[slot]) {
            /* The slot's patchable jump exists already: go through it. */
            jit_jmp32(b, c->hdr->jmp_field[slot] - 1);
            return 0;
        }
        /* Unchained, the jump lands on the stub right after it. */
        c->hdr->jmp_field[slot] = jit_jmp32_aligned(b, NULL);
        c->hdr->stub[slot] = b->p;
        jit_exit(c, slot, TCG_EXIT_NONE);
        return 0;
    }
    case INDEX_op_goto_ptr:
        /* The jump cache (the target computes the key, so this calls the loop's own lookup). */
        JI2(b, MOV, R(JR_RDI, 64), R(JIT_ENV, 64));
        jit_call_abs(c, (const void *)tcg_cpu_find_tb);
        JI2(b, TEST, R(JR_RAX, 64), R(JR_RAX, 64));
        jit_fixup(c, jit_jcc32(b, JCC_E, NULL), -1);
        JI2(b, MOV, R(JR_RAX, 64), jit_m(JR_RAX, (int32_t)offsetof(TranslationBlock, code), 8));
        JI2(b, ADD, R(JR_RAX, 64), jit_i(JIT_BLOCK_HDR));
        JI1(b, JMP, R(JR_RAX, 64));
        return 0;
    case INDEX_op_exit_tb:
        jit_store_imm32(b, JIT_ENV, (int32_t)offsetof(TCGCPU, exit_reason), (int32_t)op->cargs[0], 32);
        jit_exit(c, -1, (TCGExitReason)op->cargs[0]);
        return 0;
    default:
        return jit_pure(c, op, bits);
    }
}

/* The last op that reads each temp, and whether any branch goes backward (then nothing is dead). */
static void jit_liveness(JitCtx *c)
{
    const TCGContext *s = c->s;
    bool label_seen[TCG_MAX_LABELS] = {false};
    for (int t = 0; t < TCG_MAX_TEMPS; t++) {
        c->last_use[t] = -1;
    }
    for (int i = 0; i < s->nb_ops; i++) {
        const TCGOp *op = &s->ops[i];
        if (op->dead || op->opc >= TCG_OP_COUNT) {
            continue;
        }
        const TCGOpDef *def = &tcg_op_defs[op->opc];
        if (op->opc == INDEX_op_call) {
            for (int a = 0; op->helper && a < op->helper->nargs && a < TCG_MAX_HELPER_ARGS; a++) {
                if (op->call_args[a] >= 0 && op->call_args[a] < TCG_MAX_TEMPS) {
                    c->last_use[op->call_args[a]] = i;
                }
            }
            continue;
        }
        for (int a = def->nb_oargs; a < def->nb_oargs + def->nb_iargs && a < TCG_MAX_OP_ARGS; a++) {
            if (op->args[a] >= 0 && op->args[a] < TCG_MAX_TEMPS) {
                c->last_use[op->args[a]] = i;
            }
        }
        uint64_t label = op->opc == INDEX_op_set_label ? op->cargs[0]
                         : op->opc == INDEX_op_br      ? op->cargs[0]
                         : op->opc == INDEX_op_brcond  ? op->cargs[1]
                                                       : ~0ULL;
        if (label < TCG_MAX_LABELS) {
            if (op->opc == INDEX_op_set_label) {
                label_seen[label] = true;
            } else if (label_seen[label]) {
                c->has_back_branch = true;
            }
        }
    }
}

/* Bytes of host code an op may need at most (calls and bit fields are the longest). */
#define JIT_MAX_OP_BYTES 128
#define JIT_BLOCK_EXTRA 256

int jit_compile(TCGContext *s, TranslationBlock *tb)
{
    if (!jit_prologue && !jit_buf_init()) {
        return -ENOMEM;
    }
    int nlive = 0;
    for (int i = 0; i < s->nb_ops; i++) {
        if (s->ops[i].dead) {
            continue;
        }
        if (s->ops[i].opc >= TCG_OP_COUNT) {
            return -EINVAL;
        }
        nlive++;
    }
    if (s->nb_labels > TCG_MAX_LABELS) {
        return -EINVAL;
    }
    size_t max = (size_t)nlive * JIT_MAX_OP_BYTES + JIT_BLOCK_EXTRA;
    bool flushed;
    uint8_t *start = jit_buf_reserve(max, &flushed);
    if (!start) {
        return -ENOMEM;
    }
    /* One context per translating thread, reused: only the parts this block uses are reset. */
    static __thread JitCtx *jit_ctx;
    if (!jit_ctx && !(jit_ctx = calloc(1, sizeof(*jit_ctx)))) {
        jit_buf_commit(NULL);
        return -ENOMEM;
    }
    JitCtx *c = jit_ctx;
    memset(c->cache_of, 0, sizeof(c->cache_of));
    memset(c->label_at, 0, sizeof(c->label_at[0]) * (size_t)s->nb_labels);
    c->nfix = 0;
    c->clock = 0;
    c->cur_op = 0;
    c->has_back_branch = false;
    c->pc_pending = c->pc_hi_known = false;
    memset(c->cache_dirty, 0, sizeof(c->cache_dirty));
    memset(c->cache_used, 0, sizeof(c->cache_used));
    c->s = s;
    c->tb = tb;
    for (int k = 0; k < JIT_NCACHE; k++) {
        c->cache_temp[k] = -1;
    }
    c->hdr = (JitBlock *)(void *)start;
    memset(c->hdr, 0, JIT_BLOCK_HDR);
    c->b = (JitBuf){start, start + JIT_BLOCK_HDR, start + max, false, false};
    /* Only system mode sets TCGCPU.mem, and the compiling thread is the one that will run the block. */
    c->soft_mem = tcg_current_cpu && tcg_current_cpu->mem;

    /* Entry: honour an exit request before running anything (chained and looked-up entries alike). */
    JI2(&c->b, CMP, ENVM(offsetof(TCGCPU, exit_request), 4), jit_i(0));
    jit_fixup(c, jit_jcc32(&c->b, JCC_NE, NULL), -1);

    jit_liveness(c);
    int err = 0;
    for (int i = 0; i < s->nb_ops && !err; i++) {
        if (!s->ops[i].dead) {
            c->cur_op = i;
            jit_cache_retire(c);
            err = jit_op(c, &s->ops[i]);
        }
    }
    /* Falling off the end is exit_tb(NONE). */
    jit_flush_pc(c);
    jit_store_imm32(&c->b, JIT_ENV, (int32_t)offsetof(TCGCPU, exit_reason), 0, 32);
    jit_exit(c, -1, TCG_EXIT_NONE);
    uint8_t *exit_stub = c->b.p;
    jit_exit(c, -1, TCG_EXIT_NONE);

    for (int i = 0; i < c->nfix && !err; i++) {
        const JitFixup *f = &c->fix[i];
        uint8_t *target = f->label < 0 ? exit_stub : c->label_at[f->label];
        if (!target || !jit_patch_rel32(f->field, target, false)) {
            err = -EINVAL;
        }
    }
    if (!err && (c->b.overflow || c->b.error)) {
        err = c->b.error ? -EINVAL : -E2BIG;
    }
    if (err) {
        jit_buf_commit(NULL);
        return err;
    }
    tb->code = start;
    tb->code_size = (uint32_t)(c->b.p - start);
    jit_buf_commit(c->b.p);
    return 0;
}
