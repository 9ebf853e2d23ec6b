/*
 * AFL_QEMU_PERSISTENT_HOOK: a host library whose afl_persistent_hook() puts each test case straight into
 * the guest (into its registers and memory) at the start of every persistent run, with the test case
 * handed over in shared memory instead of a file. The interface is afl++ qemu mode's: the register
 * layout below, guest_base (0 here: guest addresses are host addresses), and the optional
 * afl_persistent_hook_init() that says whether the hook wants test cases in shared memory.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/target-x86/cpu.h"
#include "user/linux/afl/afl.h"

/* afl++'s struct x86_64_regs (qemu_mode/qemuafl/qemuafl/api.h). */
typedef struct AflHookRegs {
    uint64_t rax, rbx, rcx, rdx, rdi, rsi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rsp, rflags;
    uint8_t zmm_regs[32][64];
} AflHookRegs;

typedef void (*AflHookFn)(AflHookRegs *regs, uint64_t guest_base, uint8_t *input, uint32_t len);
typedef int (*AflHookInitFn)(void);

static AflHookFn hook_fn;

/* Our register numbering (R_EAX...) for each of the hook's fields, in its order. */
static const int hook_reg_order[15] = {R_EAX, R_EBX, R_ECX, R_EDX, R_EDI, R_ESI, R_EBP, R_R8,
                                       R_R9,  R_R10, R_R11, R_R12, R_R13, R_R14, R_R15};

int afl_hook_load(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "ember-x86_64: AFL_QEMU_PERSISTENT_HOOK: %s\n", dlerror());
        return -1;
    }
    hook_fn = (AflHookFn)dlsym(h, "afl_persistent_hook");
    if (!hook_fn) {
        fprintf(stderr, "ember-x86_64: AFL_QEMU_PERSISTENT_HOOK: %s has no afl_persistent_hook\n", path);
        return -1;
    }
    AflHookInitFn init = (AflHookInitFn)dlsym(h, "afl_persistent_hook_init");
    afl.shm_fuzz = init && init();
    return 0;
}

void afl_hook_run(CPUX86State *env)
{
    uint32_t len;
    uint8_t *input = (uint8_t *)afl_testcase(&len);   /* afl-testcase.c: the shared memory */
    if (!hook_fn || !input) {
        return;
    }
    AflHookRegs r;
    memset(&r, 0, sizeof(r));
    uint64_t *gpr = &r.rax;
    for (int i = 0; i < 15; i++) {
        gpr[i] = env->regs[hook_reg_order[i]];
    }
    r.rip = afl.persist_addr;   /* the hook runs at the persistent address (TCGCPU.pc may lag: chaining) */
    r.rsp = env->regs[R_ESP];
    r.rflags = x86_get_eflags(env);
    hook_fn(&r, 0, input, len);
    for (int i = 0; i < 15; i++) {
        env->regs[hook_reg_order[i]] = gpr[i];
    }
    env->regs[R_ESP] = r.rsp;
}
