/* POPCNT, LZCNT, TZCNT, BMI1 (andn, bextr, blsi, blsr, blsmsk), BMI2 (bzhi, pdep, pext, rorx, sarx,
 * shlx, mulx), ADX (adcx, adox) and MOVBE, each with the flags the manual defines. */
#include "asm_dump.h"

    .text
    .globl _start
_start:
    mov $0xf0f0000000000001, %rdx
    popcnt %rdx, %rax
    T F_ALL
    xor %edx, %edx
    popcnt %rdx, %rax
    T F_ALL
    mov $0x0000f00000000000, %rdx
    lzcnt %rdx, %rax
    T (F_CF | F_ZF)
    xor %edx, %edx
    lzcnt %rdx, %rax
    T (F_CF | F_ZF)
    mov $0x0000f00000000000, %rdx
    tzcnt %rdx, %rax
    T (F_CF | F_ZF)
    mov $1, %edx
    tzcnt %edx, %eax
    T (F_CF | F_ZF)
    mov $0xff00ff00ff00ff00, %rcx
    mov $0x0ff00ff00ff00ff0, %rdx
    andn %rdx, %rcx, %rax
    T (F_ZF | F_SF | F_CF | F_OF)
    mov $0x0000123456789abc, %rdx
    mov $0x0c08, %ecx           /* start 8, length 12 */
    bextr %rcx, %rdx, %rax
    T (F_ZF | F_CF | F_OF)
    mov $0x00a8, %edx
    blsi %rdx, %rax
    T (F_ZF | F_SF | F_CF | F_OF)
    blsr %rdx, %rax
    T (F_ZF | F_SF | F_CF | F_OF)
    blsmsk %rdx, %rax
    T (F_ZF | F_SF | F_CF | F_OF)
    mov $-1, %rdx
    mov $20, %ecx
    bzhi %rcx, %rdx, %rax
    T (F_ZF | F_SF | F_CF | F_OF)
    /* the rest write no flags (adcx/adox only CF/OF): define them all first */
    xor %r8d, %r8d
    cmp $1, %r8d
    mov $0x0000000000001234, %rdx
    mov $0xf0f0f0f0f0f0f0f0, %rcx
    pdep %rcx, %rdx, %rax
    T F_ALL
    mov $0x123456789abcdef0, %rdx
    pext %rcx, %rdx, %rax
    T F_ALL
    mov $0x123456789abcdef0, %rdx
    rorx $12, %rdx, %rax
    T F_ALL
    mov $0x8000000000000000, %rdx
    mov $65, %ecx
    sarx %rcx, %rdx, %rax
    T F_ALL
    shlx %rcx, %rcx, %rax
    T F_ALL
    mov $0xffffffffffffffff, %rdx
    mov $0x10, %rcx
    mulx %rcx, %rax, %rdx
    T F_ALL
    mov $-1, %rax
    mov $1, %rdx
    clc
    adcx %rdx, %rax
    T F_ALL
    mov $0x7fffffffffffffff, %rax
    mov $1, %rdx
    clc
    adox %rdx, %rax
    T F_ALL
    movbe data(%rip), %rax
    mov $0, %edx
    movbe data+8(%rip), %dx
    T F_ALL

    EXIT 0

    .data
data:
    .quad 0x0102030405060708
    .word 0xaabb
    .section .note.GNU-stack, "", @progbits
