// The execution loop, the block cache, chaining, invalidation and the exception path, on the fake target.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <cstring>
#include <thread>
#include <vector>

#include "core/tcg/tests/fake-target.h"

namespace {


TEST(Exec, CountingLoopChainsBlocks)
{
    fake_reset();
    fake_setup_counting_loop();
    FakeCPU *cpu = fake_cpu_new();
    cpu->tcg.pc = 0x1000;
    cpu->r[1] = 100000;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(cpu->r[0], 100000u);
    EXPECT_EQ(cpu->tcg.pc, 0x2004u);
    EXPECT_EQ(fake_translations, 2);
    TranslationBlock *a = tb_lookup(0x1000, 0), *b = tb_lookup(0x2000, 0);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(a->jmp_dest[0], a);   // A chained to itself...
    EXPECT_EQ(a->jmp_dest[1], b);   // ...and to B
    EXPECT_EQ(a->icount, 1u);
    EXPECT_EQ(a->page[0], 0x1000u);
    EXPECT_EQ(a->page[1], ~0ULL);
    // Run again: no new translation, same result.
    cpu->tcg.pc = 0x1000;
    cpu->r[0] = 0;
    cpu->r[1] = 5;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(cpu->r[0], 5u);
    EXPECT_EQ(fake_translations, 2);
    fake_cpu_free(cpu);
}

// Two tiers: a block is translated without the optimizer first and, once it has run tcg_hot_runs times,
// again with it, the new block taking the old one's place (the old one is dropped: no chain or lookup
// reaches it). Only a backend that counts runs (the JIT) has a first tier.
TEST(Exec, ColdBlockIsTranslatedAgainWhenHot)
{
    fake_reset();
    fake_setup_counting_loop();
    tcg_hot_runs = 16;
    FakeCPU *cpu = fake_cpu_new();
    bool tiers = cpu->tcg.backend->counts_runs;
    cpu->tcg.pc = 0x1000;
    cpu->r[1] = 10;   // the loop block runs 10 times: still cold
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(cpu->r[0], 10u);
    TranslationBlock *cold = tb_lookup(0x1000, 0);
    ASSERT_NE(cold, nullptr);
    EXPECT_EQ(cold->cold, tiers);
    EXPECT_EQ(fake_translations, 2);
    cpu->tcg.pc = 0x1000;
    cpu->r[0] = 0;
    cpu->r[1] = 1000;   // now it passes the count: translated again, and the loop goes on in the new block
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(cpu->r[0], 1000u);
    TranslationBlock *hot = tb_lookup(0x1000, 0);
    ASSERT_NE(hot, nullptr);
    EXPECT_FALSE(hot->cold);
    if (tiers) {
        EXPECT_NE(hot, cold);
        EXPECT_TRUE(cold->invalid);
        EXPECT_EQ(fake_translations, 3);
        EXPECT_EQ(hot->jmp_dest[0], hot);   // the new block chains to itself
    } else {
        EXPECT_EQ(hot, cold);
        EXPECT_EQ(fake_translations, 2);
    }
    tcg_hot_runs = 0;
    fake_cpu_free(cpu);
}

// At pc: r0 += add; pc = 0x2000; halt.
void set_halting_block(uint64_t pc, uint64_t add)
{
    fake_set_block(pc, [add](TCGContext *s) {
        tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, add));
        tcg_gen_movi(s, TCG_I64, fake_pc, 0x2000);
        tcg_gen_exit_tb(s, TCG_EXIT_HALT);
    });
}

// 0x1000: r0 += 1; pc = r2 (an indirect jump).
void set_indirect_jump_block()
{
    fake_set_block(0x1000, [](TCGContext *s) {
        tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, 1));
        tcg_gen_mov(s, TCG_I64, fake_pc, fake_r[2]);
        tcg_gen_goto_ptr(s);
    });
}

TEST(Exec, GotoPtrUsesTheJumpCache)
{
    fake_reset();
    set_indirect_jump_block();   // -> 0x3000: r0 += 10; pc = 0x2000 -> halt
    fake_set_block(0x3000, [](TCGContext *s) {
        tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, 10));
        fake_gen_goto(s, 0x2000, 0);
    });
    fake_set_block(0x2000, [](TCGContext *s) { tcg_gen_exit_tb(s, TCG_EXIT_HALT); });
    FakeCPU *cpu = fake_cpu_new();
    for (int round = 0; round < 3; round++) {
        cpu->tcg.pc = 0x1000;
        cpu->r[0] = 0;
        cpu->r[2] = 0x3000;
        EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
        EXPECT_EQ(cpu->r[0], 11u);
    }
    EXPECT_EQ(fake_translations, 3);

    // With -d exec (set before anything runs) every block, the indirect target included, is traced.
    tb_flush_all();
    char *buf = nullptr;
    size_t len = 0;
    cpu->tcg.log = open_memstream(&buf, &len);
    cpu->tcg.log_mask = TCG_LOG_EXEC;
    cpu->tcg.pc = 0x1000;
    cpu->r[0] = 0;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(cpu->r[0], 11u);
    fclose(cpu->tcg.log);
    std::string log(buf, len);
    free(buf);
    EXPECT_NE(log.find("Trace 0x3000"), std::string::npos) << log;
    EXPECT_NE(log.find("Trace 0x2000"), std::string::npos) << log;
    cpu->tcg.log = nullptr;
    cpu->tcg.log_mask = 0;
    fake_cpu_free(cpu);
}

// An indirect jump's target under the flags the CPU runs with now, never a block of the same pc filled
// into the jump cache under other flags; also once more slots were filled than the cache logs.
TEST(Exec, GotoPtrFollowsTheKeyFlags)
{
    fake_reset();
    set_indirect_jump_block();   // each target adds 10 under flags 0, 100 under flags 1, then halts
    const int ntargets = TB_JMP_FILL_LOG + 8;
    for (int k = 0; k < ntargets; k++) {
        fake_set_block(0x40000 + 0x40 * k, [](TCGContext *s) {
            tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, fake_translating_flags ? 100 : 10));
            tcg_gen_movi(s, TCG_I64, fake_pc, 0x2000);
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        });
    }
    FakeCPU *cpu = fake_cpu_new();
    auto run = [&](uint32_t flags, int k) {
        cpu->key_flags = flags;
        cpu->tcg.pc = 0x1000;
        cpu->r[0] = 0;
        cpu->r[2] = 0x40000 + 0x40 * k;
        EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
        return cpu->r[0];
    };
    // Few fills between changes (emptied one by one), then more than the log holds (the whole cache).
    for (int n : {2, ntargets}) {
        for (int round = 0; round < 2; round++) {
            for (int k = 0; k < n; k++) {
                EXPECT_EQ(run(0, k), 11u) << "target " << k;
                EXPECT_EQ(run(0, k), 11u) << "target " << k << ", from the jump cache";
            }
            for (int k = 0; k < n; k++) {
                EXPECT_EQ(run(1, k), 101u) << "target " << k;
                EXPECT_EQ(run(1, k), 101u) << "target " << k << ", from the jump cache";
            }
        }
    }
    fake_cpu_free(cpu);
}

// An emptied jump-cache slot matches no pc: a jump to what was once the empty key (~0) or to the key an
// empty slot holds now finds no block there, instead of the dropped block the slot last held.
TEST(Exec, GotoPtrNeverMatchesAnEmptySlot)
{
    fake_reset();
    fake_set_block(0x1000, [](TCGContext *s) {
        tcg_gen_mov(s, TCG_I64, fake_pc, fake_r[2]);
        tcg_gen_goto_ptr(s);
    });
    const uint64_t in_slot0 = 0x1000000;   // tcg_jmp_hash: slot 0, as ~0 and tcg_jmp_empty_key(1)
    ASSERT_EQ(tcg_jmp_hash(in_slot0), 0u);
    ASSERT_EQ(tcg_jmp_hash(~0ULL), 0u);
    set_halting_block(in_slot0, 1);
    FakeCPU *cpu = fake_cpu_new();
    for (uint64_t target : {uint64_t{~0ULL}, tcg_jmp_empty_key(1), tcg_jmp_empty_key(0)}) {
        cpu->r[0] = 0;
        for (int i = 0; i < 2; i++) {   // slot 0 filled from the loop's lookup, then from the jump cache
            cpu->tcg.pc = 0x1000;
            cpu->r[2] = in_slot0;
            EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
        }
        EXPECT_EQ(cpu->r[0], 2u);
        tb_invalidate_page(in_slot0);   // drops the block: its slot is emptied
        cpu->tcg.pc = 0x1000;
        cpu->r[2] = target;
        cpu->tcg.log = fopen("/dev/null", "w");
        EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_EXCEPTION) << std::hex << target;   // nothing to translate
        fclose(cpu->tcg.log);
        cpu->tcg.log = nullptr;
        EXPECT_EQ(cpu->r[0], 2u) << "the dropped block ran for 0x" << std::hex << target;
    }
    fake_cpu_free(cpu);
}

// try_goto_ptr: to the target when the jump cache has it (the JIT; the interpreter always declines), else
// on to the ops after it, with a value computed before it still there.
TEST(Exec, TryGotoPtrLeavesOnlyOnAHit)
{
    fake_reset();
    fake_set_block(0x1000, [](TCGContext *s) {
        TCGTemp v = tcg_temp_new(s);
        tcg_gen_add(s, TCG_I64, v, fake_r[2], tcg_const(s, 7));
        tcg_gen_mov(s, TCG_I64, fake_pc, fake_r[2]);
        tcg_gen_try_goto_ptr(s);
        tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, 1000));   // the miss path
        tcg_gen_mov(s, TCG_I64, fake_r[3], v);
        tcg_gen_goto_ptr(s);
    });
    set_halting_block(0x3000, 1);
    FakeCPU *cpu = fake_cpu_new();
    bool inline_lookup = std::string(cpu->tcg.backend->name) == "jit";
    for (int round = 0; round < 3; round++) {
        cpu->tcg.pc = 0x1000;
        cpu->r[0] = 0;
        cpu->r[2] = 0x3000;
        cpu->r[3] = 0;
        EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
        bool hit = inline_lookup && round > 0;   // the first run fills the cache
        EXPECT_EQ(cpu->r[0], hit ? 1u : 1001u) << "round " << round;
        EXPECT_EQ(cpu->r[3], hit ? 0u : 0x3007u) << "round " << round;
    }
    fake_cpu_free(cpu);
}

// A single step (the debugger's, tcg_run_uncached) runs one block's instruction and stops: an indirect
// jump at its end goes back to the loop even when the jump cache has the target, and so does the miss path
// of a try_goto_ptr (the try itself declined).
TEST(Exec, SingleStepStopsAtAnIndirectJump)
{
    fake_reset();
    set_indirect_jump_block();
    fake_set_block(0x1100, [](TCGContext *s) {
        tcg_gen_mov(s, TCG_I64, fake_pc, fake_r[2]);
        tcg_gen_try_goto_ptr(s);
        tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, 1000));
        tcg_gen_goto_ptr(s);
    });
    set_halting_block(0x3000, 10);
    FakeCPU *cpu = fake_cpu_new();
    for (uint64_t start : {0x1000, 0x1100}) {
        for (int i = 0; i < 2; i++) {   // the target goes into the jump cache
            cpu->tcg.pc = start;
            cpu->r[2] = 0x3000;
            EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
        }
        cpu->tcg.singlestep = true;
        cpu->tcg.pc = start;
        cpu->r[0] = 0;
        EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_INTERRUPT);
        cpu->tcg.singlestep = false;
        EXPECT_EQ(cpu->tcg.pc, 0x3000u);
        EXPECT_EQ(cpu->r[0], start == 0x1000 ? 1u : 1000u) << "from 0x" << std::hex << start;
    }
    fake_cpu_free(cpu);
}

// Run cpu while another thread asks it to stop once its r2 has counted to 1000.
TCGExitReason exec_until_asked_to_stop(FakeCPU *cpu)
{
    bool returned = false;   // so a broken backend fails the test instead of hanging it
    std::thread stopper([cpu, &returned] {
        while (__atomic_load_n(&cpu->r[2], __ATOMIC_RELAXED) < 1000 && !__atomic_load_n(&returned, __ATOMIC_ACQUIRE)) {
        }
        tcg_cpu_request_exit(&cpu->tcg);
    });
    TCGExitReason e = tcg_cpu_exec(&cpu->tcg);
    __atomic_store_n(&returned, true, __ATOMIC_RELEASE);
    stopper.join();
    return e;
}

