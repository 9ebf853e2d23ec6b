#include "core/tcg/tests/fake-target.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

TCGTemp fake_r[8];
TCGTemp fake_pc;
std::atomic<int> fake_translations;
thread_local uint32_t fake_translating_flags;

namespace {

struct FakeBlock {
    FakeBody body;
    uint32_t size;
};

std::map<uint64_t, FakeBlock> &blocks()
{
    static std::map<uint64_t, FakeBlock> m;
    return m;
}

void fake_tb_key(TCGCPU *cpu, uint64_t *pc, uint32_t *flags)
{
    *pc = cpu->pc;
    *flags = reinterpret_cast<FakeCPU *>(cpu)->key_flags;
}

int fake_translate(TCGCPU *, TCGContext *s, TranslationBlock *tb)
{
    auto it = blocks().find(tb->pc);
    if (it == blocks().end()) {
        return -ENOENT;
    }
    fake_translations++;
    fake_translating_flags = tb->flags;
    tcg_gen_insn_start(s, tb->pc);
    it->second.body(s);
    tb->size = it->second.size;
    tb->icount = 1;
    return 0;
}

void fake_init_globals(TCGContext *s)
{
    static const char *const names[8] = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"};
    fake_pc = tcg_global(s, offsetof(TCGCPU, pc), "pc");
    for (int i = 0; i < 8; i++) {
        fake_r[i] = tcg_global(s, FAKE_OFF(r) + 8 * i, names[i]);
    }
}

void fake_dump_state(TCGCPU *cpu, FILE *out)
{
    FakeCPU *f = reinterpret_cast<FakeCPU *>(cpu);
    fprintf(out, "pc=%llx r0=%llx\n", (unsigned long long)cpu->pc, (unsigned long long)f->r[0]);
}

// r0 and r1 are pinned: the JIT's tests run their blocks with guest registers kept in host registers
// across blocks (jit.h), as user mode does.
const uint32_t fake_pinned[] = {FAKE_OFF(r), FAKE_OFF(r) + 8};

}  // namespace

const TCGTargetOps fake_target_ops = {
    fake_tb_key, fake_translate, fake_init_globals, fake_dump_state, nullptr, FAKE_OFF(key_flags), nullptr, nullptr,
    fake_pinned, 2,
};

const TCGBackend *fake_backend()
{
    const char *name = getenv("EMBER_TEST_BACKEND");
    const TCGBackend *b = tcg_backend_find(name && *name ? name : "interp");
    return b ? b : &tcg_backend_interp;
}

namespace {

// Skip the whole binary when the backend it was asked to test is not there.
class BackendEnvironment : public ::testing::Environment {
  public:
    void SetUp() override
    {
        const char *name = getenv("EMBER_TEST_BACKEND");
        if (name && *name && !tcg_backend_find(name)) {
            GTEST_SKIP() << "backend " << name << " is not linked in";
        }
    }
};

const ::testing::Environment *const backend_environment =
    ::testing::AddGlobalTestEnvironment(new BackendEnvironment);

}  // namespace

void fake_set_block(uint64_t pc, FakeBody body, uint32_t size)
{
    blocks()[pc] = FakeBlock{std::move(body), size};
}

void fake_reset()
{
    blocks().clear();
    tb_flush_all();
    fake_translations = 0;
    tcg_hot_runs = 0;   // one tier: tests count translations; Exec.ColdBlock* turns the first tier on
}

FakeCPU *fake_cpu_new(const TCGBackend *backend)
{
    FakeCPU *cpu = static_cast<FakeCPU *>(calloc(1, sizeof(FakeCPU)));
    tcg_cpu_init(&cpu->tcg, &fake_target_ops, backend);
    return cpu;
}

void fake_cpu_free(FakeCPU *cpu)
{
    tcg_cpu_destroy(&cpu->tcg);
    EXPECT_EQ(cpu->tcg.ctx, nullptr);
    free(cpu);
}

std::string fake_dump(const TCGContext *s)
{
    char *buf = nullptr;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tcg_dump_ops(s, f);
    fclose(f);
    std::string out(buf, len);
    free(buf);
    return out;
}

TCGExit fake_run_ir(FakeCPU *cpu, const FakeBody &body, bool optimize, std::string *dump)
{
    TCGContext *s = cpu->tcg.ctx;
    tcg_current_cpu = &cpu->tcg;   // as in tcg_cpu_exec: backends may look at the running CPU
    tcg_func_start(s);
    tcg_gen_insn_start(s, 0x1000);
    body(s);
    EXPECT_FALSE(s->overflow);
    if (optimize) {
        tcg_optimize(s);
    }
    if (dump) {
        *dump = fake_dump(s);
    }
    TranslationBlock tb = {};
    int err = cpu->tcg.backend->compile(s, &tb);
    EXPECT_EQ(err, 0) << fake_dump(s);
    if (err) {
        return TCGExit{nullptr, -1, TCG_EXIT_EXCEPTION};
    }
    TCGExit e = cpu->tcg.backend->exec(&cpu->tcg, &tb);
    cpu->tcg.backend->free_code(&tb);
    return e;
}

void fake_gen_goto(TCGContext *s, uint64_t next, int slot)
{
    tcg_gen_movi(s, TCG_I64, fake_pc, next);
    tcg_gen_goto_tb(s, slot);
    tcg_gen_exit_tb(s, TCG_EXIT_NONE);
}

void fake_setup_counting_loop()
{
    fake_set_block(0x1000, [](TCGContext *s) {
        int done = tcg_label_new(s);
        tcg_gen_add(s, TCG_I64, fake_r[0], fake_r[0], tcg_const(s, 1));
        tcg_gen_brcond(s, TCG_I64, TCG_COND_EQ, fake_r[0], fake_r[1], done);
        fake_gen_goto(s, 0x1000, 0);
        tcg_gen_set_label(s, done);
        fake_gen_goto(s, 0x2000, 1);
    });
    fake_set_block(0x2000, [](TCGContext *s) {
        tcg_gen_movi(s, TCG_I64, fake_pc, 0x2004);
        tcg_gen_exit_tb(s, TCG_EXIT_HALT);
    });
}
