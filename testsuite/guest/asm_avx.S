/* AVX, AVX2 and FMA on YMM registers (VEX encodings, 256-bit lanes, zeroing of the upper half by
 * VEX.128 forms), one YMM0 dump (two lines) per instruction. */
#include "asm_dump.h"

    .text
    .globl _start
_start:
    vmovdqu ya(%rip), %ymm1
    vmovdqu yb(%rip), %ymm2
    vaddps %ymm2, %ymm1, %ymm0
    TY
    vmulpd %ymm2, %ymm1, %ymm0
    TY
    vpaddd %ymm2, %ymm1, %ymm0
    TY
    vpshufb %ymm2, %ymm1, %ymm0     /* per 128-bit lane */
    TY
    vperm2f128 $0x21, %ymm2, %ymm1, %ymm0
    TY
    vpermd %ymm1, %ymm2, %ymm0      /* indexes from ymm2's low 3 bits */
    TY
    vpermq $0x1b, %ymm1, %ymm0
    TY
    vbroadcastss yb+4(%rip), %ymm0
    TY
    vpbroadcastb %xmm1, %ymm0
    TY
    vpsllvd %ymm2, %ymm1, %ymm0
    TY
    vpsravd %ymm2, %ymm1, %ymm0
    TY
    vpunpcklbw %ymm2, %ymm1, %ymm0
    TY
    vpackssdw %ymm2, %ymm1, %ymm0
    TY
    vpmovmskb %ymm1, %eax
    vmovd %eax, %xmm0               /* VEX.128 zeroes bits 255:128 */
    TY
    vmovdqu %ymm1, %ymm0
    vpaddb %xmm2, %xmm1, %xmm0      /* VEX.128 again: upper half becomes zero */
    TY
    vmovdqu %ymm1, %ymm0
    paddb %xmm2, %xmm0              /* legacy SSE keeps the upper half */
    TY
    vxorps %ymm0, %ymm0, %ymm0
    vcmpps $1, %ymm2, %ymm1, %ymm0  /* lt */
    TY
    vblendvps %ymm1, %ymm2, %ymm1, %ymm0
    TY
    vptest %ymm2, %ymm1
    vmovdqu %ymm1, %ymm0
    TY
    vextracti128 $1, %ymm1, %xmm0
    TY
    vinserti128 $1, %xmm2, %ymm1, %ymm0
    TY
    vcvtdq2ps %ymm1, %ymm0
    TY
    vcvttps2dq yb(%rip), %ymm0
    TY
    vsqrtpd yd(%rip), %ymm0
    TY
    /* gather: dwords from a table at indexes in ymm3 (mask all ones, consumed to zero) */
    vmovdqu idx(%rip), %ymm3
    vpcmpeqd %ymm4, %ymm4, %ymm4
    lea table(%rip), %rax
    vpxor %ymm0, %ymm0, %ymm0
    vpgatherdd %ymm4, (%rax,%ymm3,4), %ymm0
    TY
    vmovdqu %ymm4, %ymm0
    TY
    /* FMA: one rounding, so a*b+c differs from the two-step result */
    vmovupd fa(%rip), %ymm0
    vmovupd fb(%rip), %ymm1
    vmovupd fc(%rip), %ymm2
    vfmadd213pd %ymm2, %ymm1, %ymm0
    TY
    vmovupd fa(%rip), %ymm0
    vfmsub231pd %ymm1, %ymm1, %ymm0
    TY
    vmovupd fa(%rip), %ymm0
    vfnmadd132sd %xmm2, %xmm1, %xmm0
    TY
    vmovups ya(%rip), %ymm0
    vfmadd231ps yb(%rip), %ymm0, %ymm0
    TY
    vzeroupper
    TY

    EXIT 0

    .section .rodata
    .balign 32
ya: .long 0x3fc00000, 0xc0100000, 0x7f7fffff, 0x00000001, 0x80000000, 0x42f60000, 0xffffffff, 0x12345678
yb: .long 0x3f000000, 0x40800000, 0xbf800000, 0x00000003, 0x0000001f, 0x00000021, 0x41200000, 0x87654321
yd: .double 2.0, 1.0e-310, 9.0, 0.25
idx: .long 7, 0, 3, 3, 5, 1, 6, 2
table: .long 100, 101, 102, 103, 104, 105, 106, 107
fa: .double 0.1, 1.0e308, -3.0, 1.0000000000000002
fb: .double 10.0, 10.0, 3.0, 0.9999999999999998
fc: .double -1.0, -1.0e308, 9.0, -1.0
    .section .note.GNU-stack, "", @progbits