TEST(Exec, ExitRequestStopsAChainedLoop)
{
    fake_reset();
    // r2: r0 and r1 are pinned (fake-target.cc), so their state slots change only when the loop exits.
    fake_set_block(0x1000, [](TCGContext *s) {
        tcg_gen_add(s, TCG_I64, fake_r[2], fake_r[2], tcg_const(s, 1));
        fake_gen_goto(s, 0x1000, 0);   // forever
    });
    FakeCPU *cpu = fake_cpu_new();
    cpu->tcg.pc = 0x1000;
    EXPECT_EQ(exec_until_asked_to_stop(cpu), TCG_EXIT_INTERRUPT);
    EXPECT_GE(cpu->r[2], 1000u);
    EXPECT_EQ(cpu->tcg.exit_request, 0);   // consumed
    EXPECT_EQ(cpu->tcg.pc, 0x1000u);
    fake_cpu_free(cpu);
}

// The JIT skips the entry check on chained jumps to a higher pc: a loop still checks on its way back.
TEST(Exec, ExitRequestStopsALoopOfForwardChainedBlocks)
{
    fake_reset();
    fake_set_block(0x2000, [](TCGContext *s) {
        tcg_gen_add(s, TCG_I64, fake_r[2], fake_r[2], tcg_const(s, 1));
        fake_gen_goto(s, 0x2100, 0);   // forward
    });
    fake_set_block(0x2100, [](TCGContext *s) {
        tcg_gen_add(s, TCG_I64, fake_r[3], fake_r[3], tcg_const(s, 1));
        fake_gen_goto(s, 0x2200, 0);   // forward
    });
    fake_set_block(0x2200, [](TCGContext *s) { fake_gen_goto(s, 0x2000, 0); });   // back to the top
    FakeCPU *cpu = fake_cpu_new();
    cpu->tcg.pc = 0x2000;
    EXPECT_EQ(exec_until_asked_to_stop(cpu), TCG_EXIT_INTERRUPT);
    EXPECT_GE(cpu->r[2], 1000u);
    EXPECT_EQ(cpu->tcg.exit_request, 0);
    if (strcmp(fake_backend()->name, "jit") == 0) {
        // Only the backward jump's target checked: the loop stopped before a whole trip.
        EXPECT_EQ(cpu->tcg.pc, 0x2000u);
        EXPECT_EQ(cpu->r[2], cpu->r[3]);
    } else {
        EXPECT_TRUE(cpu->tcg.pc == 0x2000u || cpu->tcg.pc == 0x2100u || cpu->tcg.pc == 0x2200u);
    }
    fake_cpu_free(cpu);
}

// A helper that leaves through the exception path after changing the state.
void helper_raise(void *env)
{
    FakeCPU *cpu = static_cast<FakeCPU *>(env);
    cpu->r[3] = 0xe;
    tcg_cpu_loop_exit(&cpu->tcg, TCG_EXIT_EXCEPTION);
}
const TCGHelperInfo info_raise = {"raise", (void *)helper_raise, TCG_CALL_NO_RETURN, TCG_ARG_VOID, 1, {TCG_ARG_PTR}};

TEST(Exec, LoopExitFromAHelperReturnsToExec)
{
    fake_reset();
    fake_set_block(0x1000, [](TCGContext *s) {
        tcg_gen_movi(s, TCG_I64, fake_r[0], 7);
        tcg_gen_insn_start(s, 0x1002);
        const TCGTemp args[] = {TCG_TEMP_ENV};
        tcg_gen_call(s, &info_raise, -1, 1, args);
        tcg_gen_movi(s, TCG_I64, fake_r[0], 8);   // never reached
        tcg_gen_exit_tb(s, TCG_EXIT_HALT);
    });
    FakeCPU *cpu = fake_cpu_new();
    for (int i = 0; i < 3; i++) {   // the landing point is re-armed every time
        cpu->tcg.pc = 0x1000;
        cpu->r[0] = cpu->r[3] = 0;
        EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_EXCEPTION);
        EXPECT_EQ(cpu->r[0], 7u);
        EXPECT_EQ(cpu->r[3], 0xeu);
        EXPECT_EQ(cpu->tcg.insn_pc, 0x1002u);
        EXPECT_EQ(cpu->tcg.exit_reason, TCG_EXIT_EXCEPTION);
        EXPECT_EQ(tcg_current_cpu, &cpu->tcg);
    }
    fake_cpu_free(cpu);
}

// A helper that moves the pc and asks the loop to restart there (what an SMC handler does).
void helper_restart(void *env)
{
    FakeCPU *cpu = static_cast<FakeCPU *>(env);
    cpu->tcg.pc = 0x2000;
    tcg_cpu_loop_exit(&cpu->tcg, TCG_EXIT_NONE);
}
const TCGHelperInfo info_restart = {"restart", (void *)helper_restart, TCG_CALL_NO_RETURN, TCG_ARG_VOID, 1,
                                    {TCG_ARG_PTR}};

TEST(Exec, LoopExitWithoutReasonRestartsTheLoop)
{
    fake_reset();
    fake_set_block(0x1000, [](TCGContext *s) {
        const TCGTemp args[] = {TCG_TEMP_ENV};
        tcg_gen_call(s, &info_restart, -1, 1, args);
        tcg_gen_exit_tb(s, TCG_EXIT_SYSCALL);   // never reached
    });
    fake_set_block(0x2000, [](TCGContext *s) {
        tcg_gen_movi(s, TCG_I64, fake_r[2], 0x2000);
        tcg_gen_exit_tb(s, TCG_EXIT_HALT);
    });
    FakeCPU *cpu = fake_cpu_new();
    cpu->tcg.pc = 0x1000;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(cpu->r[2], 0x2000u);
    fake_cpu_free(cpu);
}

TEST(Cache, BackendsNeverShareBlocks)
{
    fake_reset();
    fake_setup_counting_loop();
    static TCGBackend other = tcg_backend_interp;   // same code, another identity (outlives its blocks)
    other.name = "interp-copy";
    FakeCPU *a = fake_cpu_new(&tcg_backend_interp), *b = fake_cpu_new(&other);
    for (int round = 0; round < 2; round++) {
        for (FakeCPU *cpu : {a, b}) {
            cpu->tcg.pc = 0x1000;
            cpu->r[0] = 0;
            cpu->r[1] = 10;
            EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
            EXPECT_EQ(cpu->r[0], 10u);
            TranslationBlock *tb = tb_lookup(0x1000, 0);
            ASSERT_NE(tb, nullptr);
            EXPECT_EQ(tb->backend, cpu->tcg.backend);
            EXPECT_TRUE(tb->jmp_dest[0] == nullptr || tb->jmp_dest[0]->backend == cpu->tcg.backend);
        }
    }
    EXPECT_EQ(fake_translations, 8);   // each switch retranslates both blocks
    fake_cpu_free(a);
    fake_cpu_free(b);
}

// Protect-hook bookkeeping for the invalidation tests.
std::set<uint64_t> protected_pages;
int protect_calls;
void record_protect(uint64_t page, bool on)
{
    protect_calls++;
    if (on) {
        EXPECT_TRUE(protected_pages.insert(page).second) << "page protected twice";
    } else {
        EXPECT_EQ(protected_pages.erase(page), 1u) << "unprotecting an unprotected page";
    }
}
const TBPageHooks hooks = {record_protect, nullptr, nullptr};

