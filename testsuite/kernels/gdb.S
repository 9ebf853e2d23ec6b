# The kernel the system-mode gdb tests debug (testsuite/gdb-system): an ELF multiboot kernel with its
# symbols, so gdb can use the same file. It enters long mode with 1 GiB identity-mapped and the same memory
# also mapped at 0xffffffff80000000 (so virtual and physical addresses differ), then calls `work` ten times
# (each call bumps `counter` and reads `observed`), says so on COM1 and spins until a debugger sets
# `release`, then powers off. Run without a debugger it spins forever: it is not one of the self-checking
# kernels of testsuite/boot.
        .include "testsuite/kernels/common.inc"
        .set PML4, 0x70000
        .set PDPT, 0x71000
        .set PD, 0x72000
        .set PDPT_HI, 0x73000
        .set HIGH_BASE, 0xffffffff80000000

        .text
        .code32
        .balign 4
mb_elf_header:                          # multiboot v1, no flags: the loader reads the ELF program headers
        .long MB_MAGIC
        .long 0
        .long -MB_MAGIC

        .globl _start
_start:
        mov $stack_top, %esp
        LOAD_FLAT_GDT
        mov $PML4, %edi
        mov $(4 * 1024), %ecx
        xor %eax, %eax
        cld
        rep stosl
        movl $(PDPT | 3), PML4
        movl $(PDPT_HI | 3), PML4 + 511 * 8
        movl $(PD | 3), PDPT
        movl $(PD | 3), PDPT_HI + 510 * 8
        mov $PD, %edi
        mov $0x83, %eax                 # 2 MiB pages, present, writable
        mov $512, %ecx
1:      mov %eax, (%edi)
        add $0x200000, %eax
        add $8, %edi
        loop 1b
        ENTER_LONG_MODE PML4, 0, 0, long_entry

        .code64
        .globl long_entry
long_entry:
        mov $0x20, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov $stack_top, %rsp
        mov $msg_hello, %rsi
        call puts64
        mov $0x1234, %r12
        xor %ebx, %ebx
        .globl main_loop
main_loop:
        call work
        inc %ebx
        cmp $10, %ebx
        jb main_loop
        mov $msg_done, %rsi
        call puts64
        .globl spin
spin:
        pause
        cmpq $0, release
        je spin
        mov $msg_bye, %rsi
        call puts64
        call poweroff64

        .globl work
work:
        incq counter
        mov observed, %rax
        add %rax, total
        ret

        ROUTINES32
        ROUTINES64

        .balign 8
gdt:    .quad 0
        .quad 0x00CF9A000000FFFF        # 0x08 code32
        .quad 0x00CF92000000FFFF        # 0x10 data
        .quad 0x00AF9A000000FFFF        # 0x18 code64
        .quad 0x00CF92000000FFFF        # 0x20 data
gdt_end:
gdt_ptr:
        .word gdt_end - gdt - 1
        .long gdt

        .balign 8
        .globl counter, observed, total, release, magic
counter:  .quad 0
observed: .quad 3
total:    .quad 0
release:  .quad 0
magic:    .quad 0xfeedface12345678

msg_hello: .asciz "gdb kernel: long mode ok\n"
msg_done:  .asciz "gdb kernel: work done, waiting for release\n"
msg_bye:   .asciz "powering off\n"
        .balign 4096
stack:  .fill 4096, 1, 0
stack_top:
