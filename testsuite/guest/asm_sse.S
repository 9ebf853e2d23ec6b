/* SSE through SSE4.2, one instruction (or two) per line of output: XMM0 after the operation and the
 * flags where the instruction defines them. Excludes the approximations (rcpps, rsqrtps) whose
 * results differ between CPU vendors by design. */
#include "asm_dump.h"

    .text
    .globl _start
_start:
    /* SSE2 integer arithmetic, wrapping and saturating */
    L %xmm0, ia
    L %xmm1, ib
    paddb %xmm1, %xmm0
    TX
    L %xmm0, ia
    paddsb %xmm1, %xmm0
    TX
    L %xmm0, ia
    paddusw %xmm1, %xmm0
    TX
    L %xmm0, ia
    psubq %xmm1, %xmm0
    TX
    L %xmm0, ia
    psubusb %xmm1, %xmm0
    TX
    L %xmm0, ia
    pmullw %xmm1, %xmm0
    TX
    L %xmm0, ia
    pmulhw %xmm1, %xmm0
    TX
    L %xmm0, ia
    pmuludq %xmm1, %xmm0
    TX
    L %xmm0, ia
    pmaddwd %xmm1, %xmm0
    TX
    L %xmm0, ia
    psadbw %xmm1, %xmm0
    TX
    L %xmm0, ia
    pavgb %xmm1, %xmm0
    TX
    L %xmm0, ia
    pminub %xmm1, %xmm0
    TX
    L %xmm0, ia
    pmaxsw %xmm1, %xmm0
    TX
    L %xmm0, ia
    pcmpeqb %xmm1, %xmm0
    TX
    L %xmm0, ia
    pcmpgtd %xmm1, %xmm0
    TX
    L %xmm0, ia
    pandn %xmm1, %xmm0
    TX
    /* shifts, shuffles, packs, unpacks */
    L %xmm0, ia
    psllw $3, %xmm0
    TX
    L %xmm0, ia
    psrad $7, %xmm0
    TX
    L %xmm0, ia
    mov $9, %eax
    movq %rax, %xmm2
    psrlq %xmm2, %xmm0
    TX
    L %xmm0, ia
    pslldq $5, %xmm0
    TX
    L %xmm0, ia
    psrldq $11, %xmm0
    TX
    L %xmm0, ia
    pshufd $0x1b, %xmm0, %xmm0
    TX
    L %xmm0, ia
    pshuflw $0xd2, %xmm0, %xmm0
    pshufhw $0x39, %xmm0, %xmm0
    TX
    L %xmm0, ia
    punpcklbw %xmm1, %xmm0
    TX
    L %xmm0, ia
    punpckhdq %xmm1, %xmm0
    TX
    L %xmm0, ia
    packsswb %xmm1, %xmm0
    TX
    L %xmm0, ia
    packuswb %xmm1, %xmm0
    TX
    L %xmm0, ia
    pmovmskb %xmm0, %eax
    movd %eax, %xmm0
    TX
    L %xmm0, ia
    movq %xmm0, %xmm0           /* zeroes the high quadword */
    TX
    /* single and double precision */
    L %xmm0, fa
    L %xmm1, fb
    addps %xmm1, %xmm0
    TX
    L %xmm0, fa
    mulps %xmm1, %xmm0
    TX
    L %xmm0, fa
    divps %xmm1, %xmm0
    TX
    L %xmm0, fa
    minps %xmm1, %xmm0          /* with a NaN operand the second source is returned */
    TX
    L %xmm0, fb
    maxps fa(%rip), %xmm0
    TX
    L %xmm0, fb
    sqrtps %xmm0, %xmm0
    TX
    L %xmm0, fa
    cmpltps %xmm1, %xmm0
    TX
    L %xmm0, fa
    cmpunordps %xmm1, %xmm0
    TX
    L %xmm0, fa
    shufps $0x4e, %xmm1, %xmm0
    TX
    L %xmm0, fa
    unpcklps %xmm1, %xmm0
    TX
    L %xmm0, fa
    movmskps %xmm0, %eax
    movd %eax, %xmm0
    TX
    L %xmm0, fa
    cvtps2pd %xmm0, %xmm0
    TX
    L %xmm0, fa
    cvttps2dq %xmm0, %xmm0      /* 3e10 and NaN give 0x80000000 */
    TX
    L %xmm0, ib
    cvtdq2ps %xmm0, %xmm0
    TX
    L %xmm0, da
    L %xmm1, db
    addpd %xmm1, %xmm0
    TX
    L %xmm0, da
    mulsd %xmm1, %xmm0          /* 1e300 * 1e-300 */
    TX
    L %xmm0, da
    divpd %xmm1, %xmm0
    TX
    L %xmm0, da
    cvtpd2ps %xmm0, %xmm0       /* 1e300 overflows to inf */
    TX
    L %xmm0, da
    cvtsd2ss %xmm1, %xmm0
    TX
    mov $-123456789, %rax
    cvtsi2sd %rax, %xmm0
    TX
    L %xmm0, db
    cvtsd2si %xmm0, %rax        /* 3.0 */
    movq %rax, %xmm0
    TX
    /* flags from scalar compares, including unordered */
    L %xmm0, da
    L %xmm1, db
    comisd %xmm1, %xmm0
    TX
    ucomiss fa+12(%rip), %xmm0  /* NaN: ZF PF CF all set */
    TX
    L %xmm0, fb
    comiss fb+4(%rip), %xmm0
    TX
    /* MXCSR rounding: cvtsd2si honours it, cvttsd2si does not */
    stmxcsr mxcsr_saved(%rip)
    movl $0x7f80, mxcsr_new(%rip) /* the initial 0x1f80 with RC = round toward zero; no flags touched */
    ldmxcsr mxcsr_new(%rip)
    L %xmm1, half
    cvtsd2si %xmm1, %rax
    movq %rax, %xmm0
    ldmxcsr mxcsr_saved(%rip)
    cvtsd2si %xmm1, %rdx
    movq %rdx, %xmm2
    punpcklqdq %xmm2, %xmm0
    TX
    /* SSSE3 */
    L %xmm0, ia
    L %xmm1, ib
    pshufb %xmm1, %xmm0
    TX
    L %xmm0, ia
    palignr $7, %xmm1, %xmm0
    TX
    L %xmm0, ia
    phaddw %xmm1, %xmm0
    TX
    L %xmm0, ia
    pmaddubsw %xmm1, %xmm0
    TX
    L %xmm0, ib
    pabsb %xmm0, %xmm0
    TX
    L %xmm0, ia
    psignw %xmm1, %xmm0
    TX
    L %xmm0, ia
    pmulhrsw %xmm1, %xmm0
    TX
    /* SSE4.1 */
    L %xmm2, ia
    L %xmm1, ib
    L %xmm0, ib                 /* pblendvb's mask is XMM0: take bytes of ib where ib's sign is set */
    pblendvb %xmm1, %xmm2
    movdqa %xmm2, %xmm0
    TX
    L %xmm0, fa
    blendps $5, fb(%rip), %xmm0
    TX
    L %xmm0, ia
    pminsd %xmm1, %xmm0
    TX
    L %xmm0, ia
    pmulld %xmm1, %xmm0
    TX
    L %xmm0, ia
    pmovzxbw %xmm0, %xmm0
    TX
    L %xmm0, ib
    pmovsxwd %xmm0, %xmm0
    TX
    L %xmm0, ia
    ptest %xmm1, %xmm0
    TX
    L %xmm0, ia
    ptest %xmm0, %xmm0
    TX
    L %xmm0, ia
    pcmpeqq %xmm0, %xmm0
    ptest %xmm0, %xmm0          /* all ones vs all ones: CF=1 */
    TX
    L %xmm0, half
    roundsd $0, %xmm0, %xmm0    /* nearest even */
    TX
    L %xmm0, half
    roundsd $1, %xmm0, %xmm0    /* down */
    TX
    L %xmm0, half
    roundpd $2, %xmm0, %xmm0    /* up */
    TX
    L %xmm0, fa
    insertps $0x9c, %xmm1, %xmm0
    TX
    L %xmm0, ia
    pextrb $13, %xmm0, %eax
    mov $0x55667788, %edx
    pinsrd $2, %edx, %xmm0
    pinsrb $0, %eax, %xmm0
    TX
    L %xmm0, ia
    packusdw %xmm1, %xmm0
    TX
    L %xmm0, ia
    mpsadbw $5, %xmm1, %xmm0
    TX
    L %xmm0, ia
    phminposuw %xmm0, %xmm0
    TX
    L %xmm0, fa
    dpps $0x71, fb(%rip), %xmm0
    TX
    /* SSE4.2: string compares (index in ECX, flags), crc32 */
    L %xmm1, str_set
    L %xmm2, str_text
    pcmpistri $0x00, %xmm2, %xmm1  /* first byte of text that is in set */
    movq %rcx, %xmm0
    TX
    pcmpistrm $0x44, %xmm2, %xmm1  /* byte mask of ranges */
    TX
    mov $6, %eax
    mov $16, %edx
    pcmpestri $0x18, %xmm2, %xmm1  /* equal each, negated */
    movq %rcx, %xmm0
    TX
    mov $0xffffffff, %eax
    crc32b %al, %eax
    mov $0x123456789abcdef0, %rdx
    crc32q %rdx, %rax
    movq %rax, %xmm0
    TX
    L %xmm0, ia
    L %xmm1, ia
    pcmpgtq ib(%rip), %xmm1
    punpckhqdq %xmm1, %xmm0
    TX

    EXIT 0

    .section .rodata
    .balign 16
ia: .byte 0x01, 0x80, 0x7f, 0xff, 0x10, 0x20, 0x30, 0xc0, 0x55, 0xaa, 0x00, 0x01, 0xfe, 0x7e, 0x81, 0x42
ib: .byte 0x0f, 0x90, 0x01, 0x02, 0xf0, 0x70, 0x8f, 0x40, 0x03, 0x0c, 0x85, 0x07, 0x0e, 0x8d, 0x01, 0x09
fa: .float 1.5, -2.25, 3.0e10, nan
fb: .float 0.5, 4.0, -1.0, 2.0
da: .double 1.0e300, -0.1
db: .double 1.0e-300, 3.0
half: .double 2.5, -3.5
str_set: .ascii "aeiou\0__________"
str_text: .ascii "xyzzy plugh abcd"

    .data
mxcsr_saved: .long 0
mxcsr_new: .long 0
    .section .note.GNU-stack, "", @progbits
