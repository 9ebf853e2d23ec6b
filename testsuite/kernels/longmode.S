# Protected mode -> long mode with 4-level paging, then, in 64-bit code: an IDT with 16-byte gates,
# page faults (not present, write protection with CR0.WP, no-execute with EFER.NXE) whose handler checks
# CR2 and the error code and fixes the mapping so the instruction restarts, INT 0x80 at CPL 0, then CPL 3
# entered by IRETQ: INT 0x80 through a DPL 3 gate with the stack switch to the TSS's RSP0, SYSCALL/SYSRET,
# and a privileged instruction (HLT) raising #GP(0) from CPL 3.
        .include "testsuite/kernels/common.inc"
        .set PML4, 0x70000
        .set PDPT, 0x71000
        .set PD, 0x72000
        .set PD2, 0x73000
        .text
        MULTIBOOT_HEADER _start
_start:
        mov $stack_top, %esp
        mov $msg_entry, %esi
        call puts32
        lgdt gdt_ptr
        ljmp $0x08, $1f
1:      mov $0x10, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        # page tables: 1 GiB identity-mapped with 2 MiB user pages; PD2 ready for the 1-2 GiB window
        mov $PML4, %edi
        mov $(4 * 1024), %ecx
        xor %eax, %eax
        cld
        rep stosl
        movl $(PDPT | 7), PML4
        movl $(PD | 7), PDPT
        mov $PD, %edi
        mov $PD2, %ebx
        mov $0x87, %eax
        mov $512, %ecx
2:      mov %eax, (%edi)
        mov %eax, (%ebx)
        add $0x200000, %eax
        add $8, %edi
        add $8, %ebx
        loop 2b
        # NXE | SCE, and WP
        ENTER_LONG_MODE PML4, 0x801, 0x10000, long_entry

        .code64
long_entry:
        mov $0x20, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov $stack_top, %rsp
        mov $msg_long, %rsi
        call puts64
        movabs $0x123456789abcdef0, %rax
        mov $0x10, %rcx
        add %rcx, %rax
        movabs $0x123456789abcdf00, %rbx
        cmp %rbx, %rax
        jne fail
        mov $msg_arith, %rsi
        call puts64

        # the IDT
        mov $13, %edi
        mov $gp_handler, %esi
        xor %edx, %edx
        call set_gate
        mov $14, %edi
        mov $pf_handler, %esi
        xor %edx, %edx
        call set_gate
        mov $0x80, %edi
        mov $int80_handler, %esi
        mov $3, %edx
        call set_gate
        lidt idt_ptr

        int $0x80

        # not present: the 1-2 GiB window has no PDPT entry yet
        movl $0, pf_count
        mov 0x40000123, %eax
        cmpl $1, pf_count
        jne fail
        cmpq $0x40000123, pf_cr2
        jne fail
        cmpq $0, pf_err
        jne fail
        mov $msg_pf_np, %rsi
        call puts64

        # write protection: 2-4 MiB made read-only, CR0.WP is on
        movl $0, pf_count
        andq $~2, PD + 8
        invlpg 0x200000
        movl $5, 0x200010
        cmpl $1, pf_count
        jne fail
        cmpq $0x200010, pf_cr2
        jne fail
        cmpq $3, pf_err
        jne fail
        cmpl $5, 0x200010
        jne fail
        mov $msg_pf_wp, %rsi
        call puts64

        # no-execute: 4-6 MiB marked NX, a RET placed there and called
        movl $0, pf_count
        movb $0xC3, 0x400000
        btsq $63, PD + 16
        invlpg 0x400000
        mov $0x400000, %eax
        call *%rax
        cmpl $1, pf_count
        jne fail
        cmpq $0x400000, pf_cr2
        jne fail
        cmpq $0x11, pf_err
        jne fail
        mov $msg_pf_nx, %rsi
        call puts64

        # CPL 3: TSS, SYSCALL MSRs, then IRETQ to user code
        mov $tss, %eax
        mov %ax, gdt_tss + 2
        shr $16, %eax
        mov %al, gdt_tss + 4
        mov %ah, gdt_tss + 7
        mov $0x40, %ax
        ltr %ax
        mov $0xC0000081, %ecx           # STAR: SYSCALL CS 0x18, SYSRET base 0x28
        xor %eax, %eax
        mov $0x00280018, %edx
        wrmsr
        mov $0xC0000082, %ecx           # LSTAR
        mov $syscall_entry, %eax
        xor %edx, %edx
        wrmsr
        mov $0xC0000084, %ecx           # SFMASK: clear IF
        mov $0x200, %eax
        xor %edx, %edx
        wrmsr
        pushq $0x33
        pushq $user_stack_top
        pushq $0x2
        pushq $0x3b
        pushq $user_entry
        iretq

user_entry:
        int $0x80
        syscall
after_syscall:
        hlt
        jmp fail_user

syscall_entry:
        mov %rsp, %r12
        mov $stack_top, %rsp
        mov $after_syscall, %eax
        cmp %rax, %rcx
        jne fail
        mov %cs, %ax
        cmp $0x18, %ax
        jne fail
        mov $msg_syscall, %rsi
        call puts64
        mov %r12, %rsp
        sysretq

fail_user:
        jmp fail_user

gp_handler:
        cmpq $0, (%rsp)                 # error code
        jne fail
        testq $3, 16(%rsp)              # the frame's CS
        jz fail
        mov $msg_gp, %rsi
        call puts64
        mov $msg_bye, %rsi
        call puts64
        call poweroff64

pf_handler:
        push %rax
        push %rdi
        incl pf_count
        mov %cr2, %rax
        mov %rax, pf_cr2
        mov 16(%rsp), %rax
        mov %rax, pf_err
        mov pf_cr2, %rdi
        cmp $0x40000000, %rdi
        jb 1f
        movq $(PD2 | 7), PDPT + 8
        jmp 3f
1:      cmp $0x400000, %rdi
        jb 2f
        btrq $63, PD + 16
        jmp 3f
2:      orq $2, PD + 8
3:      invlpg (%rdi)
        pop %rdi
        pop %rax
        add $8, %rsp
        iretq

int80_handler:
        push %rax
        push %rsi
        mov 24(%rsp), %rax              # the frame's CS
        and $3, %eax
        jz 1f
        # from CPL 3: we must be on the TSS's RSP0 stack
        mov $kstack0_top, %rsi
        cmp %rsi, %rsp
        ja fail
        sub $4096, %rsi
        cmp %rsi, %rsp
        jb fail
        mov $msg_int80_3, %rsi
        call puts64
        jmp 2f
1:      mov $msg_int80_0, %rsi
        call puts64
2:      pop %rsi
        pop %rax
        iretq

        SET_GATE64_ROUTINE

fail:
        mov $msg_fail, %rsi
        call puts64
        call poweroff64

        ROUTINES32
        ROUTINES64

        GDT_USER_TSS
pf_count: .long 0
        .balign 8
pf_cr2: .quad 0
pf_err: .quad 0
        .balign 16
tss:    .long 0
        .quad kstack0_top               # RSP0
        .fill 92, 1, 0

msg_entry:   .asciz "32-bit entry ok\n"
msg_long:    .asciz "long mode ok\n"
msg_arith:   .asciz "64-bit arithmetic ok\n"
msg_int80_0: .asciz "int 0x80 from cpl 0 ok\n"
msg_pf_np:   .asciz "page fault (not present) ok\n"
msg_pf_wp:   .asciz "page fault (write protect) ok\n"
msg_pf_nx:   .asciz "page fault (no-execute) ok\n"
msg_int80_3: .asciz "int 0x80 from cpl 3 on the tss stack ok\n"
msg_syscall: .asciz "syscall from cpl 3 ok\n"
msg_gp:      .asciz "gp from cpl 3 ok\n"
msg_bye:     .asciz "powering off\n"
msg_fail:    .asciz "FAIL\n"
        .balign 4096
idt:    .fill 4096, 1, 0
stack:  .fill 4096, 1, 0
stack_top:
kstack0: .fill 4096, 1, 0
kstack0_top:
user_stack: .fill 4096, 1, 0
user_stack_top:
