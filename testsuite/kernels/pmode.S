# 32-bit protected mode with paging (4 MiB PSE pages and a 4 KiB page table), an IDT with 32-bit gates:
# a page fault that maps the page and restarts, #GP and #NP from segment loads with the selector as the
# error code, INT 0x30 at CPL 0, then CPL 3 through IRET: INT 0x30 through a DPL 3 gate switching to the
# TSS's SS0:ESP0, and CLI at IOPL 0 raising #GP(0).
        .include "testsuite/kernels/common.inc"
        .set PGDIR, 0x70000
        .set PGTAB, 0x71000
        .text
        MULTIBOOT_HEADER _start
_start:
        mov $stack_top, %esp
        LOAD_FLAT_GDT
        mov $msg_entry, %esi
        call puts32

        # IDT
        mov $11, %edi
        mov $np_handler, %esi
        xor %edx, %edx
        call set_gate32
        mov $13, %edi
        mov $gp_handler, %esi
        xor %edx, %edx
        call set_gate32
        mov $14, %edi
        mov $pf_handler, %esi
        xor %edx, %edx
        call set_gate32
        mov $0x30, %edi
        mov $int30_handler, %esi
        mov $3, %edx
        call set_gate32
        lidt idt_ptr

        # paging: 0-8 MiB identity with 4 MiB user pages
        mov $PGDIR, %edi
        mov $2048, %ecx
        xor %eax, %eax
        cld
        rep stosl
        movl $0x00000087, PGDIR
        movl $0x00400087, PGDIR + 4
        mov %cr4, %eax
        or $0x10, %eax                  # PSE
        mov %eax, %cr4
        mov $PGDIR, %eax
        mov %eax, %cr3
        mov %cr0, %eax
        or $0x80010000, %eax
        mov %eax, %cr0
        mov $msg_paging, %esi
        call puts32

        # SSE across a page boundary, LOCK CMPXCHG/XADD, FNINIT + FXSAVE into an image crossing a page
        mov %cr4, %eax
        or $0x600, %eax                 # OSFXSR | OSXMMEXCPT
        mov %eax, %cr4
        mov %cr0, %eax
        and $~4, %eax                   # EM off
        or $2, %eax                     # MP on
        mov %eax, %cr0
        movups pattern, %xmm0
        movups %xmm0, 0x2ff8
        movups 0x2ff8, %xmm1
        pcmpeqb %xmm0, %xmm1
        pmovmskb %xmm1, %eax
        cmp $0xffff, %eax
        jne fail
        cmpl $0x33333333, 0x3000
        jne fail
        movl $5, lockvar
        mov $5, %eax
        mov $9, %ecx
        lock cmpxchg %ecx, lockvar
        jnz fail
        cmpl $9, lockvar
        jne fail
        mov $3, %eax
        lock xadd %eax, lockvar
        cmp $9, %eax
        jne fail
        cmpl $12, lockvar
        jne fail
        fninit
        fxsave 0x3f00
        cmpw $0x037f, 0x3f00
        jne fail
        cmpl $0x1f80, 0x3f18
        jne fail
        mov $msg_sse, %esi
        call puts32

        # self-modifying code: run a function, patch its immediate, run it again
        movb $0xB8, smc_code            # mov $imm32, %eax
        movl $1, smc_code + 1
        movb $0xC3, smc_code + 5        # ret
        call smc_code
        cmp $1, %eax
        jne fail
        movl $2, smc_code + 1
        call smc_code
        cmp $2, %eax
        jne fail
        # LSL and LAR on the data descriptor, VERW on the not-present one
        mov $0x10, %ecx
        lsl %ecx, %eax
        jnz fail
        cmp $0xffffffff, %eax
        jne fail
        lar %ecx, %eax
        jnz fail
        and $0x00f0fe00, %eax           # G D/B L AVL, P DPL S type (bits 16-19 and accessed left out)
        cmp $0x00c09200, %eax
        jne fail
        mov $0x08, %ecx                 # code: not writable
        verw %cx
        jz fail
        mov $0x10, %ecx                 # data: writable
        verw %cx
        jnz fail
        mov $msg_smc, %esi
        call puts32

        # a page fault in the unmapped 12-16 MiB range
        movl $0, pf_count
        movl $0x12345678, 0x45
        mov 0xC00045, %eax
        cmpl $1, pf_count
        jne fail
        cmpl $0xC00045, pf_cr2
        jne fail
        cmpl $0, pf_err
        jne fail
        cmp $0x12345678, %eax
        jne fail
        mov $msg_pf, %esi
        call puts32

        # segment loads: beyond the GDT limit (#GP), not present (#NP)
        movl $0, gp_count
        mov $0x50, %ax
        mov %ax, %ds
gp_resume:
        cmpl $1, gp_count
        jne fail
        cmpl $0x50, gp_err
        jne fail
        mov $msg_gp_sel, %esi
        call puts32
        mov $0x30, %ax
        mov %ax, %es
np_resume:
        cmpl $0x30, np_err
        jne fail
        mov $msg_np, %esi
        call puts32

        int $0x30

        # CPL 3
        mov $tss, %eax
        mov %ax, gdt_tss + 2
        shr $16, %eax
        mov %al, gdt_tss + 4
        mov %ah, gdt_tss + 7
        mov $0x28, %ax
        ltr %ax
        pushl $0x23
        pushl $user_stack_top
        pushl $0x2
        pushl $0x1b
        pushl $user_entry
        iret

user_entry:
        mov $0x23, %ax
        mov %ax, %ds
        int $0x30
        cli
1:      jmp 1b

gp_handler:
        testl $3, 8(%esp)               # the frame's CS (after the error code and EIP)
        jnz 1f
        incl gp_count
        mov (%esp), %eax
        mov %eax, gp_err
        movl $gp_resume, 4(%esp)
        add $4, %esp
        iret
1:      cmpl $0, (%esp)
        jne fail
        mov $0x10, %ax
        mov %ax, %ds
        mov $msg_gp3, %esi
        call puts32
        mov $msg_bye, %esi
        call puts32
        call poweroff32

np_handler:
        mov (%esp), %eax
        mov %eax, np_err
        movl $np_resume, 4(%esp)
        add $4, %esp
        iret

pf_handler:
        push %eax
        incl pf_count
        mov %cr2, %eax
        mov %eax, pf_cr2
        mov 4(%esp), %eax
        mov %eax, pf_err
        movl $(PGTAB | 7), PGDIR + 12
        movl $0x00000007, PGTAB
        mov pf_cr2, %eax
        invlpg (%eax)
        pop %eax
        add $4, %esp
        iret

int30_handler:
        push %eax
        push %esi
        push %ds
        mov $0x10, %ax
        mov %ax, %ds
        mov 16(%esp), %eax              # the frame's CS
        and $3, %eax
        jz 1f
        cmp $kstack0_top, %esp
        ja fail
        cmp $kstack0, %esp
        jb fail
        cmpl $0x23, 28(%esp)            # the old SS pushed on the new stack
        jne fail
        mov $msg_int30_3, %esi
        call puts32
        jmp 2f
1:      mov $msg_int30_0, %esi
        call puts32
2:      pop %ds
        pop %esi
        pop %eax
        iret

        SET_GATE32_ROUTINE

fail:
        mov $0x10, %ax
        mov %ax, %ds
        mov $msg_fail, %esi
        call puts32
        call poweroff32

        ROUTINES32

        .balign 8
gdt:    .quad 0
        .quad 0x00CF9A000000FFFF        # 0x08 code
        .quad 0x00CF92000000FFFF        # 0x10 data
        .quad 0x00CFFA000000FFFF        # 0x18 user code
        .quad 0x00CFF2000000FFFF        # 0x20 user data
gdt_tss:
        .quad 0x0000890000000067        # 0x28 TSS (base filled in)
        .quad 0x00CF12000000FFFF        # 0x30 data, not present
gdt_end:
gdt_ptr:
        .word gdt_end - gdt - 1
        .long gdt
idt_ptr:
        .word 2047
        .long idt
        .balign 16
pattern: .long 0x11111111, 0x22222222, 0x33333333, 0x44444444
lockvar: .long 0
        .balign 16
smc_code: .fill 16, 1, 0x90
pf_count: .long 0
pf_cr2: .long 0
pf_err: .long 0
gp_count: .long 0
gp_err: .long 0
np_err: .long 0
        .balign 16
tss:    .long 0
        .long kstack0_top               # ESP0
        .long 0x10                      # SS0
        .fill 92, 1, 0

msg_entry:   .asciz "protected mode ok\n"
msg_paging:  .asciz "paging on\n"
msg_sse:     .asciz "sse, locked ops and fxsave ok\n"
msg_smc:     .asciz "self-modifying code, lsl/lar/verw ok\n"
msg_pf:      .asciz "page fault ok\n"
msg_gp_sel:  .asciz "gp on a bad selector ok\n"
msg_np:      .asciz "np on a not-present segment ok\n"
msg_int30_0: .asciz "int 0x30 from cpl 0 ok\n"
msg_int30_3: .asciz "int 0x30 from cpl 3 on the tss stack ok\n"
msg_gp3:     .asciz "gp from cli at cpl 3 ok\n"
msg_bye:     .asciz "powering off\n"
msg_fail:    .asciz "FAIL\n"
        .balign 4096
idt:    .fill 2048, 1, 0
stack:  .fill 4096, 1, 0
stack_top:
kstack0: .fill 4096, 1, 0
kstack0_top:
user_stack: .fill 4096, 1, 0
user_stack_top:
