/*
 * The JIT's compiler: lowers the optimized op list of one block into x86-64 host code.
 *
 * The CPU state pointer is in rbp for the whole run. Temps live in host registers within the block
 * (jit-regs.c; the rule that keeps guest state precise at faults and helpers is in jit-ctx.h), and each
 * op is selected into register/immediate forms that compute straight into its output's register: lea for
 * a three-operand add, a dying input's register taken over by the result, guest memory accesses as one
 * host instruction with the address's constant offset folded into it. rax, rcx and rdx are scratch.
 * insn_start is stored only before an op that can observe it (see jit_flush_pc).
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
#include "core/tcg/jit-ctx.h"

#define R(reg, bits) jit_r((reg), (bits))
#define ENVM(off, bytes) jit_m(JIT_ENV, (int32_t)(off), (bytes))

static bool jit_temp_ok(const TCGContext *s, TCGTemp t)
{
    return t >= 0 && t < TCG_MAX_TEMPS && (t < s->nb_temps || t == TCG_MAX_TEMPS - 1);
}

static bool jit_is_const(const JitCtx *c, TCGTemp t) { return c->s->temps[t].kind == TEMP_CONST; }

/* A constant that fits the sign-extended imm32 of an op of this width (any value does at 32 bits). */
static bool jit_imm_ok(const JitCtx *c, TCGTemp t, int bits)
{
    if (!jit_is_const(c, t)) {
        return false;
    }
    uint64_t v = c->s->temps[t].value;
    return bits == 32 || (int64_t)v == (int32_t)v;
}

static uint64_t jit_const_value(const JitCtx *c, TCGTemp t, int type)
{
    uint64_t v = c->s->temps[t].value;
    return type == TCG_I32 ? (uint32_t)v : v;
}

static int32_t jit_imm32(const JitCtx *c, TCGTemp t) { return (int32_t)(uint32_t)c->s->temps[t].value; }

/* mov dst, src at this width (a 32-bit move clears the upper half); nothing when they are the same
   register, as the 32-bit op that follows clears it anyway (jit_zext32 where nothing follows). */
static void jit_mov_rr(JitCtx *c, int dst, int src, int bits)
{
    if (dst != src) {
        jit_op_rr(&c->b, JOP_MOV_STORE, src, dst, bits);
    }
}

/* dst = the low 32 bits of src, zero-extended (skipped when src's upper half is known to be clear). */
static void jit_zext32(JitCtx *c, int dst, int src)
{
    if (dst != src || !c->reg_zext[src]) {
        jit_op_rr(&c->b, JOP_MOV_STORE, src, dst, 32);
    }
}

void jit_fixup(JitCtx *c, uint8_t *field, int label)
{
    if (field && c->nfix < (int)(sizeof(c->fix) / sizeof(c->fix[0]))) {
        c->fix[c->nfix++] = (JitFixup){field, label};
    } else if (field) {
        c->b.error = true;
    }
}

/* The context of this thread's last successful compile (jit_freeze reads its relocations). */
__thread const JitCtx *jit_compiled_last;

/* A host address at field (NULL: the buffer overflowed, the compile fails anyway), for jit-freeze.c. */
static void jit_reloc(JitCtx *c, const uint8_t *field, JitRelocKind kind, int64_t value)
{
    if (!field) {
        return;
    }
    /* Only the block's own buffer: a branch stub's code (jit-branch.c) is built elsewhere and copied. */
    if (c->b.start != (uint8_t *)c->hdr || c->nrelocs == JIT_MAX_RELOCS) {
        c->immovable = true;
        return;
    }
    c->relocs[c->nrelocs++] = (JitReloc){(uint32_t)(field - (const uint8_t *)c->hdr), kind, value};
}

/* rdx = slot | reason << 32, then on to the block's exit tail (jit_exit_tail), shared by all its exits. */
static void jit_exit(JitCtx *c, int slot, TCGExitReason reason)
{
    jit_movi(&c->b, JR_RDX, (uint32_t)slot | (uint64_t)reason << 32);
    jit_fixup(c, jit_jmp32(&c->b, NULL), JIT_FIX_EXIT_TAIL);
}

/* rax = the block, then the epilogue returns rax and rdx as a TCGExit. One per block: repeated in every
   exit it took 15 bytes and a relocation each (python3's start-up code: 535 -> 449 bytes per block, when
   the header took 80). */
static uint8_t *jit_exit_tail(JitCtx *c)
{
    uint8_t *tail = c->b.p;
    jit_reloc(c, jit_movabs(&c->b, JR_RAX, (uintptr_t)c->tb), JIT_RELOC_TB, 0);
    jit_reloc(c, jit_jmp32(&c->b, c->pins ? c->pins->epilogue : jit_epilogue), JIT_RELOC_EXIT, 0);
    return tail;
}

/* TCGCPU.pc = pc (rax is scratch). */
static void jit_store_pc(JitCtx *c, uint64_t pc)
{
    jit_store_const64(&c->b, JIT_ENV, (int32_t)offsetof(TCGCPU, pc), pc);
}

static int jit_next_live(const TCGContext *s, int i);

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

/* A compare's operands, fetched (registers locked) before anything is emitted that changes flags. */
typedef struct JitCmp {
    int ra, rb;          /* rb < 0: the immediate */
    int32_t imm;
    bool tst;
    int bits;
} JitCmp;

static JitCmp jit_cmp_prepare(JitCtx *c, TCGCond *condp, TCGTemp a, TCGTemp b, int bits)
{
    TCGCond cond = *condp;
    if (jit_is_const(c, a) && !jit_is_const(c, b)) {
        /* cmp wants the constant second */
        TCGTemp x = a;
        a = b;
        b = x;
        cond = tcg_cond_swap(cond);
        *condp = cond;
    }
    JitCmp k = {.tst = cond == TCG_COND_TSTEQ || cond == TCG_COND_TSTNE, .bits = bits, .rb = -1};
    k.ra = jit_use(c, a);
    uint64_t mask = k.tst && jit_is_const(c, b) ? jit_const_value(c, b, bits == 32 ? TCG_I32 : TCG_I64) : 0;
    if (mask == 0xffffffffULL || (mask == ~0ULL && bits == 64)) {
        /* every bit of the low half or of the whole: test r32, r32 or test r64, r64 (the lazy flags' "is
           the result zero") */
        k.rb = k.ra;
        k.bits = mask == ~0ULL ? 64 : 32;
    } else if (k.tst && mask == 1ULL << (bits - 1)) {
        /* the sign bit (the lazy flags' SF): test r, r and a signed compare with zero, instead of loading
           a 64-bit mask */
        k.rb = k.ra;
        *condp = cond == TCG_COND_TSTNE ? TCG_COND_LT : TCG_COND_GE;
    } else if (jit_imm_ok(c, b, bits)) {
        k.imm = jit_imm32(c, b);
    } else {
        k.rb = jit_use(c, b);
    }
    return k;
}

/* Set the host flags for the prepared comparison under cond. An equality test of a register against zero
   needs nothing when the instruction just emitted (an add, sub, and, or, xor: the lazy flags' result, as
   often as not) left its flags for that register. */
static void jit_cmp_emit(JitCtx *c, const JitCmp *k, TCGCond cond)
{
    bool zero_test = (k->rb == k->ra && k->tst) || (k->rb < 0 && k->imm == 0 && !k->tst);
    bool equality = cond == TCG_COND_EQ || cond == TCG_COND_NE || cond == TCG_COND_TSTEQ || cond == TCG_COND_TSTNE;
    if (zero_test && equality && jit_flags_of_result(&c->b, k->ra, k->bits)) {
        return;
    }
    if (k->rb >= 0) {
        jit_op_rr(&c->b, k->tst ? JOP_TEST : JOP_CMP, k->rb, k->ra, k->bits);
    } else if (k->tst) {
        jit_test_ri(&c->b, k->ra, (int32_t)k->imm, k->bits);
    } else if (k->imm == 0 && !k->tst) {
        jit_op_rr(&c->b, JOP_TEST, k->ra, k->ra, k->bits);   /* same flags as cmp 0 for every condition */
    } else {
        jit_alu_ri(&c->b, 7, k->ra, k->imm, k->bits);
    }
}

/* --- loads and stores ------------------------------------------------------------------------------ */

/* dst = the memop-sized value at [base + disp], extended, then cut to the op's width. Returns whether
   the upper half of dst is zero afterwards. */
/* A guest address in host form: [base + index << scale + disp] (index -1: none). */
typedef struct JitMem {
    int base, index;
    unsigned scale;
    int32_t disp;
} JitMem;

static void jit_op_guest(JitBuf *b, unsigned opcode, int reg, JitMem a, unsigned flags)
{
    jit_op_mem(b, opcode, reg, a.base, a.index, a.disp, flags | (a.index >= 0 ? JM_SCALE(a.scale) : 0));
}

