/* No libc: write(1, msg, len) and exit_group(0) with raw syscalls from _start. Position-independent
 * (RIP-relative) so the same source links static and static-pie. */
    .text
    .globl _start
_start:
    mov $1, %eax                /* write */
    mov $1, %edi
    lea msg(%rip), %rsi
    mov $msg_len, %edx
    syscall
    cmp $msg_len, %rax
    jne 1f
    mov $231, %eax              /* exit_group(0) */
    xor %edi, %edi
    syscall
1:  mov $231, %eax              /* exit_group(1): the write was short */
    mov $1, %edi
    syscall

    .section .rodata
msg:
    .ascii "hello from assembly, no libc\n"
    .set msg_len, . - msg
    .section .note.GNU-stack, "", @progbits
