// Every pure op, both widths, through the interpreter, against a reference written here independently
// of tcg-eval.h (bit loops rather than the evaluator's formulas). Inputs come from globals and from
// constants, and each result is also checked after the optimizer has folded it.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/tcg/tests/fake-target.h"

namespace {

struct Ref {
    uint64_t out[2];
};

uint64_t bitw(TCGType t) { return t == TCG_I32 ? 32 : 64; }
uint64_t trunc(TCGType t, uint64_t v) { return t == TCG_I32 ? v & 0xffffffffULL : v; }
int64_t sext(TCGType t, uint64_t v) { return t == TCG_I32 ? (int64_t)(int32_t)(uint32_t)v : (int64_t)v; }
uint64_t bit(uint64_t v, unsigned i) { return (v >> i) & 1; }

bool ref_cond(TCGCond c, TCGType t, uint64_t a, uint64_t b)
{
    uint64_t ua = trunc(t, a), ub = trunc(t, b);
    int64_t sa = sext(t, a), sb = sext(t, b);
    switch (c) {
    case TCG_COND_NEVER: return false;
    case TCG_COND_ALWAYS: return true;
    case TCG_COND_EQ: return ua == ub;
    case TCG_COND_NE: return ua != ub;
    case TCG_COND_LT: return sa < sb;
    case TCG_COND_GE: return !(sa < sb);
    case TCG_COND_LE: return sa < sb || sa == sb;
    case TCG_COND_GT: return sb < sa;
    case TCG_COND_LTU: return ua < ub;
    case TCG_COND_GEU: return !(ua < ub);
    case TCG_COND_LEU: return !(ub < ua);
    case TCG_COND_GTU: return ub < ua;
    case TCG_COND_TSTEQ: return (ua & ub) == 0;
    case TCG_COND_TSTNE: return (ua & ub) != 0;
    }
    return false;
}

// The reference semantics of op on inputs in[] and constants c[].
Ref ref_op(TCGOpcode opc, TCGType t, const uint64_t *in, const uint64_t *c)
{
    const unsigned w = bitw(t);
    uint64_t a = in[0], b = in[1];
    Ref r = {{0, 0}};
    uint64_t &o = r.out[0];
    switch (opc) {
    case INDEX_op_mov: o = a; break;
    case INDEX_op_movi: o = c[0]; break;
    case INDEX_op_add: o = a + b; break;
    case INDEX_op_sub: o = a - b; break;
    case INDEX_op_mul: o = a * b; break;
    case INDEX_op_and: o = a & b; break;
    case INDEX_op_or: o = a | b; break;
    case INDEX_op_xor: o = a ^ b; break;
    case INDEX_op_andc: o = a & ~b; break;
    case INDEX_op_neg: o = ~a + 1; break;
    case INDEX_op_not: o = ~a; break;
    case INDEX_op_shl:
    case INDEX_op_shr:
    case INDEX_op_sar:
    case INDEX_op_rotl:
    case INDEX_op_rotr: {
        unsigned n = (unsigned)(b % w);
        uint64_t v = trunc(t, a);
        for (unsigned i = 0; i < n; i++) {
            if (opc == INDEX_op_shl) {
                v <<= 1;
            } else if (opc == INDEX_op_shr) {
                v >>= 1;
            } else if (opc == INDEX_op_sar) {
                v = (v >> 1) | (bit(v, w - 1) << (w - 1));
            } else if (opc == INDEX_op_rotl) {
                v = (v << 1) | bit(v, w - 1);
            } else {
                v = (v >> 1) | (bit(v, 0) << (w - 1));
            }
            v = trunc(t, v);
        }
        o = v;
        break;
    }
    case INDEX_op_mulu2:
    case INDEX_op_muls2: {
        // schoolbook on 32-bit halves, with a sign correction for the signed form
        uint64_t x = trunc(t, a), y = trunc(t, b);
        unsigned __int128 p = (unsigned __int128)x * y;
        if (opc == INDEX_op_muls2) {
            if (bit(x, w - 1)) {
                p -= (unsigned __int128)y << w;
            }
            if (bit(y, w - 1)) {
                p -= (unsigned __int128)x << w;
            }
        }
        r.out[0] = trunc(t, (uint64_t)p);
        r.out[1] = trunc(t, (uint64_t)(p >> w));
        return r;
    }
    case INDEX_op_ext8s: o = (uint64_t)(int64_t)(int8_t)(uint8_t)a; break;
    case INDEX_op_ext8u: o = a & 0xff; break;
    case INDEX_op_ext16s: o = (uint64_t)(int64_t)(int16_t)(uint16_t)a; break;
    case INDEX_op_ext16u: o = a & 0xffff; break;
    case INDEX_op_ext32s: o = (uint64_t)(int64_t)(int32_t)(uint32_t)a; break;
    case INDEX_op_ext32u: o = a & 0xffffffffULL; break;
    case INDEX_op_extract:
    case INDEX_op_sextract:
        for (unsigned i = 0; i < w; i++) {
            unsigned src = (unsigned)c[0] + (i < c[1] ? i : (unsigned)c[1] - 1);
            if (i < c[1] || opc == INDEX_op_sextract) {
                o |= bit(a, src) << i;
            }
        }
        break;
    case INDEX_op_deposit:
        o = a;
        for (unsigned i = 0; i < c[1]; i++) {
            o = (o & ~(1ULL << (c[0] + i))) | (bit(b, i) << (c[0] + i));
        }
        break;
    case INDEX_op_bswap:
        for (unsigned i = 0; i < w / 8; i++) {
            o |= ((a >> (8 * i)) & 0xff) << (w - 8 - 8 * i);
        }
        break;
    case INDEX_op_clz:
    case INDEX_op_ctz: {
        uint64_t v = trunc(t, a);
        if (!v) {
            o = b;
            break;
        }
        unsigned n = 0;
        if (opc == INDEX_op_clz) {
            while (!bit(v, w - 1 - n)) n++;
        } else {
            while (!bit(v, n)) n++;
        }
        o = n;
        break;
    }
    case INDEX_op_ctpop:
        for (unsigned i = 0; i < w; i++) o += bit(a, i);
        break;
    case INDEX_op_setcond: o = ref_cond((TCGCond)c[0], t, a, b); break;
    case INDEX_op_movcond: o = ref_cond((TCGCond)c[0], t, a, b) ? in[2] : in[3]; break;
    default: ADD_FAILURE() << "no reference for " << tcg_op_defs[opc].name; break;
    }
    r.out[0] = trunc(t, r.out[0]);
    return r;
}

std::vector<uint64_t> values()
{
    std::vector<uint64_t> v = {0, 1, 2, 3, 31, 32, 33, 63, 64, 65, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
                               0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
                               0x8000000000000000ULL, ~0ULL, 0x123456789abcdef0ULL, 0xfedcba9876543210ULL};
    std::mt19937_64 rng(42);
    for (int i = 0; i < 8; i++) {
        v.push_back(rng());
        v.push_back(rng() & 0xffffffff);
    }
    return v;
}

struct OpCase {
    TCGOpcode opc;
    uint64_t c[2];
};

std::vector<OpCase> op_cases(TCGType t)
{
    std::vector<OpCase> cases;
    for (int i = 0; i < TCG_OP_COUNT; i++) {
        TCGOpcode opc = (TCGOpcode)i;
        const TCGOpDef &d = tcg_op_defs[i];
        if (d.flags || opc == INDEX_op_ld) {
            if (!(d.flags == OPF_COMMUTATIVE)) {
                continue;   // not a pure computation
            }
        }
        if (opc == INDEX_op_extract || opc == INDEX_op_sextract || opc == INDEX_op_deposit) {
            unsigned w = (unsigned)bitw(t);
            const unsigned fields[][2] = {{0, 1}, {0, 8}, {3, 5}, {8, 8}, {0, w}, {w - 1, 1}, {w / 2, w / 2}, {5, w - 5}};
            for (auto &f : fields) {
                cases.push_back({opc, {f[0], f[1]}});
            }
        } else if (opc == INDEX_op_setcond || opc == INDEX_op_movcond) {
            for (uint64_t c = TCG_COND_NEVER; c <= TCG_COND_TSTNE; c++) {
                cases.push_back({opc, {c, 0}});
            }
        } else if (opc == INDEX_op_movi) {
            cases.push_back({opc, {0x8765432112345678ULL, 0}});
        } else {
            cases.push_back({opc, {0, 0}});
        }
    }
    return cases;
}

// Emit op with outputs r6 (and r7) and the given input temps.
void emit_op(TCGContext *s, TCGType t, const OpCase &oc, const TCGTemp *in)
{
    const TCGOpDef &d = tcg_op_defs[oc.opc];
    TCGOp *op = tcg_emit(s, oc.opc, t);
    op->args[0] = fake_r[6];
    if (d.nb_oargs == 2) {
        op->args[1] = fake_r[7];
    }
    for (int i = 0; i < d.nb_iargs; i++) {
        op->args[d.nb_oargs + i] = in[i];
    }
    op->cargs[0] = oc.c[0];
    op->cargs[1] = oc.c[1];
}

class InterpOps : public ::testing::TestWithParam<int> {};

TEST_P(InterpOps, MatchesReference)
{
    const TCGType t = (TCGType)GetParam();
    FakeCPU *cpu = fake_cpu_new();
    const std::vector<uint64_t> vals = values();
    std::mt19937_64 rng(7);
    int checked = 0;
    for (const OpCase &oc : op_cases(t)) {
        const TCGOpDef &d = tcg_op_defs[oc.opc];
        for (size_t i = 0; i < vals.size(); i++) {
            for (size_t j = 0; j < vals.size(); j += (d.nb_iargs > 1 ? 1 : vals.size())) {
                uint64_t in[4] = {vals[i], vals[j], rng(), rng()};
                Ref want = ref_op(oc.opc, t, in, oc.c);
                // Three ways: inputs from globals; from constants; from constants after the optimizer.
                for (int mode = 0; mode < 3; mode++) {
                    for (int k = 0; k < 4; k++) {
                        cpu->r[k] = in[k];
                    }
                    cpu->r[6] = cpu->r[7] = 0xdeadbeefdeadbeefULL;
                    std::string dump;
                    TCGExit e = fake_run_ir(
                        cpu,
                        [&](TCGContext *s) {
                            TCGTemp ins[4];
                            for (int k = 0; k < 4; k++) {
                                ins[k] = mode == 0 ? fake_r[k] : tcg_const(s, in[k]);
                            }
                            emit_op(s, t, oc, ins);
                            tcg_gen_exit_tb(s, TCG_EXIT_HALT);
                        },
                        mode == 2, &dump);
                    ASSERT_EQ(e.reason, TCG_EXIT_HALT);
                    ASSERT_EQ(cpu->r[6], want.out[0])
                        << d.name << (t == TCG_I32 ? "_i32" : "_i64") << " mode " << mode << " a=0x" << std::hex
                        << in[0] << " b=0x" << in[1] << " c0=" << std::dec << oc.c[0] << " c1=" << oc.c[1] << "\n"
                        << dump;
                    if (d.nb_oargs == 2) {
                        ASSERT_EQ(cpu->r[7], want.out[1]) << d.name << " hi, mode " << mode << std::hex << " a=0x"
                                                          << in[0] << " b=0x" << in[1];
                    }
                    checked++;
                }
            }
        }
    }
    EXPECT_GT(checked, 10000);
    fake_cpu_free(cpu);
}

INSTANTIATE_TEST_SUITE_P(BothWidths, InterpOps, ::testing::Values((int)TCG_I32, (int)TCG_I64));

}  // namespace