static bool jit_load_mo(JitCtx *c, int dst, JitMem a, unsigned mo, int bits)
{
    JitBuf *b = &c->b;
    unsigned w = bits == 64 ? JM_W : 0;
    switch (mo & 7) {
    case MO_8: jit_op_guest(b, 0x0fb6, dst, a, 0); return true;
    case MO_S8: jit_op_guest(b, 0x0fbe, dst, a, w); return bits == 32;
    case MO_16: jit_op_guest(b, 0x0fb7, dst, a, 0); return true;
    case MO_S16: jit_op_guest(b, 0x0fbf, dst, a, w); return bits == 32;
    case MO_32: jit_op_guest(b, 0x8b, dst, a, 0); return true;
    case MO_S32:
        if (bits == 64) {
            jit_op_guest(b, 0x63, dst, a, JM_W);
            return false;
        }
        jit_op_guest(b, 0x8b, dst, a, 0);
        return true;
    default: jit_op_guest(b, 0x8b, dst, a, w); return bits == 32;
    }
}

static void jit_store_mo(JitCtx *c, int src, JitMem a, unsigned mo)
{
    switch (mo & MO_SIZE) {
    case MO_8: jit_op_guest(&c->b, 0x88, src, a, JM_BYTEREG); break;
    case MO_16: jit_op_guest(&c->b, 0x89, src, a, JM_66); break;
    case MO_32: jit_op_guest(&c->b, 0x89, src, a, 0); break;
    default: jit_op_guest(&c->b, 0x89, src, a, JM_W); break;
    }
}

/* --- helper calls ------------------------------------------------------------------------------------ */

static const int jit_argreg[TCG_MAX_HELPER_ARGS] = {JR_RDI, JR_RSI, JR_RDX, JR_RCX, JR_R8, JR_R9};

/*
 * Call fn with up to six arguments (temps; -1 for env) and put its result (ret >= 0). Unless the helper is
 * pure, env is made exact first (it may read the state or raise an exception); unless it promises not to
 * touch the guest registers, their cached copies are forgotten after it.
 */
void jit_call_fn(JitCtx *c, const void *fn, int nargs, const TCGTemp *args, TCGTemp ret, bool ret32,
                        unsigned flags)
{
    if (!(flags & TCG_CALL_PURE)) {
        jit_sync_exact(c);
    }
    jit_regs_free_caller_saved(c);
    for (int i = 0; i < nargs; i++) {
        /* A 32-bit argument's upper half is the callee's to ignore (SysV). */
        jit_get(c, jit_argreg[i], args[i], 64);
    }
    jit_reloc(c, jit_movabs(&c->b, JR_RAX, (uintptr_t)fn), JIT_RELOC_FN, (int64_t)(uintptr_t)fn);
    jit_op_reg(&c->b, 0xff, 2, JR_RAX, 0);   /* call rax */
    if (flags & TCG_CALL_NO_RETURN) {
        return;   /* nothing after it runs (jit_leaves) */
    }
    if (!(flags & (TCG_CALL_NO_RW_GLOBALS | TCG_CALL_PURE))) {
        jit_regs_drop_globals(c);
    } else {
        jit_regs_reload_caller_saved_pins(c);
    }
    if (ret >= 0) {
        if (ret32) {
            jit_op_rr(&c->b, JOP_MOV_STORE, JR_RAX, JR_RAX, 32);
        }
        jit_put(c, ret, JR_RAX, ret32);
    }
}

static int jit_call(JitCtx *c, const TCGOp *op)
{
    const TCGHelperInfo *h = op->helper;
    if (!h || !h->func || h->nargs > TCG_MAX_HELPER_ARGS) {
        return -EINVAL;
    }
    for (int i = 0; i < h->nargs; i++) {
        if (!jit_temp_ok(c->s, op->call_args[i])) {
            return -EINVAL;
        }
    }
    TCGTemp ret = -1;
    if (h->ret != TCG_ARG_VOID) {
        if (!jit_temp_ok(c->s, op->call_ret) || jit_slot(c, op->call_ret) < 0) {
            return -EINVAL;
        }
        ret = op->call_ret;
    }
    jit_call_fn(c, h->func, h->nargs, op->call_args, ret, h->ret == TCG_ARG_I32, h->flags);
    return 0;
}

static void jit_flush_pc(JitCtx *c);

/* Before a user-mode access: a fault site for it, or (no room for one) dirty globals and pc written back. */
bool jit_mem_site_open(JitCtx *c)
{
    /* With cross-instruction branches the pc of the current path is only known at run time. */
    if (!c->cross_branches && jit_site_open(c, c->pending_pc)) {
        return true;
    }
    jit_sync_exact(c);
    jit_flush_pc(c);
    return false;
}

void jit_mem_site_close(JitCtx *c, bool site, const uint8_t *start)
{
    if (site) {
        jit_site_close(c, start, c->b.p);
    }
}

/* Guest memory ops. A fault must see the exact state: in system mode dirty globals are written back first;
   in user mode the access is a fault site (jit-sites.c). */
static void jit_guest_mem(JitCtx *c, const TCGOp *op, int bits, TCGTemp base, int32_t disp, TCGTemp index,
                          unsigned scale)
{
    unsigned mo = (unsigned)op->cargs[0];
    if (c->soft_mem) {
        jit_soft_mem(c, op, bits, base, disp);   /* never given an index (jit_fold_index) */
        return;
    }
    /* A constant base (a non-PIE program's globals: guest_base is 0) that fits in a displacement needs no
       register: an absolute address, plus the index if there is one. */
    bool absolute = false;
    if (jit_is_const(c, base)) {
        uint64_t v = jit_const_value(c, base, TCG_I64) + (uint64_t)(int64_t)disp;
        if ((int64_t)v == (int32_t)v) {
            absolute = true;
            disp = (int32_t)v;
        }
    }
    switch (op->opc) {
    case INDEX_op_guest_ld: {
        int rb = absolute ? -1 : jit_use(c, base);
        JitMem a = {rb, index >= 0 ? jit_use(c, index) : -1, scale, disp};
        /* The sites' register list is taken before the destination is allocated: a register given to it
           still holds its old contents when the load faults. */
        bool site = jit_mem_site_open(c);
        /* A dead result still loads: the access may fault. */
        bool dead = jit_dead_after(c, op->args[0]);
        int rd = dead ? JR_RAX : jit_def(c, op->args[0], -1, -1);
        const uint8_t *at = c->b.p;
        bool zext = jit_load_mo(c, rd, a, mo, bits);
        jit_mem_site_close(c, site, at);
        if (!dead) {
            c->reg_zext[rd] = zext;
        }
        break;
    }
    case INDEX_op_guest_st: {
        int rv = jit_use(c, op->args[0]);
        int rb = absolute ? -1 : jit_use(c, base);
        JitMem a = {rb, index >= 0 ? jit_use(c, index) : -1, scale, disp};
        bool site = jit_mem_site_open(c);
        const uint8_t *at = c->b.p;
        jit_store_mo(c, rv, a, mo);
        jit_mem_site_close(c, site, at);
        break;
    }
    default: { /* guest_ld128, guest_st128 */
        int64_t off = (int64_t)op->cargs[0];
        int rb = absolute ? -1 : jit_use(c, base);
        jit_regs_env_access(c, off, off + 16, false);
        bool site = jit_mem_site_open(c);
        const uint8_t *at = c->b.p;
        if (op->opc == INDEX_op_guest_ld128) {
            jit_op_mem(&c->b, JOP_MOVDQU_LOAD, 0, rb, -1, disp, JM_F3);
            jit_mem_site_close(c, site, at);
            jit_op_mem(&c->b, JOP_MOVDQU_STORE, 0, JIT_ENV, -1, (int32_t)off, JM_F3);
            jit_regs_env_access(c, off, off + 16, true);
        } else {
            jit_op_mem(&c->b, JOP_MOVDQU_LOAD, 0, JIT_ENV, -1, (int32_t)off, JM_F3);
            at = c->b.p;
            jit_op_mem(&c->b, JOP_MOVDQU_STORE, 0, rb, -1, disp, JM_F3);
            jit_mem_site_close(c, site, at);
        }
        break;
    }
    }
}

/* CPU-state loads and stores (ld/st): at env + offset, or through a pointer temp. */
static int jit_state_access(JitCtx *c, const TCGOp *op, int bits)
{
    unsigned mo = (unsigned)op->cargs[0];
    uint64_t off = op->cargs[1];
    bool is_st = op->opc == INDEX_op_st;
    TCGTemp base = op->args[1];
    bool env = c->s->temps[base].kind == TEMP_ENV;
    if ((int64_t)off != (int32_t)off) {
        return -EINVAL;   /* no state is that large */
    }
    int64_t lo = (int64_t)off, hi = lo + (1 << (mo & MO_SIZE));
    if (is_st && env && off == offsetof(TCGCPU, pc) && (mo & MO_SIZE) == MO_64 && jit_is_const(c, op->args[0])) {
        /* The next pc right before a goto_tb: only the unchained exit needs it (see INDEX_op_goto_tb). */
        int next = jit_next_live(c->s, c->cur_op);
        const TCGOp *n = next >= 0 ? &c->s->ops[next] : NULL;
        if (n && n->opc == INDEX_op_goto_tb && n->cargs[0] < TCG_GOTO_TB_SLOTS && !c->hdr->jmp_field[n->cargs[0]]) {
            c->deferred_pc = jit_const_value(c, op->args[0], TCG_I64);
            c->has_deferred_pc = true;
            return 0;
        }
    }
    if (env) {
        jit_regs_env_access(c, lo, hi, false);
    } else {
        /* It could point anywhere into the state. */
        jit_sync_exact(c);
    }
    if (is_st) {
        int rv = jit_use(c, op->args[0]);
        int rb = jit_use(c, base);
        int next = jit_next_live(c->s, c->cur_op);
        if (env && off == offsetof(TCGCPU, pc) && (mo & MO_SIZE) == MO_64 && !c->soft_mem && next >= 0 &&
            c->s->ops[next].opc == INDEX_op_goto_ptr) {
            /* An indirect jump: the pc goes to its lookup in rax (nothing between here and the goto_ptr
               touches rax: write-backs store from registers), and to the state only on the lookup's miss
               path. A hit enters the next block as a chained jump does, with the state's pc stale. */
            jit_mov_rr(c, JR_RAX, rv, 64);
            c->pc_in_rax = true;
        } else {
            jit_store_mo(c, rv, (JitMem){rb, -1, 0, (int32_t)off}, mo);
        }
        /* After the store: cached copies of what it may have overwritten (clean now) are stale. */
        if (env) {
            jit_regs_env_access(c, lo, hi, true);
        } else {
            jit_regs_drop_globals(c);
        }
    } else {
        int rb = jit_use(c, base);
        if (jit_dead_after(c, op->args[0])) {
            return 0;
        }
        int rd = jit_def(c, op->args[0], -1, -1);
        c->reg_zext[rd] = jit_load_mo(c, rd, (JitMem){rb, -1, 0, (int32_t)off}, mo, bits);
    }
    return 0;
}

/* --- pure ops ---------------------------------------------------------------------------------------- */

/* Group-1 ALU ops: the hand-encoded register opcode and the immediate form's /ext. */
typedef struct JitAlu {
    uint8_t rr;
    int8_t ext;
} JitAlu;

static bool jit_alu_of(TCGOpcode opc, JitAlu *a)
{
    switch (opc) {
    case INDEX_op_add: *a = (JitAlu){JOP_ADD, 0}; return true;
    case INDEX_op_or: *a = (JitAlu){JOP_OR, 1}; return true;
    case INDEX_op_and: *a = (JitAlu){JOP_AND, 4}; return true;
    case INDEX_op_sub: *a = (JitAlu){JOP_SUB, 5}; return true;
    case INDEX_op_xor: *a = (JitAlu){JOP_XOR, 6}; return true;
    default: return false;
    }
}

/* d = a OP b for add/sub/and/or/xor/mul, computed in d's register. */
static void jit_binop(JitCtx *c, const TCGOp *op, int bits)
{
    TCGTemp d = op->args[0], a = op->args[1], bt = op->args[2];
    const bool commutative = tcg_op_defs[op->opc].flags & OPF_COMMUTATIVE;
    if (commutative && jit_is_const(c, a) && !jit_is_const(c, bt)) {
        TCGTemp x = a;
        a = bt;
        bt = x;
    }
    JitAlu alu = {0, 0};
    const bool is_mul = op->opc == INDEX_op_mul;
    jit_alu_of((TCGOpcode)op->opc, &alu);
    const bool imm = jit_imm_ok(c, bt, bits);
    int ra = jit_use(c, a);
    int rb = imm ? -1 : jit_use(c, bt);
    int32_t iv = imm ? jit_imm32(c, bt) : 0;
    int rd = jit_def(c, d, a, bt);
    JitBuf *b = &c->b;
    if (rd != ra && (op->opc == INDEX_op_add || (op->opc == INDEX_op_sub && imm && iv != INT32_MIN))) {
        /* Three-operand add: lea (it zero-extends at 32 bits like the add would). */
        if (imm) {
            jit_op_mem(b, 0x8d, rd, ra, -1, op->opc == INDEX_op_sub ? -iv : iv, bits == 64 ? JM_W : 0);
        } else {
            jit_op_mem(b, 0x8d, rd, ra, rb, 0, bits == 64 ? JM_W : 0);
        }
    } else if (is_mul && imm) {
        jit_imul_ri(b, rd, ra, iv, bits);
    } else {
        int acc = rd;
        if (rb == rd && rd != ra) {
            if (commutative) {
                rb = ra;          /* d = b OP a, in place */
                ra = rd;
            } else {
                acc = JR_RAX;     /* d is b: compute elsewhere */
            }
        }
        jit_mov_rr(c, acc, ra, bits);
        if (is_mul) {
            jit_op_reg(b, JOP_IMUL, acc, rb, bits == 64 ? JM_W : 0);
        } else if (imm) {
            jit_alu_ri(b, alu.ext, acc, iv, bits);
        } else {
            jit_op_rr(b, alu.rr, rb, acc, bits);
        }
        if (acc != rd) {
            jit_mov_rr(c, rd, acc, 64);
        }
    }
    c->reg_zext[rd] = bits == 32;
}

static void jit_shift(JitCtx *c, const TCGOp *op, int ext, int bits)
{
    TCGTemp d = op->args[0], a = op->args[1], bt = op->args[2];
    int ra = jit_use(c, a);
    int n = -1;
    if (jit_is_const(c, bt)) {
        n = (int)(c->s->temps[bt].value & (unsigned)(bits - 1));
    } else {
        /* The count goes to cl; the host masks it to the width, as the IR defines it. */
        int rb = jit_use(c, bt);
        jit_op_rr(&c->b, JOP_MOV_STORE, rb, JR_RCX, 32);
    }
    bool azext = c->reg_zext[ra];
    int rd = jit_def(c, d, a, -1);
    if (n != 0) {
        jit_mov_rr(c, rd, ra, bits);
        jit_shift_ri(&c->b, ext, rd, n, bits);
    } else if (bits == 32) {
        c->reg_zext[ra] = azext;
        jit_zext32(c, rd, ra);
    } else {
        jit_mov_rr(c, rd, ra, bits);
    }
    c->reg_zext[rd] = bits == 32;
}

/* d = f(a) for moves, extensions and one-operand ops. */
static void jit_unop(JitCtx *c, const TCGOp *op, int bits)
{
    TCGTemp d = op->args[0], a = op->args[1];
    JitBuf *b = &c->b;
    if (jit_dead_after(c, d)) {
        return;
    }
    int ra = jit_use(c, a);
    bool azext = c->reg_zext[ra];
    int rd = jit_def(c, d, a, -1);
    bool zext = bits == 32;
    switch (op->opc) {
    case INDEX_op_mov:
        if (bits == 64) {
            jit_mov_rr(c, rd, ra, 64);
            zext = azext;
            break;
        }
        __attribute__((fallthrough));   /* an I32 mov is a zero extension */
    case INDEX_op_ext32u:
        if (azext) {
            jit_mov_rr(c, rd, ra, 64);
        } else {
            jit_op_rr(b, JOP_MOV_STORE, ra, rd, 32);
        }
        zext = true;
        break;
    case INDEX_op_ext32s:
        if (bits == 64) {
            jit_extend(b, rd, ra, 32, true, 64);
        } else if (!azext || rd != ra) {
            jit_op_rr(b, JOP_MOV_STORE, ra, rd, 32);
        }
        break;
    case INDEX_op_ext8u: jit_extend(b, rd, ra, 8, false, 32); zext = true; break;
    case INDEX_op_ext16u: jit_extend(b, rd, ra, 16, false, 32); zext = true; break;
    case INDEX_op_ext8s: jit_extend(b, rd, ra, 8, true, bits); break;
    case INDEX_op_ext16s: jit_extend(b, rd, ra, 16, true, bits); break;
    case INDEX_op_neg: jit_mov_rr(c, rd, ra, bits); jit_unary(b, 3, rd, bits); break;
    case INDEX_op_not: jit_mov_rr(c, rd, ra, bits); jit_unary(b, 2, rd, bits); break;
    case INDEX_op_bswap: jit_mov_rr(c, rd, ra, bits); jit_bswap(b, rd, bits); break;
    default: break;
    }
    c->reg_zext[rd] = zext;
}

/* Bit fields: pos/len outside the width give what the evaluator gives (0 / the input unchanged). */
static void jit_field(JitCtx *c, const TCGOp *op, int bits)
{
    JitBuf *b = &c->b;
    uint64_t pos = op->cargs[0], len = op->cargs[1];
    bool valid = !(len == 0 || pos >= (uint64_t)bits || len > bits - pos);
    if (op->opc == INDEX_op_extract && valid) {
        /* The hot one (flag bits): in the result's register. */
        if (jit_dead_after(c, op->args[0])) {
            return;
        }
        int ra = jit_use(c, op->args[1]);
        int rd = jit_def(c, op->args[0], op->args[1], -1);
        int w = len + pos <= 32 ? 32 : bits;
        bool azext = c->reg_zext[ra];
        jit_mov_rr(c, rd, ra, w);
        if (pos) {
            jit_shift_ri(b, 5, rd, (int)pos, w);
        }
        if (len < 32) {
            jit_alu_ri(b, 4, rd, (int32_t)((1u << len) - 1), 32);
        } else if (len == 32 && (pos || rd != ra || !azext)) {
            jit_op_rr(b, JOP_MOV_STORE, rd, rd, 32);
        } else if (len < 64) {
            jit_shift_ri(b, 4, rd, (int)(64 - len), 64);
            jit_shift_ri(b, 5, rd, (int)(64 - len), 64);
        }
        c->reg_zext[rd] = len <= 32;
        return;
    }
    if (op->opc == INDEX_op_sextract && valid && pos == 0 && (len == 8 || len == 16 || len == 32)) {
        /* Sign extension of a low byte, word or dword: one movsx. */
        if (jit_dead_after(c, op->args[0])) {
            return;
        }
        int ra = jit_use(c, op->args[1]);
        int rd = jit_def(c, op->args[0], op->args[1], -1);
        jit_extend(b, rd, ra, (int)len, true, len == 32 ? 64 : bits);
        if (bits == 32 && len == 32 && rd != ra) {
            jit_op_rr(b, JOP_MOV_STORE, ra, rd, 32);
        }
        c->reg_zext[rd] = bits == 32 && len < 32;
        return;
    }
    if (op->opc == INDEX_op_deposit && valid && (len == 8 || len == 16)) {
        /* A byte or word (8- and 16-bit guest register writes): the host's partial register move keeps
           the rest, as x86 does; elsewhere than the low end (AH, CH, DH, BH) between two rotates. */
        if (jit_dead_after(c, op->args[0])) {
            return;
        }
        int ra = jit_use(c, op->args[1]);
        int rb = jit_use(c, op->args[2]);
        bool azext = c->reg_zext[ra];
        int rd = jit_def(c, op->args[0], op->args[1], op->args[2]);
        int rw = rd == rb && rd != ra ? JR_RAX : rd;   /* the result replaces the inserted value: via rax */
        jit_mov_rr(c, rw, ra, 64);
        if (pos) {
            jit_shift_ri(b, 1, rw, (int)pos, 64);   /* ror */
        }
        jit_mov_low(b, rw, rb, (int)len);
        if (pos) {
            jit_shift_ri(b, 0, rw, (int)pos, 64);   /* rol */
        }
        if (bits == 32 && !azext) {
            jit_op_rr(b, JOP_MOV_STORE, rw, rw, 32);
        }
        jit_mov_rr(c, rd, rw, 64);
        c->reg_zext[rd] = bits == 32 || azext;
        return;
    }
    if (op->opc == INDEX_op_deposit) {
        jit_get(c, JR_RAX, op->args[1], bits);
        if (valid) {
            uint64_t m = (len >= 64 ? ~0ULL : (1ULL << len) - 1) << pos;
            jit_get(c, JR_RCX, op->args[2], 64);
            if (pos) {
                jit_shift_ri(b, 4, JR_RCX, (int)pos, 64);
            }
            jit_movi(b, JR_RDX, m);
            jit_op_rr(b, JOP_AND, JR_RDX, JR_RCX, 64);   /* rcx &= rdx */
            jit_unary(b, 2, JR_RDX, 64);                 /* not rdx */
            jit_op_rr(b, JOP_AND, JR_RDX, JR_RAX, 64);
            jit_op_rr(b, JOP_OR, JR_RCX, JR_RAX, 64);
            if (bits == 32) {
                jit_op_rr(b, JOP_MOV_STORE, JR_RAX, JR_RAX, 32);
            }
        }
    } else if (!valid) {
        jit_movi(b, JR_RAX, 0);
    } else {
        jit_get(c, JR_RAX, op->args[1], 64);
        if (64 - pos - len) {
            jit_shift_ri(b, 4, JR_RAX, (int)(64 - pos - len), 64);
        }
        if (64 - len) {
            jit_shift_ri(b, 7, JR_RAX, (int)(64 - len), 64);
        }
        if (bits == 32) {
            jit_op_rr(b, JOP_MOV_STORE, JR_RAX, JR_RAX, 32);
        }
    }
    jit_put(c, op->args[0], JR_RAX, bits == 32);
}

/* dst = base + index << scale + disp as one host LEA (an address chain folded by jit_fold_lea). */
static void jit_lea(JitCtx *c, TCGTemp dst, const struct JitAddrFold *f)
{
    int rb = jit_use(c, f->base);
    int ri = jit_use(c, f->index);
    int rd = jit_def(c, dst, -1, -1);
    jit_op_mem(&c->b, 0x8d, rd, rb, ri, f->disp, JM_W | JM_SCALE(f->scale));
    c->reg_zext[rd] = false;
}

static int jit_pure(JitCtx *c, const TCGOp *op, int bits)
{
    JitBuf *b = &c->b;
    const TCGTemp *a = op->args;
    switch (op->opc) {
    case INDEX_op_mov:
    case INDEX_op_ext8s:
    case INDEX_op_ext8u:
    case INDEX_op_ext16s:
    case INDEX_op_ext16u:
    case INDEX_op_ext32s:
    case INDEX_op_ext32u:
    case INDEX_op_neg:
    case INDEX_op_not:
    case INDEX_op_bswap:
        jit_unop(c, op, bits);
        return 0;
    case INDEX_op_movi: {
        if (jit_dead_after(c, a[0])) {
            return 0;
        }
        uint64_t v = bits == 32 ? (uint32_t)op->cargs[0] : op->cargs[0];
        if (jit_store_const_global(c, a[0], v)) {
            return 0;
        }
        int rd = jit_def(c, a[0], -1, -1);
        jit_movi(b, rd, v);
        c->reg_zext[rd] = v <= 0xffffffffULL;
        return 0;
    }
    case INDEX_op_add:
        if (c->addr_fold[op - c->s->ops].on && !jit_dead_after(c, a[0])) {
            jit_lea(c, a[0], &c->addr_fold[op - c->s->ops]);   /* the end of an address chain (jit_fold_lea) */
            return 0;
        }
        /* fall through */
    case INDEX_op_sub:
    case INDEX_op_mul:
    case INDEX_op_and:
    case INDEX_op_or:
    case INDEX_op_xor:
        if (!jit_dead_after(c, a[0])) {
            jit_binop(c, op, bits);
        }
        return 0;
    case INDEX_op_shl: jit_shift(c, op, 4, bits); return 0;
    case INDEX_op_shr: jit_shift(c, op, 5, bits); return 0;
    case INDEX_op_sar: jit_shift(c, op, 7, bits); return 0;
    case INDEX_op_rotl: jit_shift(c, op, 0, bits); return 0;
    case INDEX_op_rotr: jit_shift(c, op, 1, bits); return 0;
    case INDEX_op_andc:
        jit_get(c, JR_RAX, a[1], bits);
        jit_get(c, JR_RCX, a[2], bits);
        jit_unary(b, 2, JR_RCX, bits);                 /* not rcx */
        jit_op_rr(b, JOP_AND, JR_RCX, JR_RAX, bits);   /* rax &= rcx */
        break;
    case INDEX_op_mulu2:
    case INDEX_op_muls2:
        jit_get(c, JR_RAX, a[2], bits);
        jit_get(c, JR_RCX, a[3], bits);
        /* One-operand form: rdx:rax = rax * rcx (edx:eax at 32 bits, each zero-extended). */
        jit_unary(b, op->opc == INDEX_op_mulu2 ? 4 : 5, JR_RCX, bits);   /* mul rcx / imul rcx */
        jit_put(c, a[0], JR_RAX, bits == 32);
        jit_put(c, a[1], JR_RDX, bits == 32);
        return 0;
    case INDEX_op_extract:
    case INDEX_op_sextract:
    case INDEX_op_deposit:
        jit_field(c, op, bits);
        return 0;
    case INDEX_op_clz:
    case INDEX_op_ctz:
        jit_get(c, JR_RDX, a[1], bits);
        jit_get(c, JR_RCX, a[2], bits);
        if (op->opc == INDEX_op_clz) {
            /* clz = index of the top set bit, flipped; BSR leaves rax undefined for 0, replaced below. */
            jit_op_reg(b, JOP_BSR, JR_RAX, JR_RDX, bits == 64 ? JM_W : 0);
            jit_alu_ri(b, 6, JR_RAX, bits - 1, bits);
        } else {
            jit_op_reg(b, JOP_BSF, JR_RAX, JR_RDX, bits == 64 ? JM_W : 0);
        }
        jit_op_rr(b, JOP_TEST, JR_RDX, JR_RDX, bits);
        jit_cmov(b, JCC_E, JR_RAX, JR_RCX, bits);
        if (bits == 32) {
            jit_op_rr(b, JOP_MOV_STORE, JR_RAX, JR_RAX, 32);
        }
        break;
    case INDEX_op_ctpop: jit_get(c, JR_RAX, a[1], bits); JI2(b, POPCNT, R(JR_RAX, 64), R(JR_RAX, 64)); break;
    case INDEX_op_setcond: {
        TCGCond cond = (TCGCond)op->cargs[0];
        if (jit_dead_after(c, a[0])) {
            return 0;
        }
        if (cond == TCG_COND_NEVER || cond == TCG_COND_ALWAYS) {
            jit_movi(b, JR_RAX, cond == TCG_COND_ALWAYS);
            break;
        }
        JitCmp k = jit_cmp_prepare(c, &cond, a[1], a[2], bits);
        int rd = jit_def(c, a[0], -1, -1);
        jit_cmp_emit(c, &k, cond);
        jit_setcc(b, jit_cc_of(cond), JR_RAX);
        jit_extend(b, rd, JR_RAX, 8, false, 32);
        c->reg_zext[rd] = true;
        return 0;
    }
    case INDEX_op_movcond: {
        TCGCond cond = (TCGCond)op->cargs[0];
        if (jit_dead_after(c, a[0])) {
            return 0;
        }
        if (cond == TCG_COND_NEVER || cond == TCG_COND_ALWAYS) {
            jit_get(c, JR_RAX, cond == TCG_COND_ALWAYS ? a[3] : a[4], bits);
            break;
        }
        JitCmp k = jit_cmp_prepare(c, &cond, a[1], a[2], bits);
        int r1 = jit_use(c, a[3]);
        int r2 = jit_use(c, a[4]);
        int rd = jit_def(c, a[0], -1, -1);
        int cc = jit_cc_of(cond);
        /* Moves keep the flags; cmov at 32 bits clears the upper half either way. */
        if (rd == r1) {
            jit_cmp_emit(c, &k, cond);
            jit_cmov(b, cc ^ 1, rd, r2, bits);
        } else {
            jit_mov_rr(c, JR_RAX, r2, bits);
            jit_cmp_emit(c, &k, cond);
            jit_cmov(b, cc, JR_RAX, r1, bits);
            jit_mov_rr(c, rd, JR_RAX, 64);
        }
        c->reg_zext[rd] = bits == 32;
        return 0;
    }
    default:
        return -EINVAL;
    }
    jit_put(c, a[0], JR_RAX, bits == 32);
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
    } else {
        jit_store_const64(&c->b, JIT_ENV, (int32_t)off, pc);
    }
    c->pc_hi_known = true;
    c->pc_hi = (uint32_t)(pc >> 32);
    c->pc_pending = false;
}

/*
 * goto_ptr and try_goto_ptr: the per-CPU jump cache. When the target's key is (pc, a 32-bit field of the
 * state), the hit path is inline: hash the pc as tcg_jmp_hash does, compare the entry's pc, jump to its
 * code. The flags need no compare: user mode's cache holds only blocks of the current flags
 * (tcg_jmp_cache_follow_flags), and jmp-cache.c keeps entries of dropped blocks out. On a miss the probe
 * goes on after itself with the pc in rax (rcx overwritten too): goto_ptr then calls the loop's own lookup,
 * which also fills the entry. Only when jit_jmp_cache_inline.
 */
static bool jit_jmp_cache_inline(const JitCtx *c)
{
    const TCGCPU *cpu = tcg_current_cpu;
    return !c->soft_mem && cpu && cpu->target && cpu->target->tb_flags_offset && TB_JMP_CACHE_BITS < 32;
}

static void jit_jmp_cache_probe(JitCtx *c, int pc_reg)
{
    JitBuf *b = &c->b;
    const int32_t key = (int32_t)offsetof(TCGCPU, jmp_key), code = (int32_t)offsetof(TCGCPU, jmp_code);
    if (pc_reg < 0) {
        jit_op_rm(b, JOP_MOV_LOAD, JR_RAX, JIT_ENV, (int32_t)offsetof(TCGCPU, pc), 64);
    } else if (pc_reg != JR_RAX) {
        jit_op_rr(b, JOP_MOV_STORE, pc_reg, JR_RAX, 64);
    }
    /* rax keeps the pc on every way to the miss path */
    jit_op_rr(b, JOP_MOV_STORE, JR_RAX, JR_RCX, 64);
    jit_shift_ri(b, 5, JR_RCX, TB_JMP_CACHE_BITS, 64);
    jit_op_rr(b, JOP_XOR, JR_RAX, JR_RCX, 64);
    jit_alu_ri(b, 4, JR_RCX, (int32_t)(TB_JMP_CACHE_SIZE - 1), 32);
    /* The slot's key [rbp + rcx*8 + key], then its code [rbp + rcx*8 + code]. Nothing is loaded from the
       block itself: a dropped block's entries are emptied (jmp-cache.c). */
    jit_op_mem(b, JOP_CMP + 2, JR_RAX, JIT_ENV, JR_RCX, key, JM_W | JM_SCALE(3));
    uint8_t *miss = jit_jcc32(b, JCC_NE, NULL);
    jit_op_mem(b, 0xff, 4, JIT_ENV, JR_RCX, code, JM_SCALE(3));   /* jmp [...] */
    jit_patch_rel32(miss, b->p, false);
}

static void jit_goto_ptr(JitCtx *c)
{
    JitBuf *b = &c->b;
    jit_sync(c, false);
    bool pc_in_rax = c->pc_in_rax;
    c->pc_in_rax = false;
    const void *find = (const void *)tcg_cpu_find_tb;
    if (c->tb->alone) {
        find = NULL;   /* back to the loop (TranslationBlock.alone) */
    } else if (c->soft_mem) {
        find = jit_soft_goto_ptr(c);   /* system mode: the soft-MMU's jump cache (jit-softmmu.c) */
    } else if (jit_jmp_cache_inline(c) && !c->pc_probed) {
        jit_jmp_cache_probe(c, pc_in_rax ? JR_RAX : -1);
    }
    if (pc_in_rax) {
        jit_op_rm(b, JOP_MOV_STORE, JR_RAX, JIT_ENV, (int32_t)offsetof(TCGCPU, pc), 64);   /* the lookup's */
    }
    if (!find) {
        jit_exit(c, -1, TCG_EXIT_NONE);
        return;
    }
    TCGTemp env = TCG_TEMP_ENV;
    jit_call_fn(c, find, 1, &env, -1, false, TCG_CALL_NO_RW_GLOBALS);
    jit_op_rr(b, JOP_TEST, JR_RAX, JR_RAX, 64);
    jit_fixup(c, jit_jcc32(b, JCC_E, NULL), -1);
    jit_op_mem(b, 0xff, 4, JR_RAX, -1, (int32_t)offsetof(TranslationBlock, entry), 0);   /* jmp [rax + entry] */
}

/* The register holding the pc op `prev` (the op before this one) stored to the state, if it still does and
   is neither rax nor rcx (a jump-cache probe's): the probe takes it from there instead of reloading it. */
static int jit_pc_just_stored(const JitCtx *c, int prev)
{
    const TCGOp *st = prev >= 0 ? &c->s->ops[prev] : NULL;
    if (!st || st->opc != INDEX_op_st || st->args[1] != TCG_TEMP_ENV || st->cargs[1] != offsetof(TCGCPU, pc) ||
        (st->cargs[0] & MO_SIZE) != MO_64) {
        return -1;
    }
    int r = c->temp_reg[st->args[0]] - 1;
    return r >= 0 && r != JR_RAX && r != JR_RCX ? r : -1;
}

static int jit_op(JitCtx *c, const TCGOp *op, int prev)
{
    JitBuf *b = &c->b;
    const TCGOpDef *def = &tcg_op_defs[op->opc];
    const int bits = op->type == TCG_I32 ? 32 : 64;

    /* Only helpers read insn_pc (to report a fault); a user-mode guest access records its pc in its fault
       site instead (jit_guest_mem), a system-mode one in its slow path (jit_soft_mem). Branches and chained
       jumps need nothing: the loop resumes from TCGCPU.pc. */
    bool inline_call = op->opc == INDEX_op_call && op->host_insn && !c->soft_mem;
    if (((def->flags & OPF_CALL) && !inline_call) || op->opc == INDEX_op_exit_tb) {
        jit_flush_pc(c);   /* exit_tb: the loop's view stays exact where the interpreter's is (cheap: rare) */
    }
    /* A miss of try_goto_ptr's probe still holds on the straight path to a goto_ptr through ops that
       change no state (the canonical check of JMP and RET): the goto_ptr then goes to the lookup. */
    if ((def->flags & OPF_SIDE_EFFECTS) && op->opc != INDEX_op_brcond && op->opc != INDEX_op_goto_ptr) {
        c->pc_probed = false;
    }
    bool branching = op->opc == INDEX_op_br || op->opc == INDEX_op_brcond || op->opc == INDEX_op_set_label;
    if (branching && c->cross_branches) {
        jit_flush_pc(c);   /* paths from other instructions meet at labels: each stores its own pc */
    }
    if (op->opc == INDEX_op_set_label) {
        /* Paths merge here, and only some of them may have stored the pc (all of them have, with cross
           branches). */
        c->pc_hi_known = false;
        c->pc_pending = !c->cross_branches;
    }

    if (inline_call) {
        return jit_host_insn(c, op);   /* its fault site records the pc */
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
    case INDEX_op_ld:
    case INDEX_op_st:
        return jit_state_access(c, op, bits);
    case INDEX_op_guest_ld:
    case INDEX_op_guest_st:
    case INDEX_op_guest_ld128:
    case INDEX_op_guest_st128: {
        TCGTemp addr = op->opc == INDEX_op_guest_ld || op->opc == INDEX_op_guest_st ? op->args[1] : op->args[0];
        TCGTemp base = addr, index = -1;
        int32_t disp = 0;
        unsigned scale = 0;
        int self = (int)(op - c->s->ops);
        if (c->addr_fold[self].on) {
            base = c->addr_fold[self].base;
            index = c->addr_fold[self].index;
            scale = c->addr_fold[self].scale;
            disp = c->addr_fold[self].disp;
        }
        disp += jit_pin_disp_of(c, base);   /* fits: jit_pin_disp_absorb checked */
        jit_guest_mem(c, op, bits, base, disp, index, scale);
        return 0;
    }
    case INDEX_op_set_label:
        if (op->cargs[0] >= (uint64_t)c->s->nb_labels || op->cargs[0] >= TCG_MAX_LABELS) {
            return -EINVAL;
        }
        /* Reached from elsewhere too: everything goes to memory on the way in, and nothing is known after. */
        if (c->unreachable) {
            /* Only branches come here: the stubs of this label's conditional ones go right before it. */
            jit_branch_stubs_before_label(c, (int)op->cargs[0]);
        } else {
            jit_sync(c, true);
        }
        jit_regs_drop_all(c);
        c->label_at[op->cargs[0]] = b->p;
        b->flags_at = NULL;   /* other paths join here */
        return 0;
    case INDEX_op_br:
        if (op->cargs[0] >= (uint64_t)c->s->nb_labels) {
            return -EINVAL;
        }
        jit_sync(c, true);
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
        if (cond == TCG_COND_ALWAYS) {
            jit_sync(c, true);
            jit_fixup(c, jit_jmp32(b, NULL), (int)op->cargs[1]);
            return 0;
        }
        TCGTemp x = op->args[0], y = op->args[1];
        int w = bits;
        if (prev >= 0 && c->folded[prev] && c->s->ops[prev].opc == INDEX_op_setcond &&
            c->s->ops[prev].args[0] == x) {
            /* brcond(setcond(a, b) != 0): one host compare and jump on the original operands. */
            const TCGOp *sc = &c->s->ops[prev];
            cond = cond == TCG_COND_EQ ? tcg_cond_invert((TCGCond)sc->cargs[0]) : (TCGCond)sc->cargs[0];
            x = sc->args[1];
            y = sc->args[2];
            w = sc->type == TCG_I32 ? 32 : 64;
        }
        JitCmp k = jit_cmp_prepare(c, &cond, x, y, w);
        /* The label reads everything from memory: the taken path writes back on its way there. */
        int stub = jit_branch_stub_open(c);
        if (stub < 0) {
            jit_sync(c, true);
        }
        jit_cmp_emit(c, &k, cond);
        uint8_t *field = jit_jcc32(b, jit_cc_of(cond), NULL);
        if (stub >= 0) {
            jit_branch_stub_close(c, stub, field, (int)op->cargs[1]);
        } else {
            jit_fixup(c, field, (int)op->cargs[1]);
        }
        return 0;
    }
    case INDEX_op_insn_start:
        c->pending_pc = op->cargs[0];
        c->pc_pending = true;
        return 0;
    case INDEX_op_goto_tb: {
        int slot = (int)op->cargs[0];
        if (op->cargs[0] >= TCG_GOTO_TB_SLOTS) {
            return -EINVAL;
        }
        jit_sync(c, false);
        if (c->hdr->jmp_field[slot]) {
            /* The slot's patchable jump exists already: go through it. */
            jit_jmp32(b, jit_block_at_offset(c->hdr, c->hdr->jmp_field[slot]) - 1);
            return 0;
        }
        /* Unchained, the jump lands on the stub right after it, which also stores the next pc: chained,
           the next block does not need it (its entry stores its own pc if it has to exit at once). */
        uint8_t *field = jit_jmp32_aligned(b, NULL);
        if (!field) {
            return 0;   /* out of room: the compile fails on b->overflow */
        }
        c->hdr->jmp_field[slot] = (uint16_t)(field - (uint8_t *)c->hdr);   /* < JIT_MAX_BLOCK_BYTES */
        c->hdr->stub[slot] = (uint16_t)(b->p - (uint8_t *)c->hdr);
        if (c->has_deferred_pc) {
            jit_store_pc(c, c->deferred_pc);
            c->has_deferred_pc = false;
        }
        jit_exit(c, slot, TCG_EXIT_NONE);
        return 0;
    }
    case INDEX_op_try_goto_ptr:
        /* A hit leaves the block as goto_ptr does (the state exact but for the pins); a miss goes on with
           every register but the two the probe overwrites. */
        if (!c->tb->alone && jit_jmp_cache_inline(c)) {
            jit_sync(c, false);
            jit_regs_clobber(c, (uint16_t)(1u << JR_RAX | 1u << JR_RCX));
            jit_jmp_cache_probe(c, jit_pc_just_stored(c, prev));
            c->pc_probed = true;
        }
        return 0;
    case INDEX_op_goto_ptr:
        jit_goto_ptr(c);
        return 0;
    case INDEX_op_exit_tb:
        jit_sync(c, false);
        jit_store_imm32(b, JIT_ENV, (int32_t)offsetof(TCGCPU, exit_reason), (int32_t)op->cargs[0], 32);
        jit_exit(c, -1, (TCGExitReason)op->cargs[0]);
        return 0;
    default:
        return jit_pure(c, op, bits);
    }
}

/* The next op after i that is emitted, or -1. */
static int jit_next_live(const TCGContext *s, int i)
{
    for (int j = i + 1; j < s->nb_ops; j++) {
        if (!s->ops[j].dead) {
            return j;
        }
    }
    return -1;
}

/*
 * Whether op i is "t = x + const" whose only reader is the guest access right after it: then the access
 * addresses [x + const] and the add is not emitted (x cannot change in between).
 */
static bool jit_foldable(const JitCtx *c, int i)
{
    const TCGContext *s = c->s;
    const TCGOp *op = &s->ops[i];
    if (op->opc == INDEX_op_setcond) {
        /* A flag computed only for the branch right after it (see INDEX_op_brcond). */
        TCGCond cond = (TCGCond)op->cargs[0];
        int j = jit_next_live(s, i);
        if (j < 0 || cond == TCG_COND_NEVER || cond == TCG_COND_ALWAYS || cond > TCG_COND_TSTNE ||
            s->temps[op->args[0]].kind != TEMP_LOCAL) {
            return false;
        }
        const TCGOp *br = &s->ops[j];
        TCGCond bc = (TCGCond)br->cargs[0];
        return br->opc == INDEX_op_brcond && br->args[0] == op->args[0] && (bc == TCG_COND_NE || bc == TCG_COND_EQ) &&
               jit_temp_ok(s, br->args[1]) && jit_is_const(c, br->args[1]) &&
               jit_const_value(c, br->args[1], br->type) == 0 && br->args[0] != op->args[1] &&
               br->args[0] != op->args[2];
    }
    if (op->opc != INDEX_op_add || op->type != TCG_I64) {
        return false;
    }
    TCGTemp t = op->args[0], x = op->args[1], k = op->args[2];
    if (!jit_temp_ok(s, t) || !jit_temp_ok(s, x) || !jit_temp_ok(s, k) || s->temps[t].kind != TEMP_LOCAL ||
        !jit_imm_ok(c, k, 64) || jit_is_const(c, x) || s->temps[x].kind == TEMP_ENV || t == x) {
        return false;
    }
    if (c->soft_mem && (int64_t)s->temps[k].value > INT32_MAX - 16) {
        return false;   /* the soft-MMU's lookup addresses the access's last byte as [x + const + 15] at most */
    }
    int j = jit_next_live(s, i);
    if (j < 0) {
        return false;
    }
    const TCGOp *m = &s->ops[j];
    switch (m->opc) {
    case INDEX_op_guest_ld: return m->args[1] == t && m->args[0] != t;
    case INDEX_op_guest_st: return m->args[1] == t && m->args[0] != t;
    case INDEX_op_guest_ld128:
    case INDEX_op_guest_st128: return m->args[0] == t;
    default: return false;
    }
}

/* The access at j addresses [base + index << scale + disp]: base and index are read by it now. */
static void jit_note_addr(JitCtx *c, int j, TCGTemp base, TCGTemp index, uint8_t scale, int32_t disp)
{
    c->addr_fold[j].on = true;
    c->addr_fold[j].base = base;
    c->addr_fold[j].index = index;
    c->addr_fold[j].scale = scale;
    c->addr_fold[j].disp = disp;
    if (c->last_use[base] < j) {
        c->last_use[base] = j;
    }
    if (index >= 0 && c->last_use[index] < j) {
        c->last_use[index] = j;
    }
}

static int jit_prev_live(const TCGContext *s, int i)
{
    for (int j = i - 1; j >= 0; j--) {
        if (!s->ops[j].dead) {
            return j;
        }
    }
    return -1;
}

/* A local read only once (by the op that folds it), never the env or a constant. */
static bool jit_single_use_local(const JitCtx *c, TCGTemp t)
{
    return jit_temp_ok(c->s, t) && c->s->temps[t].kind == TEMP_LOCAL && c->nuses[t] == 1;
}

static bool jit_plain_reg(const JitCtx *c, TCGTemp t)
{
    return jit_temp_ok(c->s, t) && !jit_is_const(c, t) && c->s->temps[t].kind != TEMP_ENV;
}

/*
 * The translator's address chain (gen_lea) ending at op d, the ops right before it: [f: p = base + disp,]
 * e: sc = index << scale, d: a = p + sc. Each is a local read only by the next, and they are adjacent, so
 * base and index hold the same values at d. `avoid` (a temp d's consumer writes, or -1) is none of them.
 * With const_base, p may be a constant (a table in a non-PIE program: jit_guest_mem addresses it
 * absolutely, [index << scale + disp32]).
 */
typedef struct JitLeaChain {
    int e, f;             /* the shift, and the base + disp add (-1: none) */
    TCGTemp base, index;
    uint8_t scale;
    int32_t disp;
} JitLeaChain;

static bool jit_lea_chain(const JitCtx *c, int d, TCGTemp avoid, bool const_base, JitLeaChain *ch)
{
    const TCGContext *s = c->s;
    int e = d >= 0 ? jit_prev_live(s, d) : -1;
    if (e < 0 || c->folded[d] || c->folded[e]) {
        return false;
    }
    const TCGOp *dop = &s->ops[d], *eop = &s->ops[e];
    if (dop->opc != INDEX_op_add || dop->type != TCG_I64 || eop->opc != INDEX_op_shl || eop->type != TCG_I64) {
        return false;
    }
    TCGTemp sc = eop->args[0], index = eop->args[1], p;
    if (dop->args[2] == sc) {
        p = dop->args[1];
    } else if (dop->args[1] == sc) {
        p = dop->args[2];
    } else {
        return false;
    }
    bool p_const = const_base && jit_temp_ok(s, p) && jit_is_const(c, p);
    if (!jit_single_use_local(c, sc) || !jit_is_const(c, eop->args[2]) || s->temps[eop->args[2]].value > 3 ||
        !jit_plain_reg(c, index) || !(p_const || jit_plain_reg(c, p)) || p == sc || index == sc || avoid == sc) {
        return false;
    }
    *ch = (JitLeaChain){e, -1, p, index, (uint8_t)s->temps[eop->args[2]].value, 0};
    int f = jit_prev_live(s, e);
    if (f >= 0 && !c->folded[f] && !p_const) {
        const TCGOp *fop = &s->ops[f];
        if (fop->opc == INDEX_op_add && fop->type == TCG_I64 && fop->args[0] == p && jit_single_use_local(c, p) &&
            jit_imm_ok(c, fop->args[2], 64) && jit_plain_reg(c, fop->args[1]) && fop->args[1] != p &&
            index != p && avoid != p) {
            ch->f = f;
            ch->base = fop->args[1];
            ch->disp = jit_imm32(c, fop->args[2]);
        }
    }
    return true;
}

/* The chain's shift and add are not emitted: op `at` uses [base + index << scale + disp] instead. */
static void jit_fold_chain(JitCtx *c, int at, const JitLeaChain *ch)
{
    c->folded[ch->e] = true;
    if (ch->f >= 0) {
        c->folded[ch->f] = true;
    }
    jit_note_addr(c, at, ch->base, ch->index, ch->scale, ch->disp);
}

/* A user-mode guest load or store at j whose address is such a chain: one host addressing mode. */
static void jit_fold_index(JitCtx *c, int j)
{
    const TCGContext *s = c->s;
    const TCGOp *m = &s->ops[j];
    if (c->soft_mem || (m->opc != INDEX_op_guest_ld && m->opc != INDEX_op_guest_st)) {
        return;
    }
    TCGTemp a = m->args[1];
    int d = jit_prev_live(s, j);
    JitLeaChain ch;
    if (d < 0 || !jit_single_use_local(c, a) || m->args[0] == a || s->ops[d].args[0] != a ||
        s->ops[d].args[1] == a || s->ops[d].args[2] == a || !jit_lea_chain(c, d, m->args[0], true, &ch) ||
        ch.index == a || ch.base == a) {
        return;
    }
    c->folded[d] = true;
    jit_fold_chain(c, j, &ch);
}

/* An add ending such a chain whose sum is not an address (an LEA instruction): one host LEA. */
static void jit_fold_lea(JitCtx *c, int d)
{
    JitLeaChain ch;
    if (c->s->ops[d].opc == INDEX_op_add && !c->addr_fold[d].on && jit_lea_chain(c, d, -1, false, &ch)) {
        jit_fold_chain(c, d, &ch);
    }
}

/* How many labels the block's per-label arrays cover (at most TCG_MAX_LABELS: jit_op rejects the rest). */
static uint64_t jit_nlabels(const TCGContext *s)
{
    return s->nb_labels <= 0 ? 0 : s->nb_labels < TCG_MAX_LABELS ? (uint64_t)s->nb_labels : TCG_MAX_LABELS;
}

/*
 * One pass over the block: the last op that reads each temp and how often; whether any branch goes
 * backward (then nothing dies); and whether a branch goes to a label in another instruction
 * (cross_branches). The x86 translator's never do: its labels are inside one instruction's code. Then the
 * pc of the instruction is right on every path to a label, and branches need not store it; otherwise they
 * all do, see jit_op. A label's pc is known at its set_label; a branch before it is remembered by its pc
 * (every branch to the label must be in that instruction) and compared there.
 */
static void jit_liveness(JitCtx *c)
{
    const TCGContext *s = c->s;
    const uint64_t nlabels = jit_nlabels(s);
    bool label_seen[TCG_MAX_LABELS];
    uint64_t label_pc[TCG_MAX_LABELS];    /* the label's instruction, once its set_label is seen */
    bool branched[TCG_MAX_LABELS];        /* a branch to it came before its set_label... */
    uint64_t branch_pc[TCG_MAX_LABELS];   /* ...in this instruction */
    memset(label_seen, 0, sizeof(label_seen[0]) * nlabels);
    memset(branched, 0, sizeof(branched[0]) * nlabels);
    uint64_t pc = ~0ULL;
    c->cross_branches = false;
    /* Only the block's temps (and the last one, which jit_temp_ok also accepts) are ever looked at. */
    for (int t = 0; t < s->nb_temps; t++) {
        c->last_use[t] = -1;
    }
    c->last_use[TCG_MAX_TEMPS - 1] = -1;
    memset(c->nuses, 0, sizeof(c->nuses[0]) * (size_t)s->nb_temps);
    c->nuses[TCG_MAX_TEMPS - 1] = 0;
    for (int i = 0; i < s->nb_ops; i++) {
        const TCGOp *op = &s->ops[i];
        c->folded[i] = false;
        c->addr_fold[i].on = false;
        if (op->dead || op->opc >= TCG_OP_COUNT) {
            continue;
        }
        if (op->opc == INDEX_op_insn_start) {
            pc = op->cargs[0];
            continue;
        }
        const TCGTemp *in;
        int n = tcg_op_inputs(op, &in);
        for (int a = 0; a < n && a < TCG_MAX_HELPER_ARGS; a++) {
            if (in[a] >= 0 && in[a] < TCG_MAX_TEMPS) {
                c->last_use[in[a]] = i;
                c->nuses[in[a]]++;
            }
        }
        if (op->opc == INDEX_op_call) {
            continue;
        }
        uint64_t label = op->opc == INDEX_op_set_label ? op->cargs[0]
                         : op->opc == INDEX_op_br      ? op->cargs[0]
                         : op->opc == INDEX_op_brcond  ? op->cargs[1]
                                                       : ~0ULL;
        if (label < nlabels) {
            if (op->opc == INDEX_op_set_label) {
                label_seen[label] = true;
                label_pc[label] = pc;
                c->cross_branches |= branched[label] && branch_pc[label] != pc;
            } else if (label_seen[label]) {
                c->has_back_branch = true;
                c->cross_branches |= label_pc[label] != pc;
            } else if (!branched[label]) {
                branched[label] = true;
                branch_pc[label] = pc;
            } else {
                c->cross_branches |= branch_pc[label] != pc;
            }
        }
    }
    for (uint64_t l = 0; l < nlabels; l++) {
        c->cross_branches |= branched[l] && !label_seen[l];   /* to a label never set: assume the worst */
    }
    /* Address folding needs the use counts, so it is a second pass; the base is then read by the access. */
    for (int i = 0; i < s->nb_ops; i++) {
        if (!s->ops[i].dead) {
            jit_fold_index(c, i);
        }
    }
    for (int i = 0; i < s->nb_ops; i++) {
        const TCGOp *op = &s->ops[i];
        if (!op->dead && !c->folded[i] && (op->opc == INDEX_op_add || op->opc == INDEX_op_setcond) &&
            jit_temp_ok(s, op->args[0]) &&
            c->nuses[op->args[0]] == 1 && jit_foldable(c, i)) {
            /* Its inputs are read by the next op instead. */
            c->folded[i] = true;
            int j = jit_next_live(s, i);
            if (op->opc == INDEX_op_add) {
                jit_note_addr(c, j, op->args[1], -1, 0, jit_imm32(c, op->args[2]));
                continue;
            }
            for (int a = 1; a <= 2; a++) {
                if (c->last_use[op->args[a]] < j) {
                    c->last_use[op->args[a]] = j;
                }
            }
        }
    }
    for (int i = 0; i < s->nb_ops; i++) {
        if (!s->ops[i].dead && !c->folded[i]) {
            jit_fold_lea(c, i);
        }
    }
}

/*
 * Whether op's lowering leaves rdx alone, so that a temp may stay there across it: the common ops, which
 * use rax and rcx as scratch at most. Not mul2's rdx:rax, clz/ctz, the general deposit, calls (a helper's
 * third argument, a host instruction's implicit registers), exits (rdx carries the exit to the epilogue),
 * labels and the soft-MMU's paths (system mode never puts a temp in rdx).
 */
static bool jit_op_keeps_rdx(const JitCtx *c, const TCGOp *op)
{
    if (c->soft_mem) {
        return false;
    }
    switch (op->opc) {
    case INDEX_op_insn_start:
    case INDEX_op_mov: case INDEX_op_movi:
    case INDEX_op_add: case INDEX_op_sub: case INDEX_op_mul:
    case INDEX_op_and: case INDEX_op_or: case INDEX_op_xor: case INDEX_op_andc:
    case INDEX_op_shl: case INDEX_op_shr: case INDEX_op_sar: case INDEX_op_rotl: case INDEX_op_rotr:
    case INDEX_op_neg: case INDEX_op_not: case INDEX_op_bswap: case INDEX_op_ctpop:
    case INDEX_op_ext8s: case INDEX_op_ext8u: case INDEX_op_ext16s: case INDEX_op_ext16u:
    case INDEX_op_ext32s: case INDEX_op_ext32u:
    case INDEX_op_extract: case INDEX_op_sextract:
    case INDEX_op_setcond: case INDEX_op_movcond: case INDEX_op_brcond:
    case INDEX_op_ld: case INDEX_op_st:
    case INDEX_op_guest_ld: case INDEX_op_guest_st: case INDEX_op_guest_ld128: case INDEX_op_guest_st128:
        return true;
    case INDEX_op_deposit: {
        /* jit_field's byte and word form only */
        uint64_t pos = op->cargs[0], len = op->cargs[1];
        int bits = op->type == TCG_I32 ? 32 : 64;
        return (len == 8 || len == 16) && pos < (uint64_t)bits && len <= bits - pos;
    }
    default:
        return false;
    }
}

/* Whether the code of op ends with a jump away (nothing after it is reached by falling through). */
static bool jit_leaves(const TCGOp *op)
{
    switch (op->opc) {
    case INDEX_op_br:
    case INDEX_op_goto_tb:
    case INDEX_op_goto_ptr:
    case INDEX_op_exit_tb:
        return true;
    case INDEX_op_brcond:
        return op->cargs[0] == TCG_COND_ALWAYS;
    case INDEX_op_call:
        /* raise_exception and its kind leave through the exception path */
        return !op->host_insn && op->helper && (op->helper->flags & TCG_CALL_NO_RETURN);
    default:
        return false;
    }
}

/* Bytes of host code an op may need at most (calls, bit fields and write-backs are the longest). */
#define JIT_MAX_OP_BYTES 128
#define JIT_BLOCK_EXTRA 512

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
    /* Soft-MMU calls make constants: keep room for them. */
    if (s->nb_temps > TCG_MAX_TEMPS - 8) {
        return -E2BIG;
    }
    size_t max = (size_t)nlive * JIT_MAX_OP_BYTES + JIT_BLOCK_EXTRA;
    if (max > JIT_MAX_BLOCK_BYTES) {
        max = JIT_MAX_BLOCK_BYTES;   /* a block that outgrows it overflows: -E2BIG, and it is made shorter */
    }
    bool flushed;
    uint8_t *start = jit_buf_reserve(max, &flushed);
    if (!start) {
        return -ENOMEM;
    }
    /* Flushes happen only under the buffer lock, which we hold: this is the generation of the slice the
       code goes to (tb_insert refuses the block if another flush comes before it is published). */
    tb->flush_gen = tb_flush_generation();
    /* One context per translating thread, reused: only the parts this block uses are reset. */
    static GPrivate jit_ctx_key = G_PRIVATE_INIT(g_free);
    JitCtx *c = tcg_thread_scratch(&jit_ctx_key, sizeof(JitCtx));
    memset(c->label_at, 0, sizeof(c->label_at[0]) * (size_t)s->nb_labels);
    jit_compiled_last = NULL;
    c->nfix = 0;
    c->nrelocs = 0;
    c->immovable = s->host_pointers;
    c->nstubs = c->stub_bytes = 0;
    c->unreachable = false;
    c->cur_op = 0;
    c->has_back_branch = false;
    c->pc_pending = c->pc_hi_known = false;
    c->pc_probed = false;
    c->s = s;
    c->tb = tb;
    c->pins = NULL;
    if (tcg_current_cpu) {
        jit_pins_prepare(tcg_current_cpu);
        c->pins = jit_pins_for(tcg_current_cpu);
    }
    jit_regs_reset(c);
    jit_sites_reset(c);
    c->hdr = (JitBlock *)(void *)start;
    memset(c->hdr, 0, JIT_BLOCK_HDR);
    c->b = (JitBuf){.start = start, .p = start + JIT_BLOCK_HDR, .end = start + max};
    /* Only system mode sets TCGCPU.mem, and the compiling thread is the one that will run the block. */
    c->soft_mem = tcg_current_cpu && tcg_current_cpu->mem;

    /* Entry: honour an exit request before running anything (looked-up entries, and chained jumps that do
       not go forward: see jit_chain). */
    jit_alu_mi(&c->b, 7, JIT_ENV, (int32_t)offsetof(TCGCPU, exit_request), 0, 32);
    uint8_t *entry_exit = jit_jcc32(&c->b, JCC_NE, NULL);
    c->hdr->check_bytes = (uint32_t)(c->b.p - JIT_ENTRY(start));
    /* A cold block counts its runs down (in its TranslationBlock: never in a code page, which a write would
       turn into self-modifying code for the host) and at zero asks the loop for its optimized form. */
    uint8_t *hot_exit = NULL;
    if (tb->cold && !c->soft_mem) {
        jit_reloc(c, jit_movabs(&c->b, JR_RAX, (uintptr_t)&tb->runs_left), JIT_RELOC_TB,
                  (int64_t)offsetof(TranslationBlock, runs_left));
        jit_alu_mi(&c->b, 5, JR_RAX, 0, 1, 32);   /* sub dword [rax], 1 */
        hot_exit = jit_jcc32(&c->b, JCC_E, NULL);
    }
    c->has_deferred_pc = false;
    c->pc_in_rax = false;

    jit_liveness(c);
    c->next_reads = !tb->cold;
    if (c->next_reads) {
        jit_regs_next_reads(c);
    }
    int err = 0;
    int prev = -1;
    int nops = s->nb_ops;   /* soft-MMU lowering may add constants, never ops */
    for (int i = 0; i < nops; i++) {
        c->keeps_rdx[i] = s->ops[i].dead || c->folded[i] || jit_op_keeps_rdx(c, &s->ops[i]);
    }
    for (int i = 0; i < nops && !err; i++) {
        if (s->ops[i].dead) {
            continue;
        }
        jit_regs_begin_op(c, i);
        if (!c->keeps_rdx[i]) {
            jit_regs_reserve_rdx(c);   /* holds nothing by jit_rdx_fits: only keeps the op's code out */
        }
        if (!c->folded[i]) {
            const TCGOp *op = &s->ops[i];
            if (c->unreachable && op->opc != INDEX_op_set_label && op->opc != INDEX_op_insn_start) {
                continue;   /* after a jump away and before a label: nothing gets here (an exception's exit_tb) */
            }
            err = jit_pin_disp_absorb(c, i) ? 0 : jit_op(c, op, prev);
            c->unreachable = jit_leaves(op) || (c->unreachable && op->opc == INDEX_op_insn_start);
        }
        prev = i;
    }
    /* Falling off the end is exit_tb(NONE); most blocks end with a jump away instead. */
    if (!c->unreachable) {
        jit_pin_disp_settle(c);
        jit_flush_pc(c);
        jit_sync(c, false);
        jit_store_imm32(&c->b, JIT_ENV, (int32_t)offsetof(TCGCPU, exit_reason), 0, 32);
        jit_exit(c, -1, TCG_EXIT_NONE);
    }
    uint8_t *exit_stub = c->b.p;
    jit_exit(c, -1, TCG_EXIT_NONE);
    /* An exit request at entry: a chained predecessor did not store the pc, so this block does. */
    jit_patch_rel32(entry_exit, c->b.p, false);
    /* tb->pc is the guest pc, except in system mode, where it is physical: there the translator started at
       the CPU's pc. */
    jit_store_pc(c, c->soft_mem ? tcg_current_cpu->pc : tb->pc);
    jit_jmp32(&c->b, exit_stub);
    if (hot_exit) {
        jit_patch_rel32(hot_exit, c->b.p, false);
        jit_store_pc(c, tb->pc);
        jit_exit(c, TCG_SLOT_HOT, TCG_EXIT_NONE);
    }
    jit_soft_finish(c);   /* the soft-MMU's slow paths, out of the way */
    jit_branch_stubs_finish(c);
    uint8_t *exit_tail = jit_exit_tail(c);

    for (int i = 0; i < c->nfix && !err; i++) {
        const JitFixup *f = &c->fix[i];
        uint8_t *target = f->label == JIT_FIX_EXIT_TAIL ? exit_tail : f->label < 0 ? exit_stub : c->label_at[f->label];
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
    uint32_t code_size = (uint32_t)(c->b.p - start);
    jit_sites_finish(c);
    if (c->b.overflow) {
        jit_buf_commit(NULL);
        return -E2BIG;
    }
    tb->code = start;
    tb->entry = JIT_ENTRY(start);
    tb->code_size = code_size;
    jit_compiled_last = c;
    jit_buf_commit(c->b.p);
    if (jit_dump_enabled()) {
        jit_dump_block(tb);
    }
    jit_perfmap_block(tb);
    return 0;
}
