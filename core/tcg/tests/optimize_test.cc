// The optimizer: known folds and removals, and a differential test that runs random IR programs with
// and without optimization and requires identical results (registers, CPU-state memory, guest memory,
// exit reason).
#include <gtest/gtest.h>

#include <csignal>
#include <functional>
#include <cstring>
#include <random>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include "core/tcg/tests/fake-target.h"

namespace {

int count_ops(const TCGContext *s, TCGOpcode opc)
{
    int n = 0;
    for (int i = 0; i < s->nb_ops; i++) {
        n += s->ops[i].opc == opc;
    }
    return n;
}

TEST(Optimize, FoldsConstantsAndRemovesDeadCode)
{
    FakeCPU *cpu = fake_cpu_new();
    TCGContext *s = cpu->tcg.ctx;
    cpu->r[0] = 100;
    std::string dump;
    fake_run_ir(
        cpu,
        [&](TCGContext *s) {
            TCGTemp t = tcg_temp_new(s), u = tcg_temp_new(s), dead = tcg_temp_new(s);
            tcg_gen_movi(s, TCG_I64, t, 3);
            tcg_gen_add(s, TCG_I64, u, t, tcg_const(s, 4));        // u = 7
            tcg_gen_mul(s, TCG_I64, dead, fake_r[0], fake_r[1]);    // never used
            tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], u);      // r0 += 7
            tcg_gen_shl(s, TCG_I32, fake_r[2], u, tcg_const(s, 33)); // 7 << (33 % 32) = 14
            tcg_gen_st(s, MO_64, u, TCG_TEMP_ENV, FAKE_OFF(scratch)); // a store always stays
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        },
        true, &dump);
    EXPECT_EQ(cpu->r[0], 107u);
    EXPECT_EQ(cpu->r[2], 14u);
    EXPECT_EQ(cpu->scratch[0], 7u);
    EXPECT_NE(dump.find("add_i64 r0, r0, $0x7"), std::string::npos) << dump;
    EXPECT_NE(dump.find("movi_i64 r2, $0xe"), std::string::npos) << dump;
    EXPECT_NE(dump.find("st "), std::string::npos) << dump;
    EXPECT_EQ(count_ops(s, INDEX_op_mul), 0) << dump;
    EXPECT_EQ(s->nb_ops, 5) << dump;   // insn_start, add, movi r2, st, exit_tb and nothing else
    fake_cpu_free(cpu);
}

TEST(Optimize, KeepsGlobalWritesThatAStateReaderCanSee)
{
    FakeCPU *cpu = fake_cpu_new();
    TCGContext *s = cpu->tcg.ctx;
    std::string dump;
    fake_run_ir(
        cpu,
        [&](TCGContext *s) {
            tcg_gen_movi(s, TCG_I64, fake_r[0], 1);   // overwritten below with no reader: removable
            tcg_gen_movi(s, TCG_I64, fake_r[0], 2);   // read by the ld (state memory): must stay
            tcg_gen_ld(s, TCG_I64, MO_64, fake_r[1], TCG_TEMP_ENV, FAKE_OFF(r));
            tcg_gen_movi(s, TCG_I64, fake_r[0], 3);
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        },
        true, &dump);
    EXPECT_EQ(cpu->r[1], 2u) << dump;
    EXPECT_EQ(cpu->r[0], 3u);
    EXPECT_EQ(count_ops(s, INDEX_op_movi), 2) << dump;
    fake_cpu_free(cpu);
}

