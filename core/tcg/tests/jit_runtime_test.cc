// The JIT's run-time machinery: patched chain jumps and their undoing, the exit-request check at chained
// block entries, helpers that leave through tcg_cpu_loop_exit (or never return), goto_ptr, the size limit of
// a block, and the code buffer moving to a fresh slice (flushing every block) when full.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "core/tcg/tests/fake-target.h"

extern "C" {
#include "core/tcg/jit.h"
}

namespace {

const TCGBackend *jit() { return tcg_backend_find("jit"); }

// Where the patchable jump of a block's goto_tb slot currently leads.
const uint8_t *jump_target(const TranslationBlock *tb, int slot)
{
    const JitBlock *h = static_cast<const JitBlock *>(tb->code);
    const uint8_t *field = jit_block_at_offset(h, h->jmp_field[slot]);
    int32_t rel;
    memcpy(&rel, field, 4);
    return field + 4 + rel;
}


TEST(JitRuntime, ChainPatchesTheJumpAndUnchainRestoresIt)
{
    fake_reset();
    fake_setup_counting_loop();
    FakeCPU *cpu = fake_cpu_new(jit());
    cpu->tcg.pc = 0x1000;
    cpu->r[1] = 50000;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(cpu->r[0], 50000u);
    TranslationBlock *a = tb_lookup(0x1000, 0), *b = tb_lookup(0x2000, 0);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    const JitBlock *h = static_cast<const JitBlock *>(a->code);
    EXPECT_EQ((uintptr_t)jit_block_at_offset(h, h->jmp_field[0]) & 3, 0u);   // atomically patchable
    // A's jump back to itself enters at the exit-request check; its jump forward to B, after B's.
    const uint32_t check = static_cast<const JitBlock *>(b->code)->check_bytes;
    EXPECT_GT(check, 0u);
    EXPECT_EQ(jump_target(a, 0), JIT_ENTRY(a->code));
    EXPECT_EQ(jump_target(a, 1), JIT_ENTRY(b->code) + check);
    // Dropping B unchains A's slot 1: the jump goes back to its exit stub.
    EXPECT_TRUE(tb_invalidate_page(0x2000));
    EXPECT_EQ(a->jmp_dest[1], nullptr);
    EXPECT_EQ(jump_target(a, 1), jit_block_at_offset(h, h->stub[1]));
    EXPECT_EQ(jump_target(a, 0), JIT_ENTRY(a->code));
    // And it still runs: B is translated again and chained again.
    cpu->tcg.pc = 0x1000;
    cpu->r[0] = 0;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(cpu->r[0], 50000u);
    TranslationBlock *b2 = tb_lookup(0x2000, 0);
    ASSERT_NE(b2, nullptr);
    EXPECT_EQ(jump_target(a, 1), JIT_ENTRY(b2->code) + check);
    fake_cpu_free(cpu);
}

uint64_t stop_at;

void helper_count(TCGCPU *cpu)
{
    FakeCPU *f = reinterpret_cast<FakeCPU *>(cpu);
    if (++f->r[0] == stop_at) {
        tcg_cpu_request_exit(cpu);
    }
}
const TCGHelperInfo info_count = {"count", (void *)helper_count, 0, TCG_ARG_VOID, 1, {TCG_ARG_PTR}};

TEST(JitRuntime, ExitRequestIsSeenAtTheNextChainedEntry)
{
    fake_reset();
    fake_set_block(0x1000, [](TCGContext *s) {
        TCGTemp env = TCG_TEMP_ENV;
        tcg_gen_call(s, &info_count, -1, 1, &env);
        fake_gen_goto(s, 0x1000, 0);
    });
    FakeCPU *cpu = fake_cpu_new(jit());
    cpu->tcg.pc = 0x1000;
    stop_at = 12345;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_INTERRUPT);
    EXPECT_EQ(cpu->r[0], 12345u);   // not one block more
    EXPECT_EQ(cpu->tcg.exit_request, 0);
    fake_cpu_free(cpu);
}

void helper_raise(TCGCPU *cpu, uint64_t v)
{
    FakeCPU *f = reinterpret_cast<FakeCPU *>(cpu);
    if (v >= f->r[1]) {
        f->r[2]++;
        tcg_cpu_loop_exit(cpu, TCG_EXIT_EXCEPTION);
    }
}
const TCGHelperInfo info_raise = {"raise", (void *)helper_raise, TCG_CALL_NO_RW_GLOBALS, TCG_ARG_VOID, 2,
                                  {TCG_ARG_PTR, TCG_ARG_I64}};

TEST(JitRuntime, HelperThatDoesNotReturnLeavesCleanly)
{
    fake_reset();
    fake_set_block(0x1000, [](TCGContext *s) {
        TCGTemp args[2] = {TCG_TEMP_ENV, fake_r[0]};
        tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, 1));
        tcg_gen_call(s, &info_raise, -1, 2, args);
        tcg_gen_add(s, TCG_I64, fake_r[3], fake_r[3], tcg_const(s, 1));
        fake_gen_goto(s, 0x1000, 0);
    });
    FakeCPU *cpu = fake_cpu_new(jit());
    // Many round trips: a leak of stack or state per exit would show up as a crash or a wrong count.
    for (int i = 1; i <= 20000; i++) {
        cpu->tcg.pc = 0x1000;
        cpu->r[0] = 0;
        cpu->r[1] = 1 + i % 7;
        cpu->r[3] = 0;
        ASSERT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_EXCEPTION);
        ASSERT_EQ(cpu->r[0], cpu->r[1]);
        ASSERT_EQ(cpu->r[3], cpu->r[1] - 1);   // the add after the call did not run the last time
    }
    EXPECT_EQ(cpu->r[2], 20000u);
    fake_cpu_free(cpu);
}

// A helper that never returns (TCG_CALL_NO_RETURN, as raise_exception): the JIT emits nothing after the
// call up to the next label, and the state it leaves is the one before the call.
void helper_leave(TCGCPU *cpu)
{
    reinterpret_cast<FakeCPU *>(cpu)->r[2]++;
    tcg_cpu_loop_exit(cpu, TCG_EXIT_EXCEPTION);
}
const TCGHelperInfo info_leave = {"leave", (void *)helper_leave, TCG_CALL_NO_RETURN, TCG_ARG_VOID, 1, {TCG_ARG_PTR}};

TEST(JitRuntime, HelperThatNeverReturnsEndsItsPath)
{
    fake_reset();
    fake_set_block(0x1000, [](TCGContext *s) {
        int taken = tcg_label_new(s);
        TCGTemp env = TCG_TEMP_ENV;
        tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, 1));
        tcg_gen_brcond(s, TCG_I64, TCG_COND_EQ, fake_r[1], tcg_const(s, 0), taken);
        tcg_gen_call(s, &info_leave, -1, 1, &env);
        tcg_gen_add(s, TCG_I64, fake_r[3], fake_r[3], tcg_const(s, 1));   // never runs
        tcg_gen_exit_tb(s, TCG_EXIT_EXCEPTION);
        tcg_gen_set_label(s, taken);
        tcg_gen_add(s, TCG_I64, fake_r[4], fake_r[4], tcg_const(s, 1));
        fake_gen_goto(s, 0x2000, 0);
    });
    fake_set_block(0x2000, [](TCGContext *s) { tcg_gen_exit_tb(s, TCG_EXIT_HALT); });
    FakeCPU *cpu = fake_cpu_new(jit());
    for (int i = 1; i <= 1000; i++) {
        cpu->tcg.pc = 0x1000;
        cpu->r[1] = i % 2;
        ASSERT_EQ(tcg_cpu_exec(&cpu->tcg), i % 2 ? TCG_EXIT_EXCEPTION : TCG_EXIT_HALT);
    }
    EXPECT_EQ(cpu->r[0], 1000u);
    EXPECT_EQ(cpu->r[2], 500u);
    EXPECT_EQ(cpu->r[3], 0u);
    EXPECT_EQ(cpu->r[4], 500u);
    fake_cpu_free(cpu);
}

// A block whose code would pass JIT_MAX_BLOCK_BYTES (offsets in its header are 16 bits) is refused with
// -E2BIG, which makes the loop translate it shorter; one under the limit compiles.
void helper_sum(TCGCPU *cpu, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
    reinterpret_cast<FakeCPU *>(cpu)->r[7] += a + b + c + d + e;
}
const TCGHelperInfo info_sum = {"sum", (void *)helper_sum, TCG_CALL_NO_RW_GLOBALS, TCG_ARG_VOID, 6,
                                {TCG_ARG_PTR, TCG_ARG_I64, TCG_ARG_I64, TCG_ARG_I64, TCG_ARG_I64, TCG_ARG_I64}};

TEST(JitRuntime, BlocksPastTheSizeLimitAreRefused)
{
    FakeCPU *cpu = fake_cpu_new(jit());
    TCGContext *s = cpu->tcg.ctx;
    tcg_current_cpu = &cpu->tcg;
    for (int calls : {100, 2500}) {
        tcg_func_start(s);
        tcg_gen_insn_start(s, 0x1000);
        for (int i = 0; i < calls; i++) {
            // five arguments loaded from the state: some 45 bytes of code each
            TCGTemp args[6] = {TCG_TEMP_ENV, fake_r[2], fake_r[3], fake_r[4], fake_r[5], fake_r[6]};
            tcg_gen_call(s, &info_sum, -1, 6, args);
        }
        tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        ASSERT_FALSE(s->overflow);
        TranslationBlock tb = {};
        int err = jit()->compile(s, &tb);
        if (calls == 100) {
            ASSERT_EQ(err, 0);
            EXPECT_LE(static_cast<const JitBlock *>(tb.code)->bytes, JIT_MAX_BLOCK_BYTES);
            jit()->free_code(&tb);
        } else {
            EXPECT_EQ(err, -E2BIG);
        }
    }
    fake_cpu_free(cpu);
}

// goto_ptr: an indirect jump through the jump cache to one of two blocks, chosen by r1's low bit.
TEST(JitRuntime, GotoPtrFindsBlocksThroughTheJumpCache)
{
    fake_reset();
    fake_set_block(0x1000, [](TCGContext *s) {
        TCGTemp t = tcg_temp_new(s);
        tcg_gen_and(s, TCG_I64, t, fake_r[1], tcg_const(s, 1));
        tcg_gen_shl(s, TCG_I64, t, t, tcg_const(s, 8));
        tcg_gen_add(s, TCG_I64, fake_pc, t, tcg_const(s, 0x3000));
        tcg_gen_goto_ptr(s);
    });
    for (uint64_t pc : {0x3000ULL, 0x3100ULL}) {
        fake_set_block(pc, [pc](TCGContext *s) {
            int done = tcg_label_new(s);
            tcg_gen_add(s, TCG_I64, fake_r[pc == 0x3000 ? 2 : 3], fake_r[pc == 0x3000 ? 2 : 3], tcg_const(s, 1));
            tcg_gen_add(s, TCG_I64, fake_r[1], fake_r[1], tcg_const(s, 1));
            tcg_gen_brcond(s, TCG_I64, TCG_COND_EQ, fake_r[1], tcg_const(s, 1001), done);
            fake_gen_goto(s, 0x1000, 0);
            tcg_gen_set_label(s, done);
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        });
    }
    FakeCPU *cpu = fake_cpu_new(jit());
    cpu->tcg.pc = 0x1000;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(cpu->r[1], 1001u);
    EXPECT_EQ(cpu->r[2], 501u);
    EXPECT_EQ(cpu->r[3], 500u);
    EXPECT_EQ(fake_translations, 3);
    fake_cpu_free(cpu);
}

// goto_ptr's inline jump-cache hit checks the key's flags too: after the CPU's mode flags change, the
// entry for the same pc (translated under the old flags) must miss and the block is translated again.
TEST(JitRuntime, GotoPtrInlineLookupComparesTheFlags)
{
    fake_reset();
    fake_set_block(0x1000, [](TCGContext *s) {
        tcg_gen_movi(s, TCG_I64, fake_pc, 0x3000);
        tcg_gen_goto_ptr(s);
    });
    fake_set_block(0x3000, [](TCGContext *s) {
        int done = tcg_label_new(s);
        tcg_gen_add(s, TCG_I64, fake_r[1], fake_r[1], tcg_const(s, 1));
        tcg_gen_brcond(s, TCG_I64, TCG_COND_GEU, fake_r[1], fake_r[7], done);
        fake_gen_goto(s, 0x1000, 0);
        tcg_gen_set_label(s, done);
        tcg_gen_exit_tb(s, TCG_EXIT_HALT);
    });
    FakeCPU *cpu = fake_cpu_new(jit());
    cpu->r[7] = 100;
    cpu->tcg.pc = 0x1000;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(cpu->r[1], 100u);
    EXPECT_EQ(fake_translations, 2);
    cpu->key_flags = 1;
    cpu->r[7] = 200;
    cpu->tcg.pc = 0x1000;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(cpu->r[1], 200u);
    EXPECT_EQ(fake_translations, 4);
    fake_cpu_free(cpu);
}

// A tiny code buffer: 3000 distinct chained blocks overflow many slices; every block still runs right.
TEST(JitRuntime, FullCodeBufferFlushesAndKeepsRunning)
{
    fake_reset();
    const int n = 3000;
    for (int i = 0; i < n; i++) {
        fake_set_block(0x100000 + 16 * (uint64_t)i, [i](TCGContext *s) {
            tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, (uint64_t)i));
            if (i + 1 < n) {
                fake_gen_goto(s, 0x100000 + 16 * (uint64_t)(i + 1), 0);
            } else {
                tcg_gen_exit_tb(s, TCG_EXIT_HALT);
            }
        });
    }
    unsigned long before = jit_buf_flushes;
    jit_buf_set_slice_size(64 << 10);
    FakeCPU *cpu = fake_cpu_new(jit());
    for (int round = 0; round < 3; round++) {
        cpu->tcg.pc = 0x100000;
        cpu->r[0] = 0;
        ASSERT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
        EXPECT_EQ(cpu->r[0], (uint64_t)n * (n - 1) / 2);
    }
    jit_buf_set_slice_size(0);
    EXPECT_GT(jit_buf_flushes, before + 2);
    fake_cpu_free(cpu);
    fake_reset();
}

// A code buffer of three tiny slices filled over and over while four guest threads run: slices are
// reused only once no thread can be in them (the others are made to leave generated code), and every
// thread's result is still exact. The chain mixes direct jumps and goto_ptr (the inline jump cache).
TEST(JitRuntime, CodeBufferRingIsReusedSafelyUnderThreads)
{
    fake_reset();
    const int n = 2000;
    for (int i = 0; i < n; i++) {
        fake_set_block(0x200000 + 16 * (uint64_t)i, [i](TCGContext *s) {
            tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, (uint64_t)i));
            tcg_gen_add(s, TCG_I64, fake_r[1], fake_r[1], fake_r[0]);
            if (i + 1 == n) {
                tcg_gen_exit_tb(s, TCG_EXIT_HALT);
            } else if (i % 3 == 0) {
                tcg_gen_movi(s, TCG_I64, fake_pc, 0x200000 + 16 * (uint64_t)(i + 1));
                tcg_gen_goto_ptr(s);
            } else {
                fake_gen_goto(s, 0x200000 + 16 * (uint64_t)(i + 1), 0);
            }
        });
    }
    // What one pass computes, natively.
    uint64_t want0 = 0, want1 = 0;
    for (int i = 0; i < n; i++) {
        want0 += (uint64_t)i;
        want1 += want0;
    }
    unsigned long before = jit_buf_flushes;
    jit_buf_set_geometry(64 << 10, 3);
    const int nthreads = 4, rounds = 6;
    std::vector<FakeCPU *> cpus;
    for (int t = 0; t < nthreads; t++) {
        cpus.push_back(fake_cpu_new(jit()));
    }
    std::vector<int> ok(nthreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < nthreads; t++) {
        threads.emplace_back([&, t]() {
            FakeCPU *cpu = cpus[t];
            for (int round = 0; round < rounds; round++) {
                cpu->tcg.pc = 0x200000;
                cpu->r[0] = cpu->r[1] = 0;
                TCGExitReason why;
                // A thread asked to leave (another one is reusing a slice) just goes on.
                while ((why = tcg_cpu_exec(&cpu->tcg)) == TCG_EXIT_INTERRUPT) {
                }
                ok[t] += why == TCG_EXIT_HALT && cpu->r[0] == want0 && cpu->r[1] == want1;
            }
        });
    }
    for (auto &th : threads) {
        th.join();
    }
    jit_buf_set_geometry(0, 0);
    for (int t = 0; t < nthreads; t++) {
        EXPECT_EQ(ok[t], rounds) << "thread " << t;
        fake_cpu_free(cpus[t]);
    }
    // Many more flushes than slices: the ring went round several times.
    EXPECT_GT(jit_buf_flushes, before + 6);
    fake_reset();
}

}  // namespace
