// The op table and the condition utilities.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <string>

#include "core/tcg/tests/fake-target.h"

TEST(OpTable, EveryOpIsDescribedOnce)
{
    std::set<std::string> names;
    for (int i = 0; i < TCG_OP_COUNT; i++) {
        const TCGOpDef &d = tcg_op_defs[i];
        ASSERT_NE(d.name, nullptr) << "op " << i;
        EXPECT_TRUE(names.insert(d.name).second) << d.name << " twice";
        EXPECT_LE(d.nb_oargs + d.nb_iargs, TCG_MAX_OP_ARGS) << d.name;
        EXPECT_LE(d.nb_cargs, 4) << d.name;
        // Block ends and memory accesses must never be removed as dead code.
        if (d.flags & (OPF_BB_END | OPF_MEM | OPF_CALL)) {
            EXPECT_TRUE(d.flags & OPF_SIDE_EFFECTS) << d.name;
        }
        if (d.flags & OPF_COMMUTATIVE) {
            EXPECT_EQ(d.nb_iargs, 2) << d.name;
        }
    }
    EXPECT_STREQ(tcg_op_defs[INDEX_op_add].name, "add");
    EXPECT_STREQ(tcg_op_defs[INDEX_op_exit_tb].name, "exit_tb");
    EXPECT_EQ(tcg_op_defs[INDEX_op_movcond].nb_iargs, 4);
    EXPECT_EQ(tcg_op_defs[INDEX_op_mulu2].nb_oargs, 2);
}

static const TCGCond kConds[] = {
    TCG_COND_NEVER, TCG_COND_ALWAYS, TCG_COND_EQ,  TCG_COND_NE,  TCG_COND_LT,  TCG_COND_GE,    TCG_COND_LE,
    TCG_COND_GT,    TCG_COND_LTU,    TCG_COND_GEU, TCG_COND_LEU, TCG_COND_GTU, TCG_COND_TSTEQ, TCG_COND_TSTNE,
};

TEST(Cond, KnownValues)
{
    EXPECT_TRUE(tcg_cond_eval(TCG_COND_LT, TCG_I64, (uint64_t)-1, 0));
    EXPECT_FALSE(tcg_cond_eval(TCG_COND_LTU, TCG_I64, (uint64_t)-1, 0));
    // 32-bit comparisons ignore the upper half.
    EXPECT_TRUE(tcg_cond_eval(TCG_COND_EQ, TCG_I32, 0x100000005ULL, 5));
    EXPECT_FALSE(tcg_cond_eval(TCG_COND_EQ, TCG_I64, 0x100000005ULL, 5));
    EXPECT_TRUE(tcg_cond_eval(TCG_COND_LT, TCG_I32, 0x80000000ULL, 0));
    EXPECT_FALSE(tcg_cond_eval(TCG_COND_LT, TCG_I64, 0x80000000ULL, 0));
    EXPECT_TRUE(tcg_cond_eval(TCG_COND_GTU, TCG_I32, 0xffffffffULL, 1));
    EXPECT_TRUE(tcg_cond_eval(TCG_COND_TSTEQ, TCG_I64, 0xf0, 0x0f));
    EXPECT_FALSE(tcg_cond_eval(TCG_COND_TSTNE, TCG_I64, 0xf0, 0x0f));
    EXPECT_TRUE(tcg_cond_eval(TCG_COND_TSTNE, TCG_I64, 0x1f0, 0x10));
    EXPECT_TRUE(tcg_cond_eval(TCG_COND_TSTEQ, TCG_I32, 0x100000000ULL, 0x100000000ULL));
    EXPECT_TRUE(tcg_cond_eval(TCG_COND_LE, TCG_I64, 3, 3));
    EXPECT_FALSE(tcg_cond_eval(TCG_COND_GT, TCG_I64, 3, 3));
    EXPECT_TRUE(tcg_cond_eval(TCG_COND_GE, TCG_I32, 0x7fffffff, 0x80000000ULL));
    EXPECT_FALSE(tcg_cond_eval(TCG_COND_NEVER, TCG_I64, 0, 0));
    EXPECT_TRUE(tcg_cond_eval(TCG_COND_ALWAYS, TCG_I64, 0, 1));
}

TEST(Cond, InvertAndSwapAgreeWithEval)
{
    std::mt19937_64 rng(1);
    const uint64_t edge[] = {0, 1, 2, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
                             0x8000000000000000ULL, ~0ULL};
    for (TCGCond c : kConds) {
        EXPECT_EQ(tcg_cond_invert(tcg_cond_invert(c)), c) << tcg_cond_name(c);
        EXPECT_EQ(tcg_cond_swap(tcg_cond_swap(c)), c) << tcg_cond_name(c);
        for (int t = 0; t < 2; t++) {
            for (int i = 0; i < 400; i++) {
                uint64_t a = i < 100 ? edge[i % 10] : rng(), b = i < 100 ? edge[i / 10] : rng();
                if (i >= 300) {
                    b = a;   // equal operands matter for LE/GE
                }
                TCGType ty = (TCGType)t;
                bool v = tcg_cond_eval(c, ty, a, b);
                EXPECT_EQ(tcg_cond_eval(tcg_cond_invert(c), ty, a, b), !v) << tcg_cond_name(c);
                EXPECT_EQ(tcg_cond_eval(tcg_cond_swap(c), ty, b, a), v) << tcg_cond_name(c);
            }
        }
    }
}

TEST(Cond, NamesAreDistinct)
{
    std::set<std::string> names;
    for (TCGCond c : kConds) {
        EXPECT_TRUE(names.insert(tcg_cond_name(c)).second);
    }
    EXPECT_STREQ(tcg_cond_name(TCG_COND_LTU), "ltu");
    EXPECT_STREQ(tcg_cond_name(TCG_COND_TSTNE), "tstne");
}

static const TCGHelperInfo dump_helper = {"frob", nullptr, 0, TCG_ARG_I64, 2, {TCG_ARG_PTR, TCG_ARG_I64}};

TEST(Builder, TempsLabelsAndDump)
{
    FakeCPU *cpu = fake_cpu_new();
    TCGContext *s = cpu->tcg.ctx;
    tcg_func_start(s);
    EXPECT_EQ(s->temps[TCG_TEMP_ENV].kind, TEMP_ENV);
    EXPECT_EQ(s->temps[fake_r[3]].kind, TEMP_GLOBAL);
    EXPECT_EQ(s->temps[fake_r[3]].env_offset, FAKE_OFF(r) + 24);
    int nglobals = s->nb_globals;
    // Registering again returns the same temp and keeps the count.
    EXPECT_EQ(tcg_global(s, FAKE_OFF(r) + 24, "r3"), fake_r[3]);
    EXPECT_EQ(s->nb_globals, nglobals);

    TCGTemp t = tcg_temp_new(s);
    TCGTemp k = tcg_const(s, 0x1234);
    EXPECT_GT(t, nglobals);
    EXPECT_EQ(s->temps[k].kind, TEMP_CONST);
    EXPECT_EQ(s->temps[k].value, 0x1234u);
    int l = tcg_label_new(s);
    tcg_gen_insn_start(s, 0x401000);
    tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[1], k);
    tcg_gen_brcond(s, TCG_I32, TCG_COND_LTU, t, k, l);
    tcg_gen_set_label(s, l);
    const TCGTemp args[] = {TCG_TEMP_ENV, t};
    tcg_gen_call(s, &dump_helper, t, 2, args);
    tcg_gen_exit_tb(s, TCG_EXIT_SYSCALL);
    std::string d = fake_dump(s);
    EXPECT_NE(d.find("---- 0x401000"), std::string::npos) << d;
    EXPECT_NE(d.find("add_i64 r0, r1, $0x1234"), std::string::npos) << d;
    EXPECT_NE(d.find("brcond_i32 tmp" + std::to_string(t) + ", $0x1234, ltu, L0"), std::string::npos) << d;
    EXPECT_NE(d.find("call frob, ret=tmp" + std::to_string(t) + ", env, tmp"), std::string::npos) << d;
    EXPECT_NE(d.find("exit_tb syscall"), std::string::npos) << d;

    // A new block keeps the globals and drops the rest.
    tcg_func_start(s);
    EXPECT_EQ(s->nb_ops, 0);
    EXPECT_EQ(s->nb_temps, nglobals + 1);
    EXPECT_EQ(s->nb_labels, 0);
    fake_cpu_free(cpu);
}

TEST(Builder, LimitsSetOverflowInsteadOfOverrunning)
{
    FakeCPU *cpu = fake_cpu_new();
    TCGContext *s = cpu->tcg.ctx;
    tcg_func_start(s);
    for (int i = 0; i < TCG_MAX_OPS + 10; i++) {
        tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], fake_r[1]);
    }
    EXPECT_TRUE(s->overflow);
    EXPECT_EQ(s->nb_ops, TCG_MAX_OPS);
    tcg_func_start(s);
    EXPECT_FALSE(s->overflow);
    for (int i = 0; i < TCG_MAX_TEMPS + 10; i++) {
        TCGTemp t = tcg_temp_new(s);
        ASSERT_GE(t, 0);
        ASSERT_LT(t, TCG_MAX_TEMPS);
    }
    EXPECT_TRUE(s->overflow);
    tcg_func_start(s);
    for (int i = 0; i < TCG_MAX_LABELS + 1; i++) {
        tcg_label_new(s);
    }
    EXPECT_TRUE(s->overflow);
    // A call whose arguments do not match the declaration fails the block, not the host.
    tcg_func_start(s);
    const TCGTemp one[] = {TCG_TEMP_ENV};
    tcg_gen_call(s, &dump_helper, tcg_temp_new(s), 1, one);
    EXPECT_TRUE(s->overflow);
    fake_cpu_free(cpu);
}
