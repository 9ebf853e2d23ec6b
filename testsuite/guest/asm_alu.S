/* Integer instructions and their flags, without libc: each T line prints RAX, RDX and the defined
 * flags after one instruction (or a short sequence), compared bit for bit with native execution. */
#include "asm_dump.h"

    .text
    .globl _start
_start:
    /* add/sub/adc/sbb at the signed and unsigned edges, and AF */
    mov $0x7fffffffffffffff, %rax
    add $1, %rax
    T F_ALL
    mov $-1, %rax
    add $1, %rax
    T F_ALL
    mov $5, %rax
    sub $7, %rax
    T F_ALL
    mov $0x8000000000000000, %rax
    sub $1, %rax
    T F_ALL
    stc
    mov $10, %rax
    adc $5, %rax
    T F_ALL
    stc
    xor %edx, %edx
    mov $0, %rax
    sbb %rdx, %rax
    T F_ALL
    mov $0x0f, %eax
    add $1, %al
    T F_ALL
    /* 8/16/32-bit destinations: partial writes keep the upper bits, 32-bit writes zero them */
    mov $0x1122334455667780, %rax
    add %al, %al
    T F_ALL
    mov $0x112233445566ffff, %rax
    stc
    inc %ax                     /* inc leaves CF alone */
    T F_ALL
    mov $-1, %rax
    add $0, %eax
    T F_ALL
    mov $0x1122334455667788, %rax
    mov $0x99, %ah
    T F_ALL
    mov $0, %rax
    neg %rax
    T F_ALL
    mov $5, %rax
    neg %rax
    T F_ALL
    mov $0x80000000, %eax
    neg %eax
    T F_ALL
    mov $1, %rax
    dec %rax
    T F_ALL
    mov $0x7fffffff, %eax
    inc %eax
    T F_ALL
    mov $0x1234, %rax
    cmp $0x1235, %rax
    T F_ALL
    mov $0x80, %eax
    cmp $0x7f, %al
    T F_ALL

    /* logic: CF and OF cleared, AF undefined */
    mov $0xf0f0f0f0f0f0f0f0, %rax
    mov $0x0ff00ff00ff00ff0, %rdx
    and %rdx, %rax
    T F_LOGIC
    mov $0xf0f0f0f0f0f0f0f0, %rax
    or $0x0f, %al
    T F_LOGIC
    mov $0xff, %eax
    xor $0xff, %eax
    T F_LOGIC
    mov $0x8000000000000000, %rax
    test %rax, %rax
    T F_LOGIC
    mov $0x0123456789abcdef, %rax
    not %rax
    T F_LOGIC                   /* not changes no flags; AF is still undefined from test */

    /* shifts and rotates: count 1 defines OF, larger counts do not; count 0 changes nothing */
    mov $0xc000000000000001, %rax
    shl $1, %rax
    T F_LOGIC
    mov $0xc000000000000001, %rax
    shl $5, %rax
    T F_SHIFTN
    mov $0x8000000000000001, %rax
    shr $1, %rax
    T F_LOGIC
    mov $0x8000000000000001, %rax
    sar $3, %rax
    T F_SHIFTN
    mov $0x81, %eax
    sar $1, %al
    T F_LOGIC
    mov $0x10, %edx
    cmp $1, %edx                /* every flag defined (AF, SF, ...) before a count-0 shift keeps them */
    stc
    mov $0x1234, %rax
    mov $0, %ecx
    shl %cl, %rax
    T F_ALL
    mov $0x1234, %rax
    mov $68, %ecx               /* 64-bit shifts mask the count to 6 bits: 68 -> 4 */
    shl %cl, %rax
    T F_SHIFTN
    mov $0x12345678, %eax
    mov $36, %ecx               /* 32-bit shifts mask to 5 bits: 36 -> 4 */
    shr %cl, %eax
    T F_SHIFTN
    mov $0x8000000000000001, %rax
    rol $1, %rax
    T (F_CF | F_OF)
    mov $0x8000000000000001, %rax
    ror $4, %rax
    T F_CF
    stc
    mov $0x8000000000000000, %rax
    rcl $1, %rax
    T (F_CF | F_OF)
    stc
    mov $0x10, %eax
    rcr $3, %eax
    T F_CF
    mov $0x1122334455667788, %rax
    mov $0xaabbccddeeff0011, %rdx
    shld $8, %rdx, %rax
    T F_SHIFTN
    mov $0x1122334455667788, %rax
    mov $0xaabbccddeeff0011, %rdx
    shrd $12, %rdx, %rax
    T F_SHIFTN

    /* multiply and divide: only CF/OF defined for mul; division defines no flags */
    mov $0x123456789abcdef, %rax
    mov $0x1000, %rcx
    mul %rcx
    T F_MUL
    mov $-3, %rax
    mov $7, %rcx
    imul %rcx
    T F_MUL
    mov $0x40000000, %eax
    mov $4, %ecx
    imul %ecx, %eax
    T F_MUL
    mov $0x7f, %eax
    mov $2, %cl
    mul %cl
    T F_MUL
    mov $-5, %rdx
    imul $1000, %rdx, %rax
    T F_MUL
    mov $1, %edx
    mov $5, %eax
    mov $3, %rcx
    div %rcx
    T 0
    mov $-100, %rax
    cqo
    mov $7, %rcx
    idiv %rcx
    T 0
    mov $-100, %eax
    cdq
    mov $-7, %ecx
    idiv %ecx
    T 0
    mov $1000, %ax
    mov $7, %cl
    div %cl
    T 0

    /* bit scans and tests */
    mov $0x00f0000000000000, %rdx
    bsf %rdx, %rax
    T F_ZF
    bsr %rdx, %rax
    T F_ZF
    mov $0x1234, %rax
    xor %edx, %edx
    bsf %rdx, %rax              /* zero source: ZF set, destination unchanged in practice */
    T F_ZF
    mov $0x10, %rax
    bt $4, %rax
    T F_CF
    mov $0x10, %rax
    bts $70, %rax               /* immediate bit offsets wrap modulo 64 */
    T F_CF
    mov $0x10, %rax
    mov $4, %edx
    btr %rdx, %rax
    T F_CF
    mov $0x10, %rax
    btc $0, %rax
    T F_CF

    /* moves, conditions, exchanges: these leave the flags alone, so define them all first */
    mov $0x10, %edx
    cmp $1, %edx
    mov $0x80, %edx
    movsbq %dl, %rax
    T F_ALL
    mov $0xffff8000, %edx
    movzwl %dx, %eax
    T F_ALL
    mov $0x80000000, %edx
    movslq %edx, %rax
    T F_ALL
    mov $0x11223344, %eax
    bswap %eax
    T F_ALL
    mov $0x1122334455667788, %rax
    bswap %rax
    T F_ALL
    mov $5, %ecx
    cmp $5, %ecx
    mov $1, %eax
    mov $2, %edx
    cmove %rdx, %rax
    T F_ALL
    cmp $6, %ecx
    mov $1, %eax
    cmovg %rdx, %rax
    T F_ALL
    mov $-1, %rax
    cmp $6, %ecx
    setl %al
    setb %dl
    T F_ALL
    mov $3, %eax
    mov $9, %edx
    xchg %rax, %rdx
    T F_ALL
    mov $3, %eax
    mov $9, %edx
    xadd %rdx, %rax
    T F_ALL
    mov $7, %eax
    mov $7, %ecx
    mov %rcx, scratch(%rip)
    mov $42, %edx
    lock cmpxchg %rdx, scratch(%rip)
    mov scratch(%rip), %rdx
    T F_ALL
    mov $8, %eax
    lock cmpxchg %rcx, scratch(%rip)
    T F_ALL
    mov $0x0102030405060708, %rax
    mov $0x10, %rdx
    lea 0x20(%rax,%rdx,8), %rax
    T F_ALL
    mov $0xff, %eax
    cbw
    cwde
    cdqe
    T F_ALL
    mov $0, %eax
    stc
    lahf
    T F_ALL
    mov $0xd5, %ah              /* sahf: SF ZF AF PF CF from AH */
    sahf
    mov $0, %eax
    T F_ALL

    /* 128-bit add through adc, and sbb as a borrow chain */
    mov $-1, %rax
    mov $0x7fffffffffffffff, %rdx
    add $1, %rax
    adc $0, %rdx
    T F_ALL

    /* string instructions with REP: copy, fill, compare, scan */
    lea src(%rip), %rsi
    lea dst(%rip), %rdi
    mov $13, %ecx
    cld
    rep movsb
    mov dst(%rip), %rax
    mov dst+8(%rip), %rdx
    T F_ALL
    lea dst(%rip), %rdi
    mov $0x41, %eax
    mov $3, %ecx
    rep stosw
    mov dst(%rip), %rax
    mov %rcx, %rdx
    T F_ALL
    lea src(%rip), %rsi
    lea dst(%rip), %rdi
    mov $13, %ecx
    repe cmpsb
    mov %rcx, %rax
    mov %rsi, %rdx
    lea src(%rip), %r8
    sub %r8, %rdx
    T F_ALL
    lea src(%rip), %rdi
    mov $0x6f, %al              /* 'o' */
    mov $13, %ecx
    repne scasb
    mov %rcx, %rax
    mov %rdi, %rdx
    lea src(%rip), %r8
    sub %r8, %rdx
    T F_ALL
    lea src+12(%rip), %rsi
    std
    lodsb
    lodsb
    cld
    lea src(%rip), %rdx
    sub %rdx, %rsi
    mov %rsi, %rdx
    T F_ALL

    /* control flow: call/ret through the stack, loop, jrcxz, push/pop */
    xor %eax, %eax
    mov $10, %ecx
1:  add %rcx, %rax
    loop 1b
    mov %rcx, %rdx
    T F_ALL
    call 2f
5:  jmp 3f
2:  mov (%rsp), %rdx
    lea 5b(%rip), %rax          /* the return address is the jmp after the call: rdx = 0 */
    sub %rax, %rdx
    mov $0x99, %eax
    ret
3:  T F_ALL
    push $-2
    pop %rax
    pushw $0x1234
    popw %dx
    T F_ALL
    xor %ecx, %ecx
    mov $1, %eax
    jrcxz 4f
    mov $2, %eax
4:  T F_ALL

    EXIT 0

    .data
src:
    .ascii "hello, world!"
scratch:
    .quad 0
dst:
    .zero 32
    .section .note.GNU-stack, "", @progbits
