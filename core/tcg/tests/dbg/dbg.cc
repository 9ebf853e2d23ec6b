#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <thread>
#include <vector>
#include <sys/mman.h>
#define _Static_assert static_assert
extern "C" {
#include "core/target-x86/cpu.h"
#include "core/target-x86/cpuid.h"
#include "core/target-x86/translate.h"
#include "core/tcg/cpu-exec.h"
}
const uint8_t kLoop[] = {0xf0, 0x48, 0xff, 0x07, 0x48, 0xff, 0xc9, 0x75, 0xf7, 0x0f, 0x05};
int main(int argc, char **argv) {
    void *pages = mmap(nullptr, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *code = (uint8_t *)pages, *data = code + 4096;
    memcpy(code, kLoop, sizeof(kLoop));
    int nt = argc > 1 ? atoi(argv[1]) : 4;
    std::vector<std::thread> th;
    for (int t = 0; t < nt; t++) th.emplace_back([=] {
        CPUX86State *env = (CPUX86State *)aligned_alloc(64, (sizeof(CPUX86State) + 63) & ~63ul);
        memset(env, 0, sizeof(*env));
        x86_cpu_reset_user(env);
        env->model = x86_cpu_model_find(nullptr);
        tcg_cpu_init(&env->tcg, &x86_target_ops, &tcg_backend_interp);
        env->regs[7] = (uint64_t)(uintptr_t)data;
        env->regs[1] = 20000;
        env->tcg.pc = (uint64_t)(uintptr_t)code;
        int r = tcg_cpu_exec(&env->tcg);
        if (r != 1) printf("reason %d\n", r);
    });
    for (auto &t : th) t.join();
    printf("q0=%lu want %d\n", *(uint64_t *)data, 20000 * nt);
}
