# Protected mode -> 16-bit protected mode -> real mode (CR0.PE cleared, far jump to a real-mode CS):
# an IVT handler called with INT, real-mode segment arithmetic (selector * 16), a far call, then back to
# 32-bit protected mode. The real-mode part is copied to 0x7000 and runs with CS = 0x0700.
        .include "testsuite/kernels/common.inc"
        .set RM_BASE, 0x7000
        .set RM_SEG, 0x0700
        .text
        MULTIBOOT_HEADER _start
_start:
        mov $stack_top, %esp
        LOAD_FLAT_GDT
        mov $msg_pm, %esi
        call puts32
        mov $rm_start, %esi
        mov $RM_BASE, %edi
        mov $(rm_end - rm_start), %ecx
        cld
        rep movsb
        ljmp $0x18, $(RM_BASE + pm16 - rm_start)

        .code16
rm_start:
pm16:
        mov $0x20, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov %cr0, %eax
        and $~1, %eax
        mov %eax, %cr0
        ljmp $RM_SEG, $(real - rm_start)
real:
        mov %cs, %ax
        mov %ax, %ds
        xor %ax, %ax
        mov %ax, %ss
        mov $0x6000, %sp
        lidt ivt_ptr - rm_start
        mov $(msg_real - rm_start), %si
        call puts16
        # IVT entry 0x40 -> RM_SEG:handler
        xor %ax, %ax
        mov %ax, %es
        movw $(handler - rm_start), %es:0x100
        movw $RM_SEG, %es:0x102
        xor %bx, %bx
        int $0x40
        cmp $0x1234, %bx
        jne fail16
        mov $(msg_int - rm_start), %si
        call puts16
        # segment arithmetic: 0x0800:0x0010 is linear 0x8010
        mov $0x0800, %ax
        mov %ax, %es
        movw $0xbeef, %es:0x10
        xor %ax, %ax
        mov %ax, %es
        cmpw $0xbeef, %es:0x8010
        jne fail16
        mov $(msg_seg - rm_start), %si
        call puts16
        # a far call through a real-mode pointer
        lcall $RM_SEG, $(farfn - rm_start)
        cmp $0x5678, %bx
        jne fail16
        mov $(msg_far - rm_start), %si
        call puts16
        # back to protected mode
        cli
        lgdtl gdt_ptr16 - rm_start
        mov %cr0, %eax
        or $1, %eax
        mov %eax, %cr0
        .byte 0x66, 0xea                # ljmpl $0x08, $back32
        .long back32
        .word 0x08

farfn:
        mov $0x5678, %bx
        lret

handler:
        push %si
        mov $(msg_handler - rm_start), %si
        call puts16
        mov $0x1234, %bx
        pop %si
        iret

fail16:
        mov $(msg_fail16 - rm_start), %si
        call puts16
        mov $0x604, %dx
        mov $((5 << 10) | (1 << 13)), %ax
        out %ax, %dx
1:      hlt
        jmp 1b

puts16:
        push %ax
        push %dx
1:      lodsb
        test %al, %al
        jz 3f
        mov %al, %ah
2:      mov $0x3FD, %dx
        in %dx, %al
        test $0x20, %al
        jz 2b
        mov %ah, %al
        mov $0x3F8, %dx
        out %al, %dx
        jmp 1b
3:      pop %dx
        pop %ax
        ret

ivt_ptr:
        .word 0x3ff
        .long 0
gdt_ptr16:
        .word gdt_end - gdt - 1
        .long gdt
msg_real:    .asciz "real mode ok\n"
msg_handler: .asciz "in the real-mode interrupt handler\n"
msg_int:     .asciz "int 0x40 through the ivt ok\n"
msg_seg:     .asciz "real-mode segment arithmetic ok\n"
msg_far:     .asciz "far call ok\n"
msg_fail16:  .asciz "FAIL\n"
rm_end:

        .code32
back32:
        mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov $stack_top, %esp
        mov $msg_back, %esi
        call puts32
        mov $msg_bye, %esi
        call puts32
        call poweroff32

        ROUTINES32

        .balign 8
gdt:    .quad 0
        .quad 0x00CF9A000000FFFF        # 0x08 code32
        .quad 0x00CF92000000FFFF        # 0x10 data32
        .quad 0x00009A000000FFFF        # 0x18 code16, 64 KiB
        .quad 0x000092000000FFFF        # 0x20 data16, 64 KiB
gdt_end:
gdt_ptr:
        .word gdt_end - gdt - 1
        .long gdt
msg_pm:   .asciz "protected mode ok\n"
msg_back: .asciz "back in protected mode ok\n"
msg_bye:  .asciz "powering off\n"
        .balign 16
stack:  .fill 4096, 1, 0
stack_top:
