/*
 * The translator hooks: edge coverage at each block's start, and CompCov/CMPLOG at each comparison. All of
 * it is plain IR (host loads and stores through constant addresses), so both backends run it unchanged.
 */
#include <stddef.h>

#include "core/target-x86/translate.h"
#include "core/tcg/tcg-gen.h"
#include "user/linux/afl/afl.h"
#include "user/linux/thread.h"

/* The guest thread's prev_loc, next to its CPU state (env points at its LinuxThread). */
#define AFL_PREV_LOC_OFFSET ((uint32_t)offsetof(LinuxThread, afl_prev_loc))

void afl_prev_loc_reset(CPUX86State *env)
{
    ((LinuxThread *)(void *)env)->afl_prev_loc = 0;
}

/* A block's id as AFL's qemu mode computes it, so maps look alike. */
uint32_t afl_hash_pc(uint64_t pc, uint32_t mask)
{
    return (uint32_t)(((pc >> 4) ^ (pc << 8)) & mask);
}

static TCGTemp const_ptr(TCGContext *s, const void *p)
{
    return tcg_const(s, (uint64_t)(uintptr_t)p);
}

/* map[idx] += inc; for the edge counter inc is 1 and a wrap to 0 becomes 1 (AFL's "never zero"). */
static void gen_map_add(TCGContext *s, TCGTemp addr, TCGTemp inc, bool never_zero)
{
    TCGTemp v = tcg_temp_new(s);
    tcg_gen_ld(s, TCG_I32, MO_8, v, addr, 0);
    tcg_gen_add(s, TCG_I32, v, v, inc);
    if (never_zero) {
        TCGTemp z = tcg_temp_new(s);
        tcg_gen_ext8u(s, TCG_I32, v, v);
        tcg_gen_setcond(s, TCG_I32, TCG_COND_EQ, z, v, tcg_const(s, 0));
        tcg_gen_add(s, TCG_I32, v, v, z);
    }
    tcg_gen_st(s, MO_8, v, addr, 0);
}

/* map[cur ^ prev]++; prev = cur >> 1 */
static void gen_edge(TCGContext *s, uint64_t pc)
{
    uint32_t cur = afl_hash_pc(pc, afl.map_size - 1);
    TCGTemp idx = tcg_temp_new(s);
    tcg_gen_ld(s, TCG_I64, MO_64, idx, TCG_TEMP_ENV, AFL_PREV_LOC_OFFSET);
    tcg_gen_xor(s, TCG_I64, idx, idx, tcg_const(s, cur));
    tcg_gen_add(s, TCG_I64, idx, idx, const_ptr(s, afl.map));
    gen_map_add(s, idx, tcg_const(s, 1), true);
    tcg_gen_st(s, MO_64, tcg_const(s, cur >> 1), TCG_TEMP_ENV, AFL_PREV_LOC_OFFSET);
}

static void afl_block_start(DisasContext *dc)
{
    uint64_t pc = dc->tb->pc;
    if (afl.in_child) {
        afl_feedback_note(pc, dc->tb->flags);
    }
    if (afl.forkserver && !afl.fs_started && pc == afl.entry) {
        afl_forkserver_emit_start(dc->s);
    }
    if (afl.persist_addr && afl_persistent_wants(pc)) {
        afl_persistent_emit(dc->s, pc);
    }
    if (afl.map && afl_pc_instrumented(pc)) {
        gen_edge(dc->s, pc);
    }
    if (afl.cmp_map && afl_cmplog_rtn_wants(pc) && afl_pc_instrumented(pc)) {
        afl_cmplog_rtn_emit(dc->s, pc);
    }
}

/*
 * CompCov: a compare of n bytes also counts, in n-1 map entries next to its own id, how many of its leading
 * (most significant) bytes already match, so the fuzzer is rewarded one byte at a time.
 */
static void gen_compcov(DisasContext *dc, unsigned bits, TCGTemp a, TCGTemp b)
{
    TCGContext *s = dc->s;
    uint32_t mask = afl.map_size - 1;
    uint32_t cur = afl_hash_pc(dc->insn.pc, mask);
    TCGTemp x = tcg_temp_new(s);
    tcg_gen_xor(s, TCG_I64, x, a, b);
    if (bits < 64) {
        tcg_gen_and(s, TCG_I64, x, x, tcg_const(s, (1ULL << bits) - 1));
    }
    for (unsigned k = 1; k < bits / 8; k++) {
        TCGTemp hi = tcg_temp_new(s), eq = tcg_temp_new(s);
        tcg_gen_shr(s, TCG_I64, hi, x, tcg_const(s, bits - 8 * k));
        tcg_gen_setcond(s, TCG_I64, TCG_COND_EQ, eq, hi, tcg_const(s, 0));
        gen_map_add(s, const_ptr(s, afl.map + ((cur + k) & mask)), eq, false);
    }
}

static const TCGHelperInfo afl_cmplog_info = {
    "afl_cmplog", (void *)afl_cmplog_log, TCG_CALL_NO_RW_GLOBALS, TCG_ARG_VOID, 4,
    {TCG_ARG_I64, TCG_ARG_I64, TCG_ARG_I64, TCG_ARG_I32},
};

static void afl_cmp(DisasContext *dc, unsigned bits, TCGTemp a, TCGTemp b)
{
    uint64_t pc = dc->insn.pc;
    if (!afl_pc_instrumented(pc)) {
        return;
    }
    if (afl.cmp_map) {
        TCGTemp args[4] = {tcg_const(dc->s, pc), a, b, tcg_const(dc->s, bits)};
        tcg_gen_call(dc->s, &afl_cmplog_info, -1, 4, args);
    }
    /* Level 1 splits compares with an immediate (magic numbers), level 2 every compare. */
    bool with_imm = dc->insn.zi.operand_count_visible > 1 &&
                    dc->insn.op[1].type == ZYDIS_OPERAND_TYPE_IMMEDIATE;
    if (afl.map && bits > 8 && (afl.compcov_level >= 2 || (afl.compcov_level == 1 && with_imm))) {
        gen_compcov(dc, bits, a, b);
    }
}

void afl_instrument_install(void)
{
    x86_hook_block_start = afl_block_start;
    /* One tier: a block the fork server translated cold before the first child would be translated again,
       hot, in every child that runs it often, and never in the server (which has one at that pc). */
    tcg_hot_runs = 0;
    if (afl.cmp_map || (afl.map && afl.compcov_level > 0)) {
        x86_hook_cmp = afl_cmp;
    }
}
