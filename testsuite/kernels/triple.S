# A triple fault: an IDT with no entries (limit 0), then INT3. Delivering #BP faults (#GP), delivering
# that faults again (#DF), and delivering #DF faults: the CPU shuts down and the machine resets.
        .include "testsuite/kernels/common.inc"
        .text
        MULTIBOOT_HEADER _start
_start:
        mov $stack_top, %esp
        mov $msg, %esi
        call puts32
        lidt idt_ptr
        int3
        mov $msg_fail, %esi
        call puts32
        call poweroff32

        ROUTINES32
idt_ptr:
        .word 0
        .long 0
msg:      .asciz "about to triple fault\n"
msg_fail: .asciz "FAIL: still running\n"
        .balign 16
stack:  .fill 1024, 1, 0
stack_top:
