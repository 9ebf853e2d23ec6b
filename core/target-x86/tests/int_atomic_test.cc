// LOCK-prefixed instructions are atomic between guest threads: several host threads, each running its own
// CPU over the same guest memory, hammer the same counters with LOCK INC/ADD/XADD and a CMPXCHG retry
// loop; no update may be lost.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

// cpu.h is C11; its _Static_assert is C++'s static_assert.
#define _Static_assert static_assert
extern "C" {
#include "core/target-x86/cpu.h"
#include "core/target-x86/cpuid.h"
#include "core/target-x86/tests/harness.h"
#include "core/target-x86/translate.h"
#include "core/tcg/backend.h"
#include "core/tcg/cpu-exec.h"
#include "core/tcg/tb.h"
}

namespace {

// rdi = the counters, rcx = iterations.
const uint8_t kLoop[] = {
    0xf0, 0x48, 0xff, 0x07,                    //  0: lock inc qword [rdi]
    0xf0, 0x83, 0x47, 0x08, 0x03,              //  4: lock add dword [rdi+8], 3
    0xb8, 0x01, 0x00, 0x00, 0x00,              //  9: mov eax, 1
    0xf0, 0x48, 0x0f, 0xc1, 0x47, 0x10,        // 14: lock xadd [rdi+16], rax
    0x48, 0x8b, 0x47, 0x20,                    // 20: mov rax, [rdi+32]
    0x48, 0x8d, 0x50, 0x01,                    // 24: lea rdx, [rax+1]
    0xf0, 0x48, 0x0f, 0xb1, 0x57, 0x20,        // 28: lock cmpxchg [rdi+32], rdx
    0x75, 0xf4,                                // 34: jnz 24
    0xf0, 0x80, 0x47, 0x28, 0x01,              // 36: lock add byte [rdi+40], 1
    0x66, 0xf0, 0x83, 0x47, 0x30, 0x01,        // 41: lock add word [rdi+48], 1
    0xf0, 0x48, 0x0f, 0xbb, 0x5f, 0x38,        // 47: lock btc [rdi+56], rbx (rbx = 64 * thread + 0..)
    0x48, 0xff, 0xc9,                          // 53: dec rcx
    0x75, 0xc6,                                // 56: jnz 0 (58 - 58)
    0x0f, 0x05,                                // 58: syscall
};

class IntAtomicTest : public ::testing::TestWithParam<std::string> {};

TEST_P(IntAtomicTest, LockedUpdatesAreNotLost)
{
    const TCGBackend *backend = static_cast<const TCGBackend *>(harness_backend_named(GetParam().c_str()));
    if (!backend) GTEST_SKIP() << "no backend called " << GetParam();
    tb_cache_init(backend);

    void *pages = mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(pages, MAP_FAILED);
    uint8_t *code = static_cast<uint8_t *>(pages);
    uint8_t *data = code + 4096;
    memcpy(code, kLoop, sizeof(kLoop));

    const int kThreads = 4;
    const uint64_t kIters = 50000;
    std::vector<TCGExitReason> reasons(kThreads);
    std::vector<std::thread> threads;
    std::atomic<int> ready{0};   // every thread starts guest code at once, so they really contend
    for (int t = 0; t < kThreads; t++) {
        threads.emplace_back([&, t] {
            CPUX86State *env = static_cast<CPUX86State *>(aligned_alloc(64, (sizeof(CPUX86State) + 63) & ~63ul));
            memset(env, 0, sizeof(*env));
            x86_cpu_reset_user(env);
            env->model = x86_cpu_model_find(nullptr);
            tcg_cpu_init(&env->tcg, &x86_target_ops, backend);
            env->regs[R_EDI] = (uint64_t)(uintptr_t)data;
            env->regs[R_ECX] = kIters;
            env->regs[R_EBX] = (uint64_t)t;   // each thread flips its own bit of [rdi+56]
            env->tcg.pc = (uint64_t)(uintptr_t)code;
            ready.fetch_add(1);
            while (ready.load() < kThreads) {
            }
            reasons[t] = tcg_cpu_exec(&env->tcg);
            // the CPU (and its builder) stay allocated: blocks may still refer to them
        });
    }
    for (auto &th : threads) th.join();
    for (int t = 0; t < kThreads; t++) EXPECT_EQ(reasons[t], TCG_EXIT_SYSCALL);

    uint64_t q[8];
    memcpy(q, data, sizeof(q));
    const uint64_t n = kThreads * kIters;
    EXPECT_EQ(q[0], n);
    EXPECT_EQ((uint32_t)q[1], 3 * n);
    EXPECT_EQ(q[2], n);
    EXPECT_EQ(q[4], n);
    EXPECT_EQ((uint8_t)q[5], (uint8_t)n);
    EXPECT_EQ((uint16_t)q[6], (uint16_t)n);
    EXPECT_EQ(q[7], 0u);   // every thread flipped its bit an even number of times
    munmap(pages, 2 * 4096);
}

INSTANTIATE_TEST_SUITE_P(Backends, IntAtomicTest, ::testing::Values("interp", "jit", "jit_cold"),
                         [](const ::testing::TestParamInfo<std::string> &info) { return info.param; });

}  // namespace
