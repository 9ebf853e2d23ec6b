/*
 * The native runner's trampoline. harness_native_enter saves the host's callee-saved registers and stack
 * pointer, loads the whole input state (x87 + MXCSR, XMM/YMM, RFLAGS, all 16 GPRs including RSP) and jumps
 * to the tested code. The code page ends with `jmp *harness_native_exit` in place of the emulated run's
 * SYSCALL; the exit stores the whole state into the output and returns to the caller of enter. (A
 * SYSCALL inside the tested code is a real system call that returns into the code; only this jump ends it.)
 *
 * Only moves run between POPFQ and the jump, and before the first store in the exit, so flags and
 * registers arrive and leave untouched. It runs in a forked child (harness-native.c), one call per process.
 */
#include "core/target-x86/tests/harness.h"

#define GPR(i) (HS_REGS + 8 * (i))
#define YMM(i) (HS_YMM + 32 * (i))

    .bss
    .balign 64
harness_host_rsp:   .quad 0
harness_out:        .quad 0
harness_entry:      .quad 0
harness_rax:        .quad 0
harness_avx:        .quad 0
    /* A private stack for the PUSHFQ/POPFQ pair: never the test's own stack, whose bytes are compared. */
    .balign 64
harness_scratch:    .skip 256
harness_scratch_top:

    .text
/* void harness_native_enter(const HarnessState *in, HarnessState *out, uint64_t entry, int use_avx) */
    .globl harness_native_enter
    .type harness_native_enter, @function
harness_native_enter:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, harness_host_rsp(%rip)
    mov %rsi, harness_out(%rip)
    mov %rdx, harness_entry(%rip)
    mov %rcx, harness_avx(%rip)

    /* x87 and MXCSR (the image's XMM area is loaded too, then overwritten below). */
    fxrstor64 HS_FX(%rdi)
    test %ecx, %ecx
    jz 1f
    vmovdqu YMM(0)(%rdi), %ymm0
    vmovdqu YMM(1)(%rdi), %ymm1
    vmovdqu YMM(2)(%rdi), %ymm2
    vmovdqu YMM(3)(%rdi), %ymm3
    vmovdqu YMM(4)(%rdi), %ymm4
    vmovdqu YMM(5)(%rdi), %ymm5
    vmovdqu YMM(6)(%rdi), %ymm6
    vmovdqu YMM(7)(%rdi), %ymm7
    vmovdqu YMM(8)(%rdi), %ymm8
    vmovdqu YMM(9)(%rdi), %ymm9
    vmovdqu YMM(10)(%rdi), %ymm10
    vmovdqu YMM(11)(%rdi), %ymm11
    vmovdqu YMM(12)(%rdi), %ymm12
    vmovdqu YMM(13)(%rdi), %ymm13
    vmovdqu YMM(14)(%rdi), %ymm14
    vmovdqu YMM(15)(%rdi), %ymm15
    jmp 2f
1:  movdqu YMM(0)(%rdi), %xmm0
    movdqu YMM(1)(%rdi), %xmm1
    movdqu YMM(2)(%rdi), %xmm2
    movdqu YMM(3)(%rdi), %xmm3
    movdqu YMM(4)(%rdi), %xmm4
    movdqu YMM(5)(%rdi), %xmm5
    movdqu YMM(6)(%rdi), %xmm6
    movdqu YMM(7)(%rdi), %xmm7
    movdqu YMM(8)(%rdi), %xmm8
    movdqu YMM(9)(%rdi), %xmm9
    movdqu YMM(10)(%rdi), %xmm10
    movdqu YMM(11)(%rdi), %xmm11
    movdqu YMM(12)(%rdi), %xmm12
    movdqu YMM(13)(%rdi), %xmm13
    movdqu YMM(14)(%rdi), %xmm14
    movdqu YMM(15)(%rdi), %xmm15
2:
    /* RFLAGS through the private stack; from here on only MOVs, which leave the flags alone. */
    lea harness_scratch_top(%rip), %rsp
    pushq HS_RFLAGS(%rdi)
    popfq
    mov GPR(0)(%rdi), %rax
    mov GPR(1)(%rdi), %rcx
    mov GPR(2)(%rdi), %rdx
    mov GPR(3)(%rdi), %rbx
    mov GPR(5)(%rdi), %rbp
    mov GPR(6)(%rdi), %rsi
    mov GPR(8)(%rdi), %r8
    mov GPR(9)(%rdi), %r9
    mov GPR(10)(%rdi), %r10
    mov GPR(11)(%rdi), %r11
    mov GPR(12)(%rdi), %r12
    mov GPR(13)(%rdi), %r13
    mov GPR(14)(%rdi), %r14
    mov GPR(15)(%rdi), %r15
    mov GPR(4)(%rdi), %rsp
    mov GPR(7)(%rdi), %rdi
    jmp *harness_entry(%rip)
    .size harness_native_enter, . - harness_native_enter

/* Reached by the jump that ends the code page: every register still holds the tested code's result. */
    .globl harness_native_exit
    .type harness_native_exit, @function
harness_native_exit:
    mov %rax, harness_rax(%rip)
    mov harness_out(%rip), %rax
    mov %rcx, GPR(1)(%rax)
    mov %rdx, GPR(2)(%rax)
    mov %rbx, GPR(3)(%rax)
    mov %rsp, GPR(4)(%rax)
    mov %rbp, GPR(5)(%rax)
    mov %rsi, GPR(6)(%rax)
    mov %rdi, GPR(7)(%rax)
    mov %r8, GPR(8)(%rax)
    mov %r9, GPR(9)(%rax)
    mov %r10, GPR(10)(%rax)
    mov %r11, GPR(11)(%rax)
    mov %r12, GPR(12)(%rax)
    mov %r13, GPR(13)(%rax)
    mov %r14, GPR(14)(%rax)
    mov %r15, GPR(15)(%rax)
    mov harness_rax(%rip), %rcx
    mov %rcx, GPR(0)(%rax)
    lea harness_scratch_top(%rip), %rsp
    pushfq
    popq HS_RFLAGS(%rax)
    cld                             /* the C caller expects DF clear */

    fxsave64 HS_FX(%rax)
    cmpq $0, harness_avx(%rip)
    je 1f
    vmovdqu %ymm0, YMM(0)(%rax)
    vmovdqu %ymm1, YMM(1)(%rax)
    vmovdqu %ymm2, YMM(2)(%rax)
    vmovdqu %ymm3, YMM(3)(%rax)
    vmovdqu %ymm4, YMM(4)(%rax)
    vmovdqu %ymm5, YMM(5)(%rax)
    vmovdqu %ymm6, YMM(6)(%rax)
    vmovdqu %ymm7, YMM(7)(%rax)
    vmovdqu %ymm8, YMM(8)(%rax)
    vmovdqu %ymm9, YMM(9)(%rax)
    vmovdqu %ymm10, YMM(10)(%rax)
    vmovdqu %ymm11, YMM(11)(%rax)
    vmovdqu %ymm12, YMM(12)(%rax)
    vmovdqu %ymm13, YMM(13)(%rax)
    vmovdqu %ymm14, YMM(14)(%rax)
    vmovdqu %ymm15, YMM(15)(%rax)
    vzeroupper
    jmp 2f
1:  movdqu %xmm0, YMM(0)(%rax)
    movdqu %xmm1, YMM(1)(%rax)
    movdqu %xmm2, YMM(2)(%rax)
    movdqu %xmm3, YMM(3)(%rax)
    movdqu %xmm4, YMM(4)(%rax)
    movdqu %xmm5, YMM(5)(%rax)
    movdqu %xmm6, YMM(6)(%rax)
    movdqu %xmm7, YMM(7)(%rax)
    movdqu %xmm8, YMM(8)(%rax)
    movdqu %xmm9, YMM(9)(%rax)
    movdqu %xmm10, YMM(10)(%rax)
    movdqu %xmm11, YMM(11)(%rax)
    movdqu %xmm12, YMM(12)(%rax)
    movdqu %xmm13, YMM(13)(%rax)
    movdqu %xmm14, YMM(14)(%rax)
    movdqu %xmm15, YMM(15)(%rax)
2:
    /* A clean FPU and MXCSR for the C code that follows. */
    fninit
    movl $0x1f80, harness_rax(%rip)
    ldmxcsr harness_rax(%rip)

    mov harness_host_rsp(%rip), %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret
    .size harness_native_exit, . - harness_native_exit

    .section .note.GNU-stack, "", @progbits
