/* dump_regs: the printing half of the T macro (asm_dump.h). Stack on entry: return address, saved
 * RAX, saved RFLAGS; R15 holds the flags mask. Prints "NN rax rdx flags\n"; the caller pops the saves.
 * Preserves every register but RAX (which T restores) and R15. */
    .text
    .globl dump_regs
dump_regs:
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r11
    mov %rdx, saved_rdx(%rip)
    lea line(%rip), %rdi
    incl counter(%rip)
    mov counter(%rip), %eax
    shl $56, %rax               /* the test number as two hex digits */
    mov $2, %ecx
    call hex_digits
    movb $0x20, (%rdi)
    inc %rdi
    mov 56(%rsp), %rax          /* saved RAX, above 6 pushes and the return address */
    mov $16, %ecx
    call hex_digits
    movb $0x20, (%rdi)
    inc %rdi
    mov saved_rdx(%rip), %rax
    mov $16, %ecx
    call hex_digits
    movb $0x20, (%rdi)
    inc %rdi
    mov 64(%rsp), %rax          /* saved RFLAGS */
    and %r15, %rax
    shl $48, %rax
    mov $4, %ecx
    call hex_digits
    movb $0x0a, (%rdi)
    inc %rdi
    lea line(%rip), %rsi
    mov %rdi, %rdx
    sub %rsi, %rdx
    mov $1, %eax                /* write(1, line, len) */
    mov $1, %edi
    syscall
    pop %r11
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    ret

/* Writes the top RCX nibbles of RAX as hex at RDI, advancing RDI. Clobbers RAX, RCX, RDX, R8. */
hex_digits:
    lea digits(%rip), %r8
1:  rol $4, %rax
    mov %eax, %edx
    and $15, %edx
    movzbl (%r8,%rdx), %edx
    mov %dl, (%rdi)
    inc %rdi
    dec %ecx
    jnz 1b
    ret

    .section .rodata
digits:
    .ascii "0123456789abcdef"

    .bss
    .globl vec_scratch
    .balign 32
vec_scratch:
    .zero 32
saved_rdx:
    .quad 0
counter:
    .long 0
line:
    .zero 64
    .section .note.GNU-stack, "", @progbits