// x86's 32-bit operations as the translator emits them: the inputs zero-extended into temps, the result
// computed into a temp and zero-extended into the register. The 32-bit op reads its inputs' low halves
// itself, and computes straight into the register; but not when the temp is read after the register
// changed.
TEST(Optimize, ComputesThirtyTwoBitResultsStraightIntoTheirRegister)
{
    FakeCPU *cpu = fake_cpu_new();
    TCGContext *s = cpu->tcg.ctx;
    cpu->r[0] = 0xffffffff00000005ULL;
    cpu->r[1] = 0xaaaaaaaa00000007ULL;
    cpu->r[2] = 0x1234567800000001ULL;
    std::string dump;
    fake_run_ir(
        cpu,
        [&](TCGContext *s) {
            TCGTemp a = tcg_temp_new(s), b = tcg_temp_new(s), sum = tcg_temp_new(s);
            tcg_gen_ext32u(s, TCG_I64, a, fake_r[0]);
            tcg_gen_ext32u(s, TCG_I64, b, fake_r[1]);
            tcg_gen_add(s, TCG_I32, sum, b, a);
            tcg_gen_ext32u(s, TCG_I64, fake_r[1], sum);   // r1 = 12
            TCGTemp c = tcg_temp_new(s), rot = tcg_temp_new(s);
            tcg_gen_ext32u(s, TCG_I64, c, fake_r[2]);
            tcg_gen_rotl(s, TCG_I32, rot, c, tcg_const(s, 4));
            tcg_gen_ext32u(s, TCG_I64, fake_r[2], rot);   // r2 = 0x10
            tcg_gen_mov(s, TCG_I64, fake_r[3], rot);      // a later read of the temp: r2 still holds it
            TCGTemp x = tcg_temp_new(s);
            tcg_gen_xor(s, TCG_I32, x, fake_r[0], fake_r[1]);
            tcg_gen_ext32u(s, TCG_I64, fake_r[4], x);     // r4 = 5 ^ 12 = 9
            tcg_gen_movi(s, TCG_I64, fake_r[4], 100);     // r4 changes...
            tcg_gen_mov(s, TCG_I64, fake_r[5], x);        // ...before x is read: x must stay a temp
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        },
        true, &dump);
    EXPECT_EQ(cpu->r[1], 12u) << dump;
    EXPECT_EQ(cpu->r[2], 0x10u) << dump;
    EXPECT_EQ(cpu->r[3], 0x10u) << dump;
    EXPECT_EQ(cpu->r[4], 100u) << dump;
    EXPECT_EQ(cpu->r[5], 9u) << dump;
    EXPECT_NE(dump.find("add_i32 r1, r1, r0"), std::string::npos) << dump;
    EXPECT_NE(dump.find("rotl_i32 r2, r2, $0x4"), std::string::npos) << dump;
    EXPECT_NE(dump.find("mov_i64 r3, r2"), std::string::npos) << dump;
    EXPECT_EQ(dump.find("xor_i32 r4"), std::string::npos) << dump;
    EXPECT_EQ(count_ops(s, INDEX_op_ext32u), 0) << dump;
    fake_cpu_free(cpu);
}

TEST(Optimize, FoldsBranchesOnConstants)
{
    FakeCPU *cpu = fake_cpu_new();
    TCGContext *s = cpu->tcg.ctx;
    std::string dump;
    fake_run_ir(
        cpu,
        [&](TCGContext *s) {
            int skip = tcg_label_new(s), never = tcg_label_new(s);
            TCGTemp five = tcg_const(s, 5);
            tcg_gen_brcond(s, TCG_I64, TCG_COND_LTU, five, tcg_const(s, 3), never);   // never taken
            tcg_gen_brcond(s, TCG_I32, TCG_COND_EQ, five, tcg_const(s, 0x100000005ULL), skip);   // always
            tcg_gen_movi(s, TCG_I64, fake_r[0], 0xbad);
            tcg_gen_set_label(s, skip);
            tcg_gen_movi(s, TCG_I64, fake_r[1], 0x600d);
            tcg_gen_set_label(s, never);
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        },
        true, &dump);
    EXPECT_EQ(count_ops(s, INDEX_op_brcond), 0) << dump;
    EXPECT_EQ(count_ops(s, INDEX_op_br), 1) << dump;
    EXPECT_EQ(dump.find("0xbad"), std::string::npos) << dump;
    EXPECT_EQ(cpu->r[1], 0x600du);
    fake_cpu_free(cpu);
}

// --- differential testing ------------------------------------------------------------------------------

uint64_t helper_mix(void *env)
{
    FakeCPU *cpu = static_cast<FakeCPU *>(env);
    cpu->r[7] = cpu->r[7] * 31 + cpu->r[0] + 1;
    cpu->r[3] ^= 0x5555;
    return cpu->r[7] >> 3;
}
uint64_t helper_pure(uint64_t a, uint64_t b) { return a * 7 + (b >> 2); }
uint32_t helper_norw(uint32_t a, uint64_t b) { return a + (uint32_t)(b >> 32); }
const TCGHelperInfo info_mix = {"mix", (void *)helper_mix, 0, TCG_ARG_I64, 1, {TCG_ARG_PTR}};
const TCGHelperInfo info_pure = {"pure", (void *)helper_pure, TCG_CALL_PURE | TCG_CALL_NO_RW_GLOBALS, TCG_ARG_I64,
                                 2, {TCG_ARG_I64, TCG_ARG_I64}};
const TCGHelperInfo info_norw = {"norw", (void *)helper_norw, TCG_CALL_NO_RW_GLOBALS, TCG_ARG_I32, 2,
                                 {TCG_ARG_I32, TCG_ARG_I64}};

const uint64_t kEdge[] = {0, 1, 2, 31, 32, 63, 64, 0xff, 0x8000, 0x7fffffff, 0x80000000, 0xffffffff,
                          0x100000000ULL, 0x8000000000000000ULL, ~0ULL, 0x123456789abcdef0ULL};

struct Gen {
    std::mt19937_64 rng;
    uint8_t *gmem;
    std::vector<TCGTemp> locals;
    std::vector<int> pending;   // labels branched to but not placed yet
    int exit_label = -1;

    uint64_t value() { return rng() % 3 ? kEdge[rng() % 16] : rng(); }
    TCGTemp dest()
    {
        return rng() % 3 == 0 ? fake_r[rng() % 8] : locals[rng() % locals.size()];
    }
    TCGTemp src(TCGContext *s)
    {
        switch (rng() % 4) {
        case 0: return fake_r[rng() % 8];
        case 1: return tcg_const(s, value());
        default: return locals[rng() % locals.size()];
        }
    }

    void pure_op(TCGContext *s)
    {
        static const TCGOpcode ops[] = {
            INDEX_op_mov, INDEX_op_movi, INDEX_op_add, INDEX_op_sub, INDEX_op_mul, INDEX_op_and, INDEX_op_or,
            INDEX_op_xor, INDEX_op_andc, INDEX_op_shl, INDEX_op_shr, INDEX_op_sar, INDEX_op_rotl, INDEX_op_rotr,
            INDEX_op_neg, INDEX_op_not, INDEX_op_mulu2, INDEX_op_muls2, INDEX_op_ext8s, INDEX_op_ext8u,
            INDEX_op_ext16s, INDEX_op_ext16u, INDEX_op_ext32s, INDEX_op_ext32u, INDEX_op_extract,
            INDEX_op_sextract, INDEX_op_deposit, INDEX_op_bswap, INDEX_op_clz, INDEX_op_ctz, INDEX_op_ctpop,
            INDEX_op_setcond, INDEX_op_movcond,
        };
        TCGOpcode opc = ops[rng() % (sizeof(ops) / sizeof(ops[0]))];
        TCGType t = (TCGType)(rng() & 1);
        const TCGOpDef &d = tcg_op_defs[opc];
        // Choose inputs before emitting: tcg_const must not run between tcg_emit and filling the op.
        TCGTemp args[6];
        for (int i = 0; i < d.nb_oargs; i++) {
            args[i] = dest();
        }
        if (d.nb_oargs == 2 && args[0] == args[1]) {
            args[1] = locals[0] == args[0] ? locals[1] : locals[0];
        }
        for (int i = 0; i < d.nb_iargs; i++) {
            args[d.nb_oargs + i] = rng() % 8 == 0 && i > 0 ? args[d.nb_oargs] : src(s);   // sometimes a op a
        }
        unsigned w = t == TCG_I32 ? 32 : 64;
        uint64_t c0 = 0, c1 = 0;
        if (opc == INDEX_op_extract || opc == INDEX_op_sextract || opc == INDEX_op_deposit) {
            c1 = 1 + rng() % w;
            c0 = rng() % (w - c1 + 1);
        } else if (opc == INDEX_op_setcond || opc == INDEX_op_movcond) {
            c0 = rng() % 14;
        } else if (opc == INDEX_op_movi) {
            c0 = value();
        }
        TCGOp *op = tcg_emit(s, opc, t);
        for (int i = 0; i < d.nb_oargs + d.nb_iargs; i++) {
            op->args[i] = args[i];
        }
        op->cargs[0] = c0;
        op->cargs[1] = c1;
    }

    void mem_op(TCGContext *s)
    {
        static const TCGMemOp mos[] = {MO_8, MO_16, MO_32, MO_64, MO_S8, MO_S16, MO_S32};
        TCGMemOp mo = mos[rng() % 7];
        TCGType t = (TCGType)(rng() & 1);
        // a CPU-state slot: one of the registers (aliasing the globals) or the scratch area
        uint32_t off = rng() & 1 ? FAKE_OFF(r) + 8 * (rng() % 8) : FAKE_OFF(scratch) + 8 * (rng() % 4);
        TCGTemp addr = tcg_temp_new(s);
        switch (rng() % 6) {
        case 0: tcg_gen_ld(s, t, mo, dest(), TCG_TEMP_ENV, off); break;
        case 1: tcg_gen_st(s, mo, src(s), TCG_TEMP_ENV, off); break;
        case 2:
        case 3:
        case 4: {
            // a guest address inside gmem computed from data
            TCGTemp v = src(s);
            tcg_gen_and(s, TCG_I64, addr, v, tcg_const(s, 0x1f8));
            tcg_gen_add(s, TCG_I64, addr, addr, tcg_const(s, (uint64_t)(uintptr_t)gmem));
            if (rng() & 1) {
                tcg_gen_guest_ld(s, t, mo, dest(), addr);
            } else {
                tcg_gen_guest_st(s, mo, src(s), addr);
            }
            break;
        }
        default: {
            tcg_gen_movi(s, TCG_I64, addr, (uint64_t)(uintptr_t)gmem + 16 * (rng() % 30));
            if (rng() & 1) {
                tcg_gen_guest_ld128(s, FAKE_OFF(r) + 8 * (rng() % 7), addr);   // overwrites two registers
            } else {
                tcg_gen_guest_st128(s, FAKE_OFF(r) + 8 * (rng() % 7), addr);
            }
            break;
        }
        }
    }

    void call_op(TCGContext *s)
    {
        switch (rng() % 3) {
        case 0: {
            const TCGTemp a[] = {TCG_TEMP_ENV};
            tcg_gen_call(s, &info_mix, rng() & 1 ? dest() : tcg_temp_new(s), 1, a);
            break;
        }
        case 1: {
            const TCGTemp a[] = {src(s), src(s)};
            tcg_gen_call(s, &info_pure, dest(), 2, a);
            break;
        }
        default: {
            const TCGTemp a[] = {src(s), src(s)};
            tcg_gen_call(s, &info_norw, dest(), 2, a);
            break;
        }
        }
    }

    void branch_op(TCGContext *s)
    {
        switch (rng() % 4) {
        case 0:
            if (!pending.empty()) {
                size_t i = rng() % pending.size();
                tcg_gen_set_label(s, pending[i]);
                pending.erase(pending.begin() + i);
            }
            break;
        case 1: {
            int l = tcg_label_new(s);
            TCGTemp a = src(s), b = src(s);
            tcg_gen_brcond(s, (TCGType)(rng() & 1), (TCGCond)(rng() % 14), a, b, l);
            pending.push_back(l);
            break;
        }
        case 2: {
            TCGTemp a = src(s), b = src(s);
            tcg_gen_brcond(s, (TCGType)(rng() & 1), (TCGCond)(rng() % 14), a, b, exit_label);
            break;
        }
        default:
            tcg_gen_insn_start(s, rng() & 0xffff);
            break;
        }
    }

    void program(TCGContext *s, int len)
    {
        locals.clear();
        pending.clear();
        exit_label = tcg_label_new(s);
        for (int i = 0; i < 6; i++) {
            TCGTemp t = tcg_temp_new(s);
            locals.push_back(t);
            // Locals start defined, from the state (so the optimizer cannot know them).
            tcg_gen_xor(s, TCG_I64, t, fake_r[i], fake_r[(i + 3) % 8]);
        }
        for (int i = 0; i < len; i++) {
            unsigned k = rng() % 20;
            if (k < 12) {
                pure_op(s);
            } else if (k < 15) {
                mem_op(s);
            } else if (k < 17) {
                call_op(s);
            } else {
                branch_op(s);
            }
        }
        for (int l : pending) {
            tcg_gen_set_label(s, l);
        }
        // Locals feed the state at the end, so their values are observable.
        for (size_t i = 0; i < locals.size(); i++) {
            tcg_gen_st(s, MO_64, locals[i], TCG_TEMP_ENV, FAKE_OFF(scratch) + 8 * (i % 4));
            if (i >= 4) {
                tcg_gen_xor(s, TCG_I64, fake_r[i], fake_r[i], locals[i]);
            }
        }
        tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        tcg_gen_set_label(s, exit_label);
        tcg_gen_movi(s, TCG_I64, fake_r[6], 0xe817);
        tcg_gen_exit_tb(s, TCG_EXIT_SYSCALL);
    }
};

TEST(Optimize, RandomProgramsBehaveTheSame)
{
    FakeCPU *cpu = fake_cpu_new();
    alignas(16) static uint8_t gmem[4][1024];   // one per run, and the initial contents
    int removed = 0, total = 0, syscall_exits = 0;
    for (int seed = 0; seed < 3000; seed++) {
        uint64_t r0[8], scratch0[4];
        std::mt19937_64 init(seed * 7919 + 1);
        for (auto &r : r0) r = init() % 3 ? init() : kEdge[init() % 16];
        for (auto &r : scratch0) r = init();
        for (int i = 0; i < 1024; i++) gmem[3][i] = (uint8_t)init();

        // Three runs of the same program: the interpreter without optimization (the reference), then
        // the backend under test without and with optimization.
        const TCGBackend *backends[3] = {&tcg_backend_interp, fake_backend(), fake_backend()};
        uint64_t regs[3][8], scr[3][4], insn_pc[3];
        TCGExitReason why[3];
        std::string dumps[3];
        int nops[3];
        for (int run = 0; run < 3; run++) {
            memcpy(cpu->r, r0, sizeof(r0));
            memcpy(cpu->scratch, scratch0, sizeof(scratch0));
            memcpy(gmem[run], gmem[3], sizeof(gmem[3]));
            cpu->tcg.backend = backends[run];
            Gen g{std::mt19937_64(seed), gmem[run], {}, {}, -1};
            why[run] = fake_run_ir(cpu, [&](TCGContext *s) { g.program(s, 60); }, run == 2, &dumps[run]).reason;
            nops[run] = cpu->tcg.ctx->nb_ops;
            memcpy(regs[run], cpu->r, sizeof(cpu->r));
            memcpy(scr[run], cpu->scratch, sizeof(cpu->scratch));
            insn_pc[run] = cpu->tcg.insn_pc;
        }
        for (int run = 1; run < 3; run++) {
            std::string ctx = "seed " + std::to_string(seed) + " run " + std::to_string(run) + " on " +
                              backends[run]->name + "\n--- reference:\n" + dumps[0] + "--- this run:\n" + dumps[run];
            ASSERT_EQ(why[0], why[run]) << ctx;
            for (int i = 0; i < 8; i++) {
                ASSERT_EQ(regs[0][i], regs[run][i]) << "r" << i << " " << ctx;
            }
            for (int i = 0; i < 4; i++) {
                ASSERT_EQ(scr[0][i], scr[run][i]) << "scratch" << i << " " << ctx;
            }
            ASSERT_EQ(memcmp(gmem[0], gmem[run], 1024), 0) << ctx;
            ASSERT_EQ(insn_pc[0], insn_pc[run]) << ctx;
        }
        nops[1] = nops[2];
        removed += nops[0] - nops[1];
        total += nops[0];
        syscall_exits += why[0] == TCG_EXIT_SYSCALL;
    }
    // The optimizer does something, and both exits were exercised.
    EXPECT_GT(removed, total / 20) << removed << " of " << total;
    EXPECT_GT(syscall_exits, 100);
    EXPECT_LT(syscall_exits, 2900);
    cpu->tcg.backend = fake_backend();
    fake_cpu_free(cpu);
}

// A guest fault must see every global written before the faulting access, even one the block
// overwrites afterwards.
void on_segv(int, siginfo_t *, void *uc)
{
    tcg_cpu_restore_from_signal(tcg_current_cpu, uc);
    tcg_cpu_loop_exit(tcg_current_cpu, TCG_EXIT_EXCEPTION);
}

// "t = the guest word 0x1234; r1 = t", then more(s, t, u, addr) (u: another temp, addr: the word's address)
// and a halt, run optimized: how the coalescing cases below start. The caller frees the CPU.
using LoadCopyMore = std::function<void(TCGContext *s, TCGTemp t, TCGTemp u, TCGTemp addr)>;
FakeCPU *run_load_copy(const LoadCopyMore &more, std::string *dump)
{
    static uint64_t word = 0x1234;
    FakeCPU *cpu = fake_cpu_new();
    fake_run_ir(
        cpu,
        [&](TCGContext *s) {
            TCGTemp t = tcg_temp_new(s), u = tcg_temp_new(s);
            TCGTemp addr = tcg_const(s, (uint64_t)(uintptr_t)&word);
            tcg_gen_guest_ld(s, TCG_I64, MO_64, t, addr);
            tcg_gen_mov(s, TCG_I64, fake_r[1], t);   // r1 = 0x1234
            more(s, t, u, addr);
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        },
        true, dump);
    return cpu;
}

// A guest load copied into a global loads into the global (a fault leaves it as it was: the next test).
TEST(Optimize, LoadsStraightIntoTheirRegister)
{
    std::string dump;
    FakeCPU *cpu = run_load_copy(
        [](TCGContext *s, TCGTemp t, TCGTemp u, TCGTemp addr) {
            tcg_gen_add(s, TCG_I64, fake_r[2], t, tcg_const(s, 1));    // a later read of t: r1 holds it
            tcg_gen_guest_ld(s, TCG_I64, MO_8, u, addr);               // zero-extended...
            tcg_gen_ext32u(s, TCG_I64, fake_r[3], u);                  // ...so this is a copy: r3 = 0x34
        },
        &dump);
    TCGContext *s = cpu->tcg.ctx;
    EXPECT_EQ(cpu->r[1], 0x1234u) << dump;
    EXPECT_EQ(cpu->r[2], 0x1235u) << dump;
    EXPECT_EQ(cpu->r[3], 0x34u) << dump;
    EXPECT_EQ(count_ops(s, INDEX_op_mov), 0) << dump;
    EXPECT_EQ(count_ops(s, INDEX_op_ext32u), 0) << dump;
    fake_cpu_free(cpu);
}

// A result read again past a conditional branch (the forward pass reads the temp for the register there)
// is still loaded straight into its register; one read again past a label stays a temp.
TEST(Optimize, LoadsStraightIntoTheirRegisterAcrossAConditionalBranch)
{
    std::string dump;
    FakeCPU *cpu = run_load_copy(
        [](TCGContext *s, TCGTemp t, TCGTemp u, TCGTemp addr) {
            int skip = tcg_label_new(s), out = tcg_label_new(s);
            tcg_gen_brcond(s, TCG_I64, TCG_COND_EQ, t, tcg_const(s, 0), skip);  // not taken
            tcg_gen_add(s, TCG_I64, fake_r[2], t, tcg_const(s, 1));            // r2 = 0x1235
            tcg_gen_guest_ld(s, TCG_I64, MO_64, u, addr);
            tcg_gen_mov(s, TCG_I64, fake_r[3], u);                             // r3 = 0x1234
            tcg_gen_brcond(s, TCG_I64, TCG_COND_NE, u, tcg_const(s, 0), out);  // taken
            tcg_gen_set_label(s, skip);
            tcg_gen_movi(s, TCG_I64, fake_r[4], 7);
            tcg_gen_set_label(s, out);
            tcg_gen_add(s, TCG_I64, fake_r[5], u, tcg_const(s, 2));            // past a label: r5 = 0x1236
        },
        &dump);
    TCGContext *s = cpu->tcg.ctx;
    EXPECT_EQ(cpu->r[1], 0x1234u) << dump;
    EXPECT_EQ(cpu->r[2], 0x1235u) << dump;
    EXPECT_EQ(cpu->r[3], 0x1234u) << dump;
    EXPECT_EQ(cpu->r[4], 0u) << dump;
    EXPECT_EQ(cpu->r[5], 0x1236u) << dump;
    EXPECT_NE(dump.find("add_i64 r2, r1"), std::string::npos) << dump;
    EXPECT_EQ(count_ops(s, INDEX_op_mov), 1) << dump;   // r3's copy: u is read past the label
    fake_cpu_free(cpu);
}

// A store to another part of the CPU state (the pc before an indirect jump) leaves the register holding the
// result: reads after it still read the register. A store over the register's own slot does not.
TEST(Optimize, LoadsStraightIntoTheirRegisterPastAStoreElsewhere)
{
    std::string dump;
    FakeCPU *cpu = run_load_copy(
        [](TCGContext *s, TCGTemp t, TCGTemp u, TCGTemp addr) {
            tcg_gen_st(s, MO_64, t, TCG_TEMP_ENV, FAKE_OFF(scratch));          // elsewhere
            tcg_gen_add(s, TCG_I64, fake_r[2], t, tcg_const(s, 1));             // r2 = 0x1235
            tcg_gen_guest_ld(s, TCG_I64, MO_64, u, addr);
            tcg_gen_mov(s, TCG_I64, fake_r[3], u);                              // r3 = 0x1234...
            tcg_gen_st(s, MO_32, tcg_const(s, 9), TCG_TEMP_ENV, FAKE_OFF(r[3]) + 4);   // ...then its top half 9
            tcg_gen_add(s, TCG_I64, fake_r[4], u, tcg_const(s, 2));             // u itself: r4 = 0x1236
        },
        &dump);
    TCGContext *s = cpu->tcg.ctx;
    EXPECT_EQ(cpu->r[1], 0x1234u) << dump;
    EXPECT_EQ(cpu->scratch[0], 0x1234u) << dump;
    EXPECT_EQ(cpu->r[2], 0x1235u) << dump;
    EXPECT_EQ(cpu->r[3], 0x900001234ULL) << dump;
    EXPECT_EQ(cpu->r[4], 0x1236u) << dump;
    EXPECT_NE(dump.find("add_i64 r2, r1"), std::string::npos) << dump;
    EXPECT_EQ(count_ops(s, INDEX_op_mov), 1) << dump;   // r3's copy stays
    fake_cpu_free(cpu);
}

// A store of 32 bits or fewer reads only the low bytes of its value: x86's 32-bit store of a register
// (the translator zero-extends it into a temp first) stores the register itself, and the extension goes.
// A 64-bit store keeps it.
TEST(Optimize, NarrowStoresTakeTheValueBeforeItsZeroExtension)
{
    FakeCPU *cpu = fake_cpu_new();
    TCGContext *s = cpu->tcg.ctx;
    cpu->r[0] = 0xaaaaaaaa11223344ULL;
    static uint64_t words[2];
    words[0] = words[1] = ~0ULL;
    std::string dump;
    fake_run_ir(
        cpu,
        [&](TCGContext *s) {
            TCGTemp low = tcg_temp_new(s), wide = tcg_temp_new(s);
            tcg_gen_ext32u(s, TCG_I64, low, fake_r[0]);
            tcg_gen_guest_st(s, MO_32, low, tcg_const(s, (uint64_t)(uintptr_t)&words[0]));
            tcg_gen_ext32u(s, TCG_I64, wide, fake_r[0]);
            tcg_gen_guest_st(s, MO_64, wide, tcg_const(s, (uint64_t)(uintptr_t)&words[1]));
            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
        },
        true, &dump);
    EXPECT_EQ(words[0], 0xffffffff11223344ULL) << dump;
    EXPECT_EQ(words[1], 0x11223344ULL) << dump;
    EXPECT_EQ(count_ops(s, INDEX_op_ext32u), 1) << dump;   // the 64-bit store's
    fake_cpu_free(cpu);
}

TEST(Optimize, FaultsSeeUpToDateGlobals)
{
    fake_reset();
    void *page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(page, MAP_FAILED);
    struct sigaction sa = {}, old = {};
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, &old);
    fake_set_block(0x1000, [page](TCGContext *s) {
        TCGTemp t = tcg_temp_new(s);
        tcg_gen_movi(s, TCG_I64, fake_r[0], 1);
        tcg_gen_movi(s, TCG_I64, fake_r[1], 0x11);
        tcg_gen_insn_start(s, 0x1004);
        tcg_gen_guest_ld(s, TCG_I64, MO_64, t, tcg_const(s, (uint64_t)(uintptr_t)page));
        tcg_gen_movi(s, TCG_I64, fake_r[0], 2);
        tcg_gen_mov(s, TCG_I64, fake_r[1], t);
        tcg_gen_exit_tb(s, TCG_EXIT_HALT);
    });
    FakeCPU *cpu = fake_cpu_new();
    for (int i = 0; i < 2; i++) {
        cpu->tcg.pc = 0x1000;
        cpu->r[0] = cpu->r[1] = 0;
        EXPECT_EQ(tcg_cpu_exec(&cpu->tcg), TCG_EXIT_EXCEPTION);
        EXPECT_EQ(cpu->r[0], 1u);
        EXPECT_EQ(cpu->r[1], 0x11u);
        EXPECT_EQ(cpu->tcg.insn_pc, 0x1004u);
    }
    sigaction(SIGSEGV, &old, nullptr);
    munmap(page, 4096);
    fake_cpu_free(cpu);
}

}  // namespace
