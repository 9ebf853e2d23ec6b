/* Shared by the libc-free instruction tests. T MASK prints RAX, RDX and the flags (ANDed with MASK,
 * so flags the manual leaves undefined are not compared) as one hex line, and leaves every register
 * and the flags as they were, except R15 (which carries the mask). */
#define F_CF 0x001
#define F_PF 0x004
#define F_AF 0x010
#define F_ZF 0x040
#define F_SF 0x080
#define F_OF 0x800
#define F_ALL (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
#define F_LOGIC (F_CF | F_PF | F_ZF | F_SF | F_OF) /* AF undefined */
#define F_SHIFTN (F_CF | F_PF | F_ZF | F_SF)       /* count > 1: OF and AF undefined */
#define F_MUL (F_CF | F_OF)

.macro T mask
    pushfq
    push %rax
    mov $\mask, %r15
    call dump_regs
    pop %rax
    popfq
.endm

.macro EXIT code
    mov $231, %eax
    mov $\code, %edi
    syscall
.endm

/* TX: prints XMM0 (low quadword as "rax", high as "rdx") and the flags; registers are preserved. */
.macro TX mask=F_ALL
    push %rax
    push %rdx
    movdqu %xmm0, vec_scratch(%rip)
    mov vec_scratch(%rip), %rax
    mov vec_scratch+8(%rip), %rdx
    T \mask
    pop %rdx
    pop %rax
.endm

/* TY: prints YMM0 as two lines, the low then the high 128 bits (AVX). */
.macro TY
    push %rax
    push %rdx
    vmovdqu %ymm0, vec_scratch(%rip)
    mov vec_scratch(%rip), %rax
    mov vec_scratch+8(%rip), %rdx
    T F_ALL
    mov vec_scratch+16(%rip), %rax
    mov vec_scratch+24(%rip), %rdx
    T F_ALL
    pop %rdx
    pop %rax
.endm

/* L REG, LABEL: loads 16 bytes of test data into an XMM register. */
.macro L reg, label
    movdqu \label(%rip), \reg
.endm