TEST(Cache, InvalidatePageDropsBlocksAndUnchains)
{
    fake_reset();
    protected_pages.clear();
    tb_set_page_hooks(&hooks);
    fake_setup_counting_loop();
    FakeCPU *cpu = fake_cpu_new();
    cpu->tcg.pc = 0x1000;
    cpu->r[1] = 3;
    ASSERT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(protected_pages, (std::set<uint64_t>{0x1000, 0x2000}));
    EXPECT_TRUE(tb_page_has_code(0x2fff));
    TranslationBlock *a = tb_lookup(0x1000, 0), *b = tb_lookup(0x2000, 0);
    ASSERT_EQ(a->jmp_dest[1], b);

    // The guest rewrites B's page: B is gone, A no longer jumps to it, the page is writable again.
    EXPECT_TRUE(tb_invalidate_page(0x2010));
    EXPECT_TRUE(b->invalid);
    EXPECT_EQ(tb_lookup(0x2000, 0), nullptr);
    EXPECT_EQ(a->jmp_dest[1], nullptr);
    EXPECT_EQ(a->jmp_dest[0], a);
    EXPECT_FALSE(tb_page_has_code(0x2000));
    EXPECT_EQ(protected_pages, (std::set<uint64_t>{0x1000}));
    EXPECT_FALSE(tb_invalidate_page(0x2000));

    // New code at 0x2000 is picked up (not the stale block from the jump cache).
    fake_set_block(0x2000, [](TCGContext *s) {
        tcg_gen_movi(s, TCG_I64, fake_r[4], 0x44);
        tcg_gen_exit_tb(s, TCG_EXIT_SYSCALL);
    });
    cpu->tcg.pc = 0x1000;
    cpu->r[0] = 0;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_SYSCALL);
    EXPECT_EQ(cpu->r[4], 0x44u);
    EXPECT_EQ(fake_translations, 3);

    // A chain into an invalid block is refused.
    tb_chain(a, 1, b);
    EXPECT_NE(a->jmp_dest[1], b);

    tb_flush_all();
    EXPECT_TRUE(protected_pages.empty());
    EXPECT_EQ(tb_lookup(0x1000, 0), nullptr);
    EXPECT_TRUE(a->invalid);
    tb_set_page_hooks(nullptr);
    fake_cpu_free(cpu);
}

TEST(Cache, BlockSpanningTwoPages)
{
    fake_reset();
    protected_pages.clear();
    tb_set_page_hooks(&hooks);
    fake_set_block(0x1ffe, [](TCGContext *s) { tcg_gen_exit_tb(s, TCG_EXIT_HALT); }, 4);
    FakeCPU *cpu = fake_cpu_new();
    cpu->tcg.pc = 0x1ffe;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    TranslationBlock *tb = tb_lookup(0x1ffe, 0);
    ASSERT_NE(tb, nullptr);
    EXPECT_EQ(tb->page[0], 0x1000u);
    EXPECT_EQ(tb->page[1], 0x2000u);
    EXPECT_EQ(protected_pages, (std::set<uint64_t>{0x1000, 0x2000}));
    // Writing the second page drops it and unprotects both pages (nothing else lives there).
    EXPECT_TRUE(tb_invalidate_page(0x2000));
    EXPECT_TRUE(protected_pages.empty());
    EXPECT_FALSE(tb_page_has_code(0x1000));
    tb_set_page_hooks(nullptr);
    fake_cpu_free(cpu);
}

TEST(Exec, UntranslatableCodeIsAnExitNotACrash)
{
    fake_reset();
    FakeCPU *cpu = fake_cpu_new();
    char *buf = nullptr;
    size_t len = 0;
    cpu->tcg.log = open_memstream(&buf, &len);
    cpu->tcg.pc = 0xdead000;   // no block registered: translate fails
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_EXCEPTION);
    // A block whose IR overflows is retried shorter; the fake target ignores max_insns, so it fails.
    fake_set_block(0x5000, [](TCGContext *s) {
        for (int i = 0; i < TCG_MAX_OPS + 1; i++) {
            tcg_gen_mov(s, TCG_I64, fake_r[0], fake_r[1]);
        }
    });
    cpu->tcg.pc = 0x5000;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_EXCEPTION);
    fclose(cpu->tcg.log);
    std::string log(buf, len);
    free(buf);
    EXPECT_NE(log.find("0xdead000"), std::string::npos) << log;
    EXPECT_NE(log.find("0x5000"), std::string::npos) << log;
    fake_cpu_free(cpu);
}

// A target with long blocks: 2000 one-byte "instructions" of r0 += 1, more than the op buffer holds;
// it honours max_insns, so the retry after the overflow succeeds with a shorter block.
int long_translate(TCGCPU *, TCGContext *s, TranslationBlock *tb)
{
    uint32_t n = 0;
    for (; n < 2000 && (!tb->max_insns || n < tb->max_insns); n++) {
        tcg_gen_insn_start(s, tb->pc + n);
        tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, 1));
        tcg_gen_add(s, TCG_I64, fake_r[1], fake_r[1], tcg_const(s, 2));
    }
    tcg_gen_movi(s, TCG_I64, fake_pc, tb->pc + n);
    tcg_gen_exit_tb(s, TCG_EXIT_HALT);
    tb->icount = n;
    tb->size = n;
    return 0;
}

TEST(Exec, OverflowingBlockIsRetranslatedShorter)
{
    fake_reset();
    TCGTargetOps ops = fake_target_ops;
    ops.translate = long_translate;
    FakeCPU *cpu = fake_cpu_new();
    cpu->tcg.target = &ops;
    cpu->tcg.pc = 0x10000;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    TranslationBlock *tb = tb_lookup(0x10000, 0);
    ASSERT_NE(tb, nullptr);
    EXPECT_EQ(tb->icount, 64u);
    EXPECT_EQ(tb->max_insns, 0u);
    EXPECT_EQ(cpu->r[0], 64u);
    EXPECT_EQ(cpu->r[1], 128u);
    EXPECT_EQ(cpu->tcg.pc, 0x10000u + 64);
    fake_cpu_free(cpu);
}

// A translator that raises a guest fault (code it cannot read) leaves through the exception path.
int faulting_translate(TCGCPU *cpu, TCGContext *, TranslationBlock *)
{
    tcg_cpu_loop_exit(cpu, TCG_EXIT_EXCEPTION);
}

TEST(Exec, TranslatorMayRaiseAFault)
{
    fake_reset();
    fake_setup_counting_loop();
    TCGTargetOps ops = fake_target_ops;
    ops.translate = faulting_translate;
    FakeCPU *cpu = fake_cpu_new();
    for (int i = 0; i < 3; i++) {
        cpu->tcg.target = &ops;
        cpu->tcg.pc = 0x1000;
        EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_EXCEPTION);
        EXPECT_EQ(tb_lookup(0x1000, 0), nullptr);
    }
    cpu->tcg.target = &fake_target_ops;
    cpu->r[1] = 4;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    EXPECT_EQ(cpu->r[0], 4u);
    fake_cpu_free(cpu);
}

TEST(Exec, LoggingTracesEveryBlock)
{
    fake_reset();
    fake_setup_counting_loop();
    FakeCPU *cpu = fake_cpu_new();
    char *buf = nullptr;
    size_t len = 0;
    cpu->tcg.log = open_memstream(&buf, &len);
    cpu->tcg.log_mask = TCG_LOG_EXEC | TCG_LOG_OP | TCG_LOG_OP_OPT | TCG_LOG_CPU;
    cpu->tcg.pc = 0x1000;
    cpu->r[1] = 3;
    EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
    fclose(cpu->tcg.log);
    std::string log(buf, len);
    free(buf);
    size_t traces = 0;
    for (size_t p = 0; (p = log.find("Trace 0x1000", p)) != std::string::npos; p++) {
        traces++;
    }
    EXPECT_EQ(traces, 3u) << log;
    EXPECT_NE(log.find("Trace 0x2000"), std::string::npos) << log;
    EXPECT_NE(log.find("OP after optimization"), std::string::npos) << log;
    EXPECT_NE(log.find("goto_tb 0"), std::string::npos) << log;
    EXPECT_NE(log.find("pc=1000 r0=2"), std::string::npos) << log;
    fake_cpu_free(cpu);
}

TEST(Exec, ThreadsShareTheCache)
{
    fake_reset();
    fake_setup_counting_loop();
    std::vector<std::thread> threads;
    std::vector<uint64_t> results(4);
    for (int t = 0; t < 4; t++) {
        threads.emplace_back([t, &results] {
            FakeCPU *cpu = fake_cpu_new();
            cpu->tcg.pc = 0x1000;
            cpu->r[1] = 20000 + t;
            EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_HALT);
            results[t] = cpu->r[0];
            fake_cpu_free(cpu);
        });
    }
    // Meanwhile, keep invalidating the loop's page: running blocks must survive it.
    for (int i = 0; i < 200; i++) {
        tb_invalidate_page(0x1000);
        std::this_thread::yield();
    }
    for (auto &th : threads) {
        th.join();
    }
    for (int t = 0; t < 4; t++) {
        EXPECT_EQ(results[t], 20000u + t);
    }
}

}  // namespace
