/*
 * An AFL_QEMU_PERSISTENT_HOOK library for target-persist's fuzz_buf(buf, len): at each run it copies the
 * test case (from afl-fuzz's shared memory) into buf (at most 64 bytes, the size of the target's buffer)
 * and sets len. The register layout is afl++'s struct x86_64_regs.
 */
#include <stdint.h>
#include <string.h>

struct x86_64_regs {
    uint64_t rax, rbx, rcx, rdx, rdi, rsi, rbp, r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rsp, rflags;
    uint8_t zmm_regs[32][64];
};

void afl_persistent_hook(struct x86_64_regs *regs, uint64_t guest_base, uint8_t *input, uint32_t len)
{
    if (len > 64) {
        len = 64;
    }
    memcpy((void *)(uintptr_t)(regs->rdi + guest_base), input, len);
    regs->rsi = len;
}

int afl_persistent_hook_init(void)
{
    return 1;   /* test cases in shared memory, please */
}
