# Serial output and power-off: the smallest kernel. Checks the multiboot entry state (EAX magic, EBX
# info pointer with mem_lower), a little 32-bit arithmetic, a call/ret and push/pop on the stack, and a
# REP MOVSB copy, printing one line per check.
        .include "testsuite/kernels/common.inc"
        .text
        MULTIBOOT_HEADER _start
_start:
        mov $stack_top, %esp
        mov %eax, %edi
        mov $msg_hello, %esi
        call puts32
        cmp $0x2BADB002, %edi
        jne fail
        mov $msg_magic, %esi
        call puts32
        testl $1, (%ebx)
        jz fail
        # mem_lower: 640 KiB, or less when the loader keeps an EBDA below 640 KiB (ember's says 639)
        cmpl $512, 4(%ebx)
        jb fail
        cmpl $640, 4(%ebx)
        ja fail
        mov $msg_info, %esi
        call puts32
        # arithmetic: 6 * 7 + 100 / 4 = 67
        mov $6, %eax
        mov $7, %ecx
        imul %ecx, %eax
        push %eax
        mov $100, %eax
        xor %edx, %edx
        mov $4, %ecx
        div %ecx
        pop %ecx
        add %ecx, %eax
        cmp $67, %eax
        jne fail
        mov $msg_arith, %esi
        call puts32
        # rep movsb into a buffer, then print it
        mov $msg_copy, %esi
        mov $buffer, %edi
        mov $(msg_copy_end - msg_copy), %ecx
        cld
        rep movsb
        mov $buffer, %esi
        call puts32
        # string output: REP OUTSB straight into the UART's transmit FIFO (16 bytes deep)
        mov $msg_outs, %esi
        mov $(msg_outs_end - msg_outs), %ecx
        mov $0x3F8, %dx
        rep outsb
        mov $msg_bye, %esi
        call puts32
        call poweroff32
fail:
        mov $msg_fail, %esi
        call puts32
        call poweroff32

        ROUTINES32

msg_hello: .asciz "hello from the serial kernel\n"
msg_magic: .asciz "multiboot magic ok\n"
msg_info:  .asciz "multiboot info ok\n"
msg_arith: .asciz "arithmetic ok\n"
msg_copy:  .asciz "rep movsb ok\n"
msg_copy_end:
msg_outs:  .ascii "rep outsb ok\n"
msg_outs_end:
msg_bye:   .asciz "powering off\n"
msg_fail:  .asciz "FAIL\n"
        .balign 16
buffer: .fill 64, 1, 0
        .balign 16
stack:  .fill 4096, 1, 0
stack_top:
