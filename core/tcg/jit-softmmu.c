/*
 * System-mode guest memory in the JIT: the soft-MMU's TLB lookup inline (softmmu.h), with a call into the
 * target's TCGCPU.mem only on a miss. Internal to core/tcg; jit-compile.c calls jit_soft_mem for
 * guest_ld/st/ld128/st128 when the block's CPU has a soft-MMU, and jit_soft_finish once the block's body
 * is emitted. It also gives goto_ptr its inline lookup in system mode (jit_soft_goto_ptr: the soft-MMU's
 * jump cache, keyed by virtual pc, see SoftMMUTable). A CPU whose TCGCPU.mem has no TLB (mem_tlb NULL)
 * always takes the call.
 *
 * The hit path, for an access of `size` bytes at the address A (a register, plus a constant folded in):
 *     rcx = ((A >> (PAGE_BITS - ENTRY_BITS)) & ((TLB_SIZE - 1) << ENTRY_BITS)) + TCGCPU.mem_tlb
 *     rax = (A + size - 1) & PAGE_MASK          the page of the access's last byte
 *     cmp rax, [rcx + tag]; jne slow           one compare: a miss, MMIO or code page (flag bits in the
 *                                               tag), or an access crossing into the next page (its last
 *                                               byte's page is never the tag of the first byte's slot)
 *     load/store [A + [rcx + addend]]
 * Nothing on it can fault, so guest registers cached in host registers are not written back there, nor is
 * the instruction's pc: the slow path, emitted after the block's body, writes back exactly what jit_sync
 * (and the pc store) would have before the access, keeps the caller-saved registers that hold values,
 * calls the target (which may fault: env is then exact), puts the result where the hit path would, and
 * jumps back. The register allocator's view is the same after both paths.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/jit-ctx.h"
#include "core/tcg/softmmu.h"

/* The out-of-line calls: the target's soft-MMU through TCGCPU.mem. */
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

/* --- raw encodings the emitter lacks: the slow path's pushes and pops --- */

static bool soft_room(JitBuf *b, int n)
{
    if (b->overflow || b->end - b->p < n) {
        b->overflow = true;
        return false;
    }
    return true;
}

static void soft_push_pop(JitBuf *b, int reg, bool pop)
{
    if (!soft_room(b, 2)) {
        return;
    }
    if (reg >= 8) {
        *b->p++ = 0x41;
    }
    *b->p++ = (uint8_t)((pop ? 0x58 : 0x50) + (reg & 7));
}

/* Loads by memop: the opcode (0x0fxx: two bytes), whether it takes REX.W at 64 bits, and whether the upper
   half of the destination is zero afterwards at 64 bits (at 32 bits it always is). */
static const struct {
    uint16_t opcode;
    bool w64;
    bool zext64;
} soft_load_form[8] = {
    [MO_8] = {0x0fb6, false, true},   [MO_16] = {0x0fb7, false, true},
    [MO_32] = {0x8b, false, true},    [MO_64] = {0x8b, true, false},
    [MO_S8] = {0x0fbe, true, false},  [MO_S16] = {0x0fbf, true, false},
    [MO_S32] = {0x63, true, false},   [MO_S32 | MO_64] = {0x8b, true, false},
};

/* dst = the value of memop mo at [base + index + disp], extended; returns whether dst's upper half is zero. */
static bool soft_load(JitBuf *b, int dst, int base, int index, int32_t disp, unsigned mo, int bits)
{
    mo &= 7;
    unsigned opcode = soft_load_form[mo].opcode;
    if (bits == 32) {
        /* 32-bit destination: movsx r32 / plain mov r32 (an S32 load is just a 32-bit load). */
        jit_op_mem(b, mo == MO_S32 ? 0x8b : opcode, dst, base, index, disp, 0);
        return true;
    }
    jit_op_mem(b, opcode, dst, base, index, disp, soft_load_form[mo].w64 ? JM_W : 0);
    return soft_load_form[mo].zext64;
}

static void soft_store(JitBuf *b, int src, int base, int index, int32_t disp, unsigned mo)
{
    switch (mo & MO_SIZE) {
    case MO_8: jit_op_mem(b, 0x88, src, base, index, disp, JM_BYTEREG); break;
    case MO_16: jit_op_mem(b, 0x89, src, base, index, disp, JM_66); break;
    case MO_32: jit_op_mem(b, 0x89, src, base, index, disp, 0); break;
    default: jit_op_mem(b, 0x89, src, base, index, disp, JM_W); break;
    }
}

/* --- the slow paths of one block --- */

typedef struct SoftSlow {
    uint8_t *jne_field;          /* the hit path's branch here */
    uint8_t *resume;             /* where the hit path goes on */
    uint16_t opc;                /* INDEX_op_guest_ld/st/ld128/st128 */
    uint8_t mo;
    int8_t addr_reg, val_reg;    /* the address is addr_reg + disp; val_reg: a store's value */
    int32_t disp;
    int8_t dst_reg;              /* a load's result (rax: dead) */
    bool dst32;
    uint32_t env_off;            /* ld128/st128: the CPU-state bytes */
    uint16_t save;               /* caller-saved registers holding values */
    bool store_pc;               /* insn_pc is not stored yet: the slow path does it */
    uint64_t pc;
    uint8_t nwb;
    struct {
        int8_t reg;
        int32_t slot;
    } wb[16];                    /* dirty globals to write back */
} SoftSlow;

static __thread SoftSlow *soft_slow;
static __thread int soft_nslow, soft_cap;
static GPrivate soft_slow_owner = G_PRIVATE_INIT(g_free);   /* soft_slow, freed when the thread ends */

static bool soft_caller_saved(int r)
{
    return r == JR_RSI || r == JR_RDI || (r >= JR_R8 && r <= JR_R11);
}

/* What jit_sync(c, false) would write back now: every register holding a dirty global. */
static void soft_note_writebacks(const JitCtx *c, SoftSlow *s)
{
    s->nwb = 0;
    for (int r = 0; r < 16; r++) {
        TCGTemp t = c->reg_temp[r];
        if (t >= 0 && c->reg_dirty[r] && c->s->temps[t].kind == TEMP_GLOBAL) {
            s->wb[s->nwb].reg = (int8_t)r;
            s->wb[s->nwb].slot = (int32_t)jit_slot(c, t);
            s->nwb++;
        }
    }
}

static uint16_t soft_live_caller_saved(const JitCtx *c, int except)
{
    uint16_t m = 0;
    for (int r = 0; r < 16; r++) {
        if (r != except && soft_caller_saved(r) && c->reg_temp[r] >= 0) {
            m |= (uint16_t)(1u << r);
        }
    }
    return m;
}

static SoftSlow *soft_new_slow(void)
{
    if (soft_nslow == soft_cap) {
        int cap = soft_cap ? soft_cap * 2 : 256;
        SoftSlow *n = g_realloc(soft_slow, sizeof(*n) * (size_t)cap);
        g_private_set(&soft_slow_owner, n);   /* the old block is gone: nothing to free */
        soft_slow = n;
        soft_cap = cap;
    }
    return &soft_slow[soft_nslow++];
}

/* dst = ra + disp (64 bits). */
static void soft_addr(JitBuf *b, int dst, int ra, int32_t disp)
{
    if (disp) {
        jit_op_mem(b, 0x8d, dst, ra, -1, disp, JM_W);
    } else if (dst != ra) {
        jit_op_rr(b, JOP_MOV_STORE, ra, dst, 64);
    }
}

/*
 * The inline lookup for `size` bytes at ra + disp, against the tag of `access`. Leaves rax = the entry's
 * addend and returns the field of the branch to the slow path.
 */
static uint8_t *soft_emit_lookup(JitBuf *b, int ra, int32_t disp, unsigned size, SoftMMUAccess access)
{
    if (!tcg_current_cpu->mem_tlb) {
        /* Memory ops without a soft-MMU TLB (tests): always the call. */
        return jit_jmp32(b, NULL);
    }
    soft_addr(b, JR_RCX, ra, disp);
    jit_shift_ri(b, 5, JR_RCX, SOFTMMU_PAGE_BITS - SOFTMMU_ENTRY_BITS, 64);
    jit_alu_ri(b, 4, JR_RCX, (int32_t)((SOFTMMU_TLB_SIZE - 1) << SOFTMMU_ENTRY_BITS), 32);
    jit_op_rm(b, JOP_ADD + 2, JR_RCX, JIT_ENV, (int32_t)offsetof(TCGCPU, mem_tlb), 64);
    soft_addr(b, JR_RAX, ra, disp + (int32_t)(size - 1));
    jit_alu_ri(b, 4, JR_RAX, (int32_t)SOFTMMU_PAGE_MASK, 64);
    jit_op_mem(b, JOP_CMP + 2, JR_RAX, JR_RCX, -1, (int32_t)offsetof(SoftMMUEntry, tag[access]), JM_W);
    uint8_t *field = jit_jcc32(b, JCC_NE, NULL);
    /* rax = the addend */
    jit_op_mem(b, 0x8b, JR_RAX, JR_RCX, -1, (int32_t)offsetof(SoftMMUEntry, addend), JM_W);
    return field;
}

void jit_soft_mem(JitCtx *c, const TCGOp *op, int bits, TCGTemp base, int32_t disp)
{
    JitBuf *b = &c->b;
    SoftSlow *s = soft_new_slow();
    /* The instruction's pc matters only if the access faults: the slow path stores it. The hit path leaves
       TCGCPU.insn_pc alone and the pc stays pending for the next op that needs it; but after the slow path
       its upper half may be another one than the hit path assumes. */
    s->store_pc = c->pc_pending;
    s->pc = c->pending_pc;
    if (c->pc_pending && c->pc_hi_known && c->pc_hi != (uint32_t)(c->pending_pc >> 32)) {
        c->pc_hi_known = false;
    }
    s->opc = (uint16_t)op->opc;
    s->mo = (uint8_t)(op->cargs[0] & 7);
    s->val_reg = -1;
    s->dst_reg = JR_RAX;
    s->dst32 = bits == 32;
    s->env_off = 0;
    s->disp = disp;
    switch (op->opc) {
    case INDEX_op_guest_ld: {
        unsigned mo = (unsigned)op->cargs[0] & 7;
        int ra = jit_use(c, base);
        /* Before the result's register is chosen: its old value is what a fault must leave in env. */
        soft_note_writebacks(c, s);
        /* A dead result still loads: the access may fault. */
        bool dead = jit_dead_after(c, op->args[0]);
        int rd = dead ? JR_RAX : jit_def(c, op->args[0], -1, -1);
        s->addr_reg = (int8_t)ra;
        s->dst_reg = (int8_t)rd;
        s->save = soft_live_caller_saved(c, rd);
        s->jne_field = soft_emit_lookup(b, ra, disp, 1u << (mo & MO_SIZE), SOFTMMU_READ);
        bool zext = soft_load(b, rd, ra, JR_RAX, disp, mo, bits);
        if (!dead) {
            c->reg_zext[rd] = zext;
        }
        break;
    }
    case INDEX_op_guest_st: {
        unsigned mo = (unsigned)op->cargs[0] & MO_SIZE;
        s->mo = (uint8_t)mo;
        int rv = jit_use(c, op->args[0]);
        int ra = jit_use(c, base);
        soft_note_writebacks(c, s);
        s->addr_reg = (int8_t)ra;
        s->val_reg = (int8_t)rv;
        s->save = soft_live_caller_saved(c, -1);
        s->jne_field = soft_emit_lookup(b, ra, disp, 1u << mo, SOFTMMU_WRITE);
        soft_store(b, rv, ra, JR_RAX, disp, mo);
        break;
    }
    default: { /* guest_ld128, guest_st128: 16 bytes between guest memory and the CPU state at cargs[0] */
        bool ld = op->opc == INDEX_op_guest_ld128;
        int64_t off = (int64_t)op->cargs[0];
        /* Cached globals overlapping the bytes: written back first, and forgotten if they are loaded. */
        jit_regs_env_access(c, off, off + 16, ld);
        int ra = jit_use(c, base);
        soft_note_writebacks(c, s);
        s->addr_reg = (int8_t)ra;
        s->env_off = (uint32_t)off;
        s->save = soft_live_caller_saved(c, -1);
        s->jne_field = soft_emit_lookup(b, ra, disp, 16, ld ? SOFTMMU_READ : SOFTMMU_WRITE);
        /* movups: 16 bytes through xmm0, which never holds a value across ops */
        if (ld) {
            jit_op_mem(b, 0x0f10, 0, ra, JR_RAX, disp, 0);
            jit_op_mem(b, 0x0f11, 0, JIT_ENV, -1, (int32_t)off, 0);
        } else {
            jit_op_mem(b, 0x0f10, 0, JIT_ENV, -1, (int32_t)off, 0);
            jit_op_mem(b, 0x0f11, 0, ra, JR_RAX, disp, 0);
        }
        break;
    }
    }
    s->resume = b->p;
}

static void soft_emit_slow(JitBuf *b, const SoftSlow *s)
{
    if (!jit_patch_rel32(s->jne_field, b->p, false)) {
        b->error = true;
        return;
    }
    for (int i = 0; i < s->nwb; i++) {
        jit_op_rm(b, JOP_MOV_STORE, s->wb[i].reg, JIT_ENV, s->wb[i].slot, 64);
    }
    if (s->store_pc) {
        jit_store_const64(b, JIT_ENV, (int32_t)offsetof(TCGCPU, insn_pc), s->pc);
    }
    int nsaved = 0;
    for (int r = 0; r < 16; r++) {
        if (s->save & (1u << r)) {
            soft_push_pop(b, r, false);
            nsaved++;
        }
    }
    /* Helpers are called with rsp 16-byte aligned, as the block body has it. */
    if (nsaved & 1) {
        jit_alu_ri(b, 5, JR_RSP, 8, 64);
    }
    /* Arguments, ordered so that no register is overwritten before it is read (rdx and rcx are scratch,
       so neither the address nor the value is ever in them). */
    const void *fn;
    switch (s->opc) {
    case INDEX_op_guest_ld:
        soft_addr(b, JR_RSI, s->addr_reg, s->disp);
        jit_movi(b, JR_RDX, s->mo);
        fn = (const void *)jit_soft_ld;
        break;
    case INDEX_op_guest_st:
        jit_op_rr(b, JOP_MOV_STORE, s->val_reg, JR_RDX, 64);
        soft_addr(b, JR_RSI, s->addr_reg, s->disp);
        jit_movi(b, JR_RCX, s->mo);
        fn = (const void *)jit_soft_st;
        break;
    default:
        soft_addr(b, JR_RSI, s->addr_reg, s->disp);
        jit_movi(b, JR_RDX, s->env_off);
        fn = s->opc == INDEX_op_guest_ld128 ? (const void *)jit_soft_ld128 : (const void *)jit_soft_st128;
        break;
    }
    jit_op_rr(b, JOP_MOV_STORE, JIT_ENV, JR_RDI, 64);
    jit_movi(b, JR_RAX, (uintptr_t)fn);
    jit_op_reg(b, 0xff, 2, JR_RAX, 0);   /* call rax */
    if (s->opc == INDEX_op_guest_ld && s->dst_reg != JR_RAX) {
        /* The helper extended the value to 64 bits as mo says; a 32-bit result keeps the low half. */
        jit_op_rr(b, JOP_MOV_STORE, JR_RAX, s->dst_reg, s->dst32 ? 32 : 64);
    }
    if (nsaved & 1) {
        jit_alu_ri(b, 0, JR_RSP, 8, 64);
    }
    for (int r = 15; r >= 0; r--) {
        if (s->save & (1u << r)) {
            soft_push_pop(b, r, true);
        }
    }
    jit_jmp32(b, s->resume);
}

void jit_soft_finish(JitCtx *c)
{
    for (int i = 0; i < soft_nslow && !c->b.overflow && !c->b.error; i++) {
        soft_emit_slow(&c->b, &soft_slow[i]);
    }
    soft_nslow = 0;
}

/* --- goto_ptr: the jump cache of the current MMU index --- */

/* The miss path: the loop's lookup, then the block goes into the jump cache. */
static TranslationBlock *jit_soft_find_tb(TCGCPU *cpu)
{
    TranslationBlock *tb = tcg_cpu_find_tb(cpu);
    if (tb) {
        uint32_t flags;
        memcpy(&flags, (const uint8_t *)cpu + cpu->target->tb_flags_offset, 4);
        softmmu_jmp_fill(cpu, cpu->pc, flags, tb);
    }
    return tb;
}

const void *jit_soft_goto_ptr(JitCtx *c)
{
    const TCGCPU *cpu = tcg_current_cpu;
    if (!cpu->mem_tlb || !cpu->target || !cpu->target->tb_flags_offset) {
        return (const void *)tcg_cpu_find_tb;
    }
    JitBuf *b = &c->b;
    /* Dirty globals are written back already (the caller's jit_sync); every register is free now. */
    jit_regs_drop_all(c);
    const int32_t tab = (int32_t)offsetof(TCGCPU, mem_tlb);
    const int32_t jmp = (int32_t)offsetof(SoftMMUTable, jmp);
    uint8_t *miss[3];
    /* rcx = the table; the flags it was filled under must be the current ones */
    jit_op_rm(b, JOP_MOV_LOAD, JR_RCX, JIT_ENV, tab, 64);
    jit_op_rm(b, JOP_MOV_LOAD, JR_RDX, JIT_ENV, (int32_t)cpu->target->tb_flags_offset, 32);
    jit_op_mem(b, JOP_CMP + 2, JR_RDX, JR_RCX, -1, (int32_t)offsetof(SoftMMUTable, jmp_flags), 0);
    miss[0] = jit_jcc32(b, JCC_NE, NULL);
    /* rdx = softmmu_jmp_index(pc) * 16 */
    jit_op_rm(b, JOP_MOV_LOAD, JR_RAX, JIT_ENV, (int32_t)offsetof(TCGCPU, pc), 64);
    jit_op_rr(b, JOP_MOV_STORE, JR_RAX, JR_RDX, 32);
    jit_shift_ri(b, 5, JR_RDX, SOFTMMU_PAGE_BITS - SOFTMMU_JMP_SLOT_BITS, 32);
    jit_alu_ri(b, 4, JR_RDX, (int32_t)(((1u << SOFTMMU_JMP_GROUP_BITS) - 1) << SOFTMMU_JMP_SLOT_BITS), 32);
    jit_op_rr(b, JOP_MOV_STORE, JR_RAX, JR_RSI, 32);
    jit_shift_ri(b, 5, JR_RSI, SOFTMMU_JMP_SLOT_BITS, 32);
    jit_op_rr(b, JOP_XOR, JR_RAX, JR_RSI, 32);
    jit_alu_ri(b, 4, JR_RSI, (int32_t)((1u << SOFTMMU_JMP_SLOT_BITS) - 1), 32);
    jit_op_rr(b, JOP_OR, JR_RSI, JR_RDX, 32);
    jit_shift_ri(b, 4, JR_RDX, 4, 32);
    _Static_assert(sizeof(SoftMMUJmp) == 16, "the index is scaled by 16");
    jit_op_rr(b, JOP_ADD, JR_RDX, JR_RCX, 64);
    /* the entry's pc, then its block, which must still be valid */
    jit_op_mem(b, JOP_CMP + 2, JR_RAX, JR_RCX, -1, jmp + (int32_t)offsetof(SoftMMUJmp, pc), JM_W);
    miss[1] = jit_jcc32(b, JCC_NE, NULL);
    jit_op_mem(b, 0x8b, JR_RCX, JR_RCX, -1, jmp + (int32_t)offsetof(SoftMMUJmp, tb), JM_W);
    jit_alu_mi(b, 7, JR_RCX, (int32_t)offsetof(TranslationBlock, invalid), 0, 32);
    miss[2] = jit_jcc32(b, JCC_NE, NULL);
    jit_op_mem(b, 0xff, 4, JR_RCX, -1, (int32_t)offsetof(TranslationBlock, entry), 0);   /* jmp [rcx + entry] */
    for (int i = 0; i < 3; i++) {
        if (miss[i] && !jit_patch_rel32(miss[i], b->p, false)) {
            b->error = true;
        }
    }
    return (const void *)jit_soft_find_tb;
}
