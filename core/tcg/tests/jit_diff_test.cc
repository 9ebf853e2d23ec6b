// The JIT against the interpreter on the same IR: every pure op at both widths, with inputs in globals,
// as constants (the JIT's immediate forms) and aliased to the output, on edge values and random ones;
// then the CPU-state and guest-memory accesses for every memop, and branches on every condition.
#include <gtest/gtest.h>

#include <cstring>
#include <sys/mman.h>
#include <random>
#include <vector>

#include "core/tcg/tests/fake-target.h"

namespace {

const TCGBackend *jit() { return tcg_backend_find("jit"); }

const uint64_t kEdges[] = {0, 1, 2, 31, 32, 33, 63, 64, 65, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
                           0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
                           0x8000000000000000ULL, ~0ULL, 0xfffffffffffffffeULL, 0x123456789abcdef0ULL};

// Inputs: 0 = globals, 1 = last input a constant, 2 = every input a constant, 3 = output aliases input 0.
struct Case {
    TCGOpcode opc;
    TCGType type;
    uint64_t in[4];
    uint64_t c[2];
    int mode;
};

void build(TCGContext *s, const Case &k)
{
    const TCGOpDef *def = &tcg_op_defs[k.opc];
    TCGOp *op = tcg_emit(s, k.opc, k.type);
    for (int i = 0; i < def->nb_oargs; i++) {
        op->args[i] = fake_r[i];
    }
    for (int i = 0; i < def->nb_iargs; i++) {
        bool konst = k.mode == 2 || (k.mode == 1 && i == def->nb_iargs - 1);
        op->args[def->nb_oargs + i] = konst ? tcg_const(s, k.in[i]) : fake_r[2 + i];
    }
    if (k.mode == 3) {
        op->args[def->nb_oargs] = fake_r[0];
    }
    for (int i = 0; i < def->nb_cargs && i < 2; i++) {
        op->cargs[i] = k.c[i];
    }
}

void run(const TCGBackend *b, const Case &k, uint64_t out[2])
{
    FakeCPU *cpu = fake_cpu_new(b);
    for (int i = 0; i < 8; i++) {
        cpu->r[i] = 0x5a5a5a5a5a5a5a5aULL * (i + 1);
    }
    for (int i = 0; i < 4; i++) {
        cpu->r[2 + i] = k.in[i];
    }
    if (k.mode == 3) {
        cpu->r[0] = k.in[0];
    }
    TCGExit e = fake_run_ir(cpu, [&](TCGContext *s) { build(s, k); }, false);
    EXPECT_EQ(e.reason, TCG_EXIT_NONE);
    out[0] = cpu->r[0];
    out[1] = tcg_op_defs[k.opc].nb_oargs > 1 ? cpu->r[1] : 0;
    fake_cpu_free(cpu);
}

TEST(JitDiff, EveryPureOpMatchesTheInterpreter)
{
    ASSERT_NE(jit(), nullptr);
    std::mt19937_64 rng(42);
    auto value = [&]() -> uint64_t {
        switch (rng() % 3) {
        case 0: return kEdges[rng() % (sizeof(kEdges) / sizeof(kEdges[0]))];
        case 1: return rng() & 0xff;
        default: return rng();
        }
    };
    int checked = 0;
    for (int opc = 0; opc < TCG_OP_COUNT; opc++) {
        const TCGOpDef *def = &tcg_op_defs[opc];
        if ((def->flags & (OPF_SIDE_EFFECTS | OPF_BB_END | OPF_MEM | OPF_CALL)) || opc == INDEX_op_ld) {
            continue;
        }
        for (TCGType t : {TCG_I32, TCG_I64}) {
            for (int n = 0; n < 300; n++) {
                Case k = {};
                k.opc = (TCGOpcode)opc;
                k.type = t;
                for (auto &v : k.in) {
                    v = value();
                }
                k.mode = n % 4;
                if (opc == INDEX_op_setcond || opc == INDEX_op_movcond) {
                    k.c[0] = n % 14;
                    if (n % 3 == 0) {
                        k.in[1] = k.in[0];   // equal operands
                    }
                } else if (opc == INDEX_op_extract || opc == INDEX_op_sextract || opc == INDEX_op_deposit) {
                    k.c[0] = rng() % 70;   // some outside the width: the evaluator's fallback
                    k.c[1] = rng() % 70;
                    if (n % 2) {
                        k.c[0] %= (t == TCG_I32 ? 32 : 64);
                        k.c[1] = 1 + rng() % ((t == TCG_I32 ? 32 : 64) - k.c[0]);
                    }
                } else if (opc == INDEX_op_movi) {
                    k.c[0] = value();
                }
                uint64_t want[2], got[2];
                run(&tcg_backend_interp, k, want);
                run(jit(), k, got);
                ASSERT_EQ(got[0], want[0]) << def->name << (t == TCG_I32 ? " i32" : " i64") << " mode " << k.mode
                                           << " in " << std::hex << k.in[0] << " " << k.in[1] << " " << k.in[2] << " "
                                           << k.in[3] << " c " << k.c[0] << " " << k.c[1];
                ASSERT_EQ(got[1], want[1]) << def->name << " (second output)";
                checked++;
            }
        }
    }
    EXPECT_GT(checked, 10000);
}

// ld/st of the CPU state and guest loads/stores, every memop, both widths, against the interpreter.
TEST(JitDiff, MemoryAccessesMatchTheInterpreter)
{
    ASSERT_NE(jit(), nullptr);
    alignas(16) static uint8_t guest[64];
    for (unsigned mo = 0; mo < 8; mo++) {
        for (TCGType t : {TCG_I32, TCG_I64}) {
            uint64_t res[2][6];
            uint8_t mem[2][64];
            const TCGBackend *bs[2] = {&tcg_backend_interp, jit()};
            for (int bi = 0; bi < 2; bi++) {
                for (int i = 0; i < 64; i++) {
                    guest[i] = (uint8_t)(0x81 + i * 37);
                }
                FakeCPU *cpu = fake_cpu_new(bs[bi]);
                cpu->scratch[0] = 0x8899aabbccddeeffULL;
                cpu->scratch[1] = 0xf0e0d0c0b0a09080ULL;
                cpu->r[2] = (uintptr_t)guest + 3;   // unaligned on purpose
                cpu->r[3] = 0xfedcba9876543210ULL;
                fake_run_ir(cpu, [&](TCGContext *s) {
                    tcg_gen_ld(s, t, (TCGMemOp)mo, fake_r[0], TCG_TEMP_ENV, FAKE_OFF(scratch) + 1);
                    TCGOp *op = tcg_emit(s, INDEX_op_guest_ld, t);
                    op->args[0] = fake_r[1];
                    op->args[1] = fake_r[2];
                    op->cargs[0] = mo;
                    tcg_gen_st(s, (TCGMemOp)mo, fake_r[3], TCG_TEMP_ENV, FAKE_OFF(scratch) + 9);
                    op = tcg_emit(s, INDEX_op_guest_st, t);
                    op->args[0] = fake_r[3];
                    op->args[1] = fake_r[2];
                    op->cargs[0] = mo;
                    // 16 bytes: guest+3 -> scratch[2..3], then scratch[0..1] -> guest+32
                    op = tcg_emit(s, INDEX_op_guest_ld128, TCG_I64);
                    op->args[0] = fake_r[2];
                    op->cargs[0] = FAKE_OFF(scratch) + 16;
                    tcg_gen_add(s, TCG_I64, fake_r[4], fake_r[2], tcg_const(s, 29));
                    op = tcg_emit(s, INDEX_op_guest_st128, TCG_I64);
                    op->args[0] = fake_r[4];
                    op->cargs[0] = FAKE_OFF(scratch);
                }, false);
                res[bi][0] = cpu->r[0];
                res[bi][1] = cpu->r[1];
                res[bi][2] = cpu->scratch[1];
                res[bi][3] = cpu->scratch[2];
                res[bi][4] = cpu->scratch[3];
                res[bi][5] = cpu->scratch[0];
                memcpy(mem[bi], guest, 64);
                fake_cpu_free(cpu);
            }
            for (int i = 0; i < 6; i++) {
                EXPECT_EQ(res[1][i], res[0][i]) << "memop " << mo << " type " << t << " result " << i;
            }
            EXPECT_EQ(memcmp(mem[0], mem[1], 64), 0) << "memop " << mo;
        }
    }
}

// An indexed access into a table at a constant address, as a non-PIE program's switch or dispatch table:
// "a = index << 3; a = a + table; ld/st [a]" is one access, [index * 8 + table] (absolute when the table
// fits in a displacement, so one table is mapped low), and reads and writes the same bytes as the
// interpreter's.
TEST(JitDiff, IndexedAccessesToAConstantTableMatchTheInterpreter)
{
    ASSERT_NE(jit(), nullptr);
    static uint64_t high[8];
    void *low = mmap((void *)0x30000000, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                     -1, 0);
    std::vector<uint64_t *> tables = {high};
    if (low != MAP_FAILED) {
        tables.push_back((uint64_t *)low);
    }
    for (uint64_t *table : tables) {
        for (int const_first = 0; const_first < 2; const_first++) {
            uint64_t res[2][2];
            uint64_t mem[2][8];
            const TCGBackend *bs[2] = {&tcg_backend_interp, jit()};
            for (int bi = 0; bi < 2; bi++) {
                for (int i = 0; i < 8; i++) {
                    table[i] = 0x1111111111111111ULL * (uint64_t)(i + 1);
                }
                FakeCPU *cpu = fake_cpu_new(bs[bi]);
                cpu->r[2] = 5;
                cpu->r[3] = 2;
                cpu->r[4] = 0xfeedfacecafebeefULL;
                fake_run_ir(cpu, [&](TCGContext *s) {
                    TCGTemp base = tcg_const(s, (uint64_t)(uintptr_t)table);
                    for (int k = 0; k < 2; k++) {
                        TCGTemp sc = tcg_temp_new(s), a = tcg_temp_new(s);
                        tcg_gen_shl(s, TCG_I64, sc, fake_r[2 + k], tcg_const(s, 3));
                        if (const_first) {
                            tcg_gen_add(s, TCG_I64, a, base, sc);
                        } else {
                            tcg_gen_add(s, TCG_I64, a, sc, base);
                        }
                        TCGOp *op = tcg_emit(s, k == 0 ? INDEX_op_guest_ld : INDEX_op_guest_st, TCG_I64);
                        op->args[0] = k == 0 ? fake_r[1] : fake_r[4];
                        op->args[1] = a;
                        op->cargs[0] = MO_64;
                    }
                    tcg_gen_exit_tb(s, TCG_EXIT_HALT);
                }, false);
                res[bi][0] = cpu->r[1];
                res[bi][1] = cpu->r[2];
                memcpy(mem[bi], table, sizeof(mem[bi]));
                fake_cpu_free(cpu);
            }
            EXPECT_EQ(res[0][0], 0x6666666666666666ULL);
            EXPECT_EQ(mem[0][2], 0xfeedfacecafebeefULL);
            EXPECT_EQ(res[1][0], res[0][0]) << "table " << table << " const first " << const_first;
            EXPECT_EQ(res[1][1], res[0][1]);
            EXPECT_EQ(memcmp(mem[0], mem[1], sizeof(mem[0])), 0) << "table " << table;
        }
    }
    if (low != MAP_FAILED) {
        munmap(low, 4096);
    }
}

// brcond on every condition, register and immediate operands, both widths.
TEST(JitDiff, BranchesMatchTheInterpreter)
{
    ASSERT_NE(jit(), nullptr);
    for (int cond = 0; cond < 14; cond++) {
        for (TCGType t : {TCG_I32, TCG_I64}) {
            for (uint64_t a : kEdges) {
                for (uint64_t b : {0ULL, 1ULL, 0x80000000ULL, ~0ULL, 0x7fffffffffffffffULL}) {
                    for (int konst = 0; konst < 2; konst++) {
                        uint64_t r[2];
                        const TCGBackend *bs[2] = {&tcg_backend_interp, jit()};
                        for (int bi = 0; bi < 2; bi++) {
                            FakeCPU *cpu = fake_cpu_new(bs[bi]);
                            cpu->r[2] = a;
                            cpu->r[3] = b;
                            fake_run_ir(cpu, [&](TCGContext *s) {
                                int l = tcg_label_new(s);
                                tcg_gen_movi(s, TCG_I64, fake_r[0], 1);
                                tcg_gen_brcond(s, t, (TCGCond)cond, fake_r[2], konst ? tcg_const(s, b) : fake_r[3], l);
                                tcg_gen_movi(s, TCG_I64, fake_r[0], 2);
                                tcg_gen_set_label(s, l);
                            }, false);
                            r[bi] = cpu->r[0];
                            fake_cpu_free(cpu);
                        }
                        ASSERT_EQ(r[1], r[0]) << "cond " << cond << " type " << t << std::hex << " a " << a << " b " << b;
                    }
                }
            }
        }
    }
}

// Global r5 is doubled through env by this helper: a cached copy of r5 must not survive the call.
void helper_touch(TCGCPU *cpu, uint64_t v)
{
    FakeCPU *f = reinterpret_cast<FakeCPU *>(cpu);
    f->r[5] = f->r[5] * 2 + v;
}
const TCGHelperInfo info_touch = {"touch", (void *)helper_touch, 0, TCG_ARG_VOID, 2, {TCG_ARG_PTR, TCG_ARG_I64}};

// The two-input ops the random programs below draw from.
const TCGOpcode kRandomBinops[] = {INDEX_op_add, INDEX_op_sub, INDEX_op_mul, INDEX_op_and, INDEX_op_or,
                                   INDEX_op_xor, INDEX_op_shl, INDEX_op_shr, INDEX_op_sar, INDEX_op_rotl};

// Runs a random program's body on the interpreter and on the JIT from the same registers (r[i] =
// 0x0123456789abcdef * (i + first) + seed; even programs optimized) and requires the same registers after.
bool same_on_both_backends(int prog, uint64_t seed, int first, const FakeBody &body)
{
    uint64_t r[2][8];
    std::string dump;
    const TCGBackend *bs[2] = {&tcg_backend_interp, jit()};
    for (int bi = 0; bi < 2; bi++) {
        FakeCPU *cpu = fake_cpu_new(bs[bi]);
        for (int i = 0; i < 8; i++) {
            cpu->r[i] = 0x0123456789abcdefULL * (uint64_t)(i + first) + seed;
        }
        fake_run_ir(cpu, body, prog % 2 == 0, &dump);
        memcpy(r[bi], cpu->r, sizeof(r[bi]));
        fake_cpu_free(cpu);
    }
    for (int i = 0; i < 8; i++) {
        EXPECT_EQ(r[1][i], r[0][i]) << "program " << prog << " r" << i << "\n" << dump;
        if (r[1][i] != r[0][i]) {
            return false;
        }
    }
    return true;
}

// Random straight-line programs with forward branches over locals and globals: exercises the JIT's
// register cache (write-through globals, written-back locals, liveness, labels, calls, env stores).
TEST(JitDiff, RandomProgramsMatchTheInterpreter)
{
    ASSERT_NE(jit(), nullptr);
    for (int prog = 0; prog < 400; prog++) {
        uint64_t seed = 1000 + prog;
        auto body = [seed](TCGContext *s) {
            std::mt19937_64 rng(seed);
            TCGTemp locals[6];
            for (auto &l : locals) {
                l = tcg_temp_new(s);
                tcg_gen_movi(s, TCG_I64, l, rng());
            }
            auto pick = [&]() -> TCGTemp {
                int k = (int)(rng() % 16);
                return k < 8 ? fake_r[k] : k < 14 ? locals[k - 8] : tcg_const(s, rng() % 3 ? rng() % 64 : rng());
            };
            auto dest = [&]() -> TCGTemp { return rng() % 2 ? fake_r[rng() % 8] : locals[rng() % 6]; };
            int open_label = -1, label_at = 0;
            for (int i = 0; i < 60; i++) {
                int what = (int)(rng() % 20);
                TCGType t = rng() % 3 ? TCG_I64 : TCG_I32;
                if (what < 13) {
                    tcg_gen_op(s, kRandomBinops[rng() % 10], t, 3, std::vector<TCGTemp>{dest(), pick(), pick()}.data());
                } else if (what == 13 && open_label < 0) {
                    open_label = tcg_label_new(s);
                    label_at = i + 1 + (int)(rng() % 8);
                    tcg_gen_brcond(s, t, (TCGCond)(2 + rng() % 12), pick(), pick(), open_label);
                } else if (what == 14) {
                    TCGTemp args[2] = {TCG_TEMP_ENV, pick()};
                    tcg_gen_call(s, &info_touch, -1, 2, args);
                } else if (what == 15) {
                    tcg_gen_st(s, (TCGMemOp)(rng() % 4), pick(), TCG_TEMP_ENV, FAKE_OFF(r) + 8 * (rng() % 8) + rng() % 4);
                } else if (what == 16) {
                    tcg_gen_ld(s, t, (TCGMemOp)(rng() % 8), dest(), TCG_TEMP_ENV, FAKE_OFF(r) + 8 * (rng() % 8));
                } else if (what == 17) {
                    tcg_gen_setcond(s, t, (TCGCond)(2 + rng() % 12), dest(), pick(), pick());
                } else {
                    tcg_gen_mov(s, t, dest(), pick());
                }
                if (open_label >= 0 && i >= label_at) {
                    tcg_gen_set_label(s, open_label);
                    open_label = -1;
                }
            }
            if (open_label >= 0) {
                tcg_gen_set_label(s, open_label);
            }
            // Make the locals observable.
            for (int i = 0; i < 6; i++) {
                tcg_gen_add(s, TCG_I64, fake_r[i], fake_r[i], locals[i]);
            }
        };
        ASSERT_TRUE(same_on_both_backends(prog, seed, 3, body));
    }
}

// Short-lived locals under register pressure, among ops whose code uses rdx itself (mul2's rdx:rax, clz,
// a deposit that is not a byte or a word, helper calls): the JIT keeps a local in rdx only when it dies
// before the next of those, and must never lose one there.
TEST(JitDiff, ShortLivedTempsAroundRdxUsersMatchTheInterpreter)
{
    ASSERT_NE(jit(), nullptr);
    for (int prog = 0; prog < 300; prog++) {
        uint64_t seed = 5000 + prog;
        auto body = [seed](TCGContext *s) {
            std::mt19937_64 rng(seed);
            std::vector<TCGTemp> recent;   // locals made in the last few steps
            auto pick = [&]() -> TCGTemp {
                int k = (int)(rng() % 10);
                if (k < 5 && !recent.empty()) {
                    return recent[recent.size() - 1 - rng() % std::min<size_t>(recent.size(), 4)];
                }
                return k < 9 ? fake_r[rng() % 8] : tcg_const(s, rng());
            };
            auto fresh = [&]() {
                TCGTemp t = tcg_temp_new(s);
                recent.push_back(t);
                return t;
            };
            for (int i = 0; i < 80; i++) {
                TCGType t = rng() % 3 ? TCG_I64 : TCG_I32;
                int what = (int)(rng() % 12);
                if (what < 5) {
                    TCGTemp a = pick(), b = pick();
                    tcg_gen_op(s, kRandomBinops[rng() % 10], t, 3, std::vector<TCGTemp>{fresh(), a, b}.data());
                } else if (what == 5) {
                    TCGTemp a = pick(), b = pick();
                    tcg_gen_mulu2(s, t, fresh(), fake_r[rng() % 8], a, b);
                } else if (what == 6) {
                    TCGTemp a = pick(), b = pick();
                    tcg_gen_clz(s, t, fresh(), a, b);
                } else if (what == 7) {
                    unsigned pos = (unsigned)(rng() % 24), len = 1 + (unsigned)(rng() % 7);
                    TCGTemp a = pick(), b = pick();
                    tcg_gen_deposit(s, t, fresh(), a, b, pos, len);
                } else if (what == 8) {
                    TCGTemp args[2] = {TCG_TEMP_ENV, pick()};
                    tcg_gen_call(s, &info_touch, -1, 2, args);
                } else {
                    TCGTemp a = pick(), b = pick();
                    TCGTemp d = fake_r[rng() % 8];
                    tcg_gen_op(s, kRandomBinops[rng() % 10], t, 3, std::vector<TCGTemp>{d, a, b}.data());
                }
            }
        };
        ASSERT_TRUE(same_on_both_backends(prog, seed, 5, body));
    }
}

}  // namespace
