# 4-level paging with 4 KiB pages (longmode.S uses 2 MiB ones), in 64-bit mode: translation through a
# page table, accessed and dirty bits set by the page walk, INVLPG and a CR3 reload picking up a changed
# entry, page faults with CR2 and the error code for a not-present page, a reserved bit, a write with
# CR0.WP on (and none with it off) and an instruction fetch (I/D), each handler fixing the entry so the
# access restarts; then from CPL 3: a supervisor page (U/S), a read-only page and a not-present page.
# Where CPUID advertises them: a 1 GiB page, SMEP and SMAP (otherwise a line says they were skipped).
# VA 0x40000000-0x4000FFFF is the 4 KiB window (table PT), backed by physical 0x500000-0x50FFFF.
        .include "testsuite/kernels/common.inc"
        .set PML4, 0x70000
        .set PDPT, 0x71000
        .set PD, 0x72000
        .set PD2, 0x73000
        .set PT, 0x74000
        .set WIN, 0x40000000            # the 4 KiB window's virtual base
        .set PHYS, 0x500000             # and its frames
        .set USER_CODE, WIN + 0xA000
        .set USER_STACK_TOP, WIN + 0xC000
        .text
        MULTIBOOT_HEADER _start
_start:
        mov $stack_top, %esp
        LOAD_FLAT_GDT
        PRINT msg_start
        mov $PML4, %edi
        mov $(5 * 1024), %ecx
        xor %eax, %eax
        cld
        rep stosl
        movl $(PDPT | 7), PML4
        movl $(PD | 7), PDPT
        movl $(PD2 | 7), PDPT + 8
        movl $(PT | 7), PD2
        mov $PD, %edi                   # the first GiB: 2 MiB supervisor pages
        mov $0x83, %eax
        mov $512, %ecx
1:      mov %eax, (%edi)
        add $0x200000, %eax
        add $8, %edi
        loop 1b
        # NXE | SCE, and WP
        ENTER_LONG_MODE PML4, 0x801, 0x10000, long_entry

        .code64
long_entry:
        mov $0x20, %ax
        mov %ax, %ds
        mov %ax, %es
        mov %ax, %ss
        mov $stack_top, %rsp
        mov $14, %edi
        mov $pf_handler, %esi
        xor %edx, %edx
        call set_gate
        mov $0x81, %edi
        mov $back_from_user, %esi
        mov $3, %edx
        call set_gate
        lidt idt_ptr

        # two frames with markers, mapped at WIN and WIN + 0x1000
        movl $0xAAAA0000, PHYS
        movl $0xBBBB1111, PHYS + 0x1000
        movq $(PHYS | 3), PT
        movq $(PHYS + 0x1000 | 3), PT + 8
        cmpl $0xAAAA0000, WIN
        jne fail
        cmpl $0xBBBB1111, WIN + 0x1000
        jne fail
        mov $msg_4k, %rsi
        call puts64

        # accessed and dirty: a read sets A (and A in the PDE above), a write sets D
        andq $~0x60, PT
        andq $~0x20, PD2
        invlpg WIN
        mov WIN, %eax
        testq $0x20, PT
        jz fail
        testq $0x40, PT
        jnz fail
        testq $0x20, PD2
        jz fail
        movl $0xAAAA0001, WIN
        testq $0x40, PT
        jz fail
        cmpl $0xAAAA0001, PHYS
        jne fail
        mov $msg_ad, %rsi
        call puts64

        # INVLPG: WIN now maps the second frame
        movq $(PHYS + 0x1000 | 3), PT
        invlpg WIN
        cmpl $0xBBBB1111, WIN
        jne fail
        # a CR3 reload forgets every (non-global) translation: back to the first frame
        movq $(PHYS | 3), PT
        mov %cr3, %rax
        mov %rax, %cr3
        cmpl $0xAAAA0001, WIN
        jne fail
        mov $msg_flush, %rsi
        call puts64

        # not present: the handler maps the page and the read restarts
        movl $0xCCCC2222, PHYS + 0x2010
        movq $0, PT + 16
        movq $fix_map2, pf_fix
        movl $0, pf_count
        mov WIN + 0x2010, %eax
        cmp $0xCCCC2222, %eax
        jne fail
        mov $(WIN + 0x2010), %eax
        mov $0, %edx
        call expect_one_fault
        mov $msg_np, %rsi
        call puts64

        # a reserved bit (51, above MAXPHYADDR) in a present entry: P | RSVD
        mov $0x80000008, %eax
        cpuid
        cmp $52, %al
        jae 2f
        movl $0xDDDD3333, PHYS + 0x3000
        movq $(PHYS + 0x3000 | 3), %rax
        bts $51, %rax
        mov %rax, PT + 24
        movq $fix_rsvd, pf_fix
        movl $0, pf_count
        mov WIN + 0x3000, %eax
        cmp $0xDDDD3333, %eax
        jne fail
        mov $(WIN + 0x3000), %eax
        mov $9, %edx
        call expect_one_fault
        mov $msg_rsvd, %rsi
        call puts64
2:
        # a read-only page: writable at CPL 0 with CR0.WP off, a fault (P | W) with it on
        movq $(PHYS + 0x4000 | 1), PT + 32
        mov %cr0, %rax
        btr $16, %rax
        mov %rax, %cr0
        invlpg WIN + 0x4000
        movl $0, pf_count
        movl $0x1234, WIN + 0x4000
        cmpl $0, pf_count
        jne fail
        cmpl $0x1234, PHYS + 0x4000
        jne fail
        mov %cr0, %rax
        bts $16, %rax
        mov %rax, %cr0
        invlpg WIN + 0x4000
        movq $fix_wp, pf_fix
        movl $0x5678, WIN + 0x4000
        cmpl $0x5678, PHYS + 0x4000
        jne fail
        mov $(WIN + 0x4000), %eax
        mov $3, %edx
        call expect_one_fault
        mov $msg_wp, %rsi
        call puts64

        # an instruction fetch from a not-present page: I/D (EFER.NXE is on), then the RET there runs
        movb $0xC3, PHYS + 0x5000
        movq $0, PT + 40
        movq $fix_fetch, pf_fix
        movl $0, pf_count
        mov $(WIN + 0x5000), %eax
        call *%rax
        mov $(WIN + 0x5000), %eax
        mov $0x10, %edx
        call expect_one_fault
        mov $msg_fetch, %rsi
        call puts64

        # CPL 3: the user code and stack in the window; a supervisor page, a read-only user page, a
        # readable user page, a not-present page. The handler logs and skips each faulting access.
        mov $user_code, %rsi
        mov $(PHYS + 0xA000), %rdi
        mov $(user_code_end - user_code), %ecx
        rep movsb
        movq $(PHYS + 0xA000 | 5), PT + 0xA * 8
        movq $(PHYS + 0xB000 | 7), PT + 0xB * 8
        movq $(PHYS + 0x6000 | 3), PT + 6 * 8   # supervisor
        movq $(PHYS + 0x7000 | 5), PT + 7 * 8   # user, read-only
        movl $0x7777, PHYS + 0x8000
        movq $(PHYS + 0x8000 | 5), PT + 8 * 8   # user, readable
        movq $0, PT + 9 * 8
        mov $tss, %eax
        mov %ax, gdt_tss + 2
        shr $16, %eax
        mov %al, gdt_tss + 4
        mov %ah, gdt_tss + 7
        mov $0x40, %ax
        ltr %ax
        movl $0, pf_count
        pushq $0x33
        pushq $USER_STACK_TOP
        pushq $0x2
        pushq $0x3B
        pushq $USER_CODE
        iretq
back_from_user:
        mov %eax, user_read
        mov $stack_top, %rsp
        cmpl $3, pf_count
        jne fail
        cmpq $(WIN + 0x6000), pf_log_cr2
        jne fail
        cmpq $5, pf_log_err
        jne fail
        cmpq $(WIN + 0x7000), pf_log_cr2 + 8
        jne fail
        cmpq $7, pf_log_err + 8
        jne fail
        cmpq $(WIN + 0x9000), pf_log_cr2 + 16
        jne fail
        cmpq $4, pf_log_err + 16
        jne fail
        cmpl $0x7777, user_read         # what the user read from its own page (EAX at the INT)
        jne fail
        mov $msg_user, %rsi
        call puts64

        # a 1 GiB page (CPUID 0x80000001 EDX bit 26): VA 2 GiB -> physical 0
        mov $0x80000001, %eax
        cpuid
        bt $26, %edx
        jnc 3f
        movq $0x83, PDPT + 16
        mov $0x80000000, %eax
        cmpl $0xAAAA0001, PHYS(%rax)
        jne fail
        mov $msg_1g, %rsi
        call puts64
        jmp 4f
3:      mov $msg_no_1g, %rsi
        call puts64
4:
        # SMEP (CPUID 7 EBX bit 7): a supervisor fetch from a user page faults (P | I/D)
        mov $7, %eax
        xor %ecx, %ecx
        cpuid
        mov %ebx, leaf7_ebx
        bt $7, %ebx
        jnc 5f
        movb $0xC3, PHYS + 0x8000
        mov %cr4, %rax
        bts $20, %rax
        mov %rax, %cr4
        movq $fix_smep, pf_fix
        movl $0, pf_count
        mov $(WIN + 0x8000), %eax
        call *%rax
        mov $(WIN + 0x8000), %eax
        mov $0x11, %edx
        call expect_one_fault
        mov $msg_smep, %rsi
        call puts64
        jmp 6f
5:      mov $msg_no_smep, %rsi
        call puts64
6:
        # SMAP (bit 20): a supervisor read of a user page faults (P) unless RFLAGS.AC (STAC) allows it
        btl $20, leaf7_ebx
        jnc 7f
        mov %cr4, %rax
        bts $21, %rax
        mov %rax, %cr4
        movq $fix_smap, pf_fix
        movl $0, pf_count
        mov WIN + 0x8000, %eax
        clac
        mov $(WIN + 0x8000), %eax
        mov $1, %edx
        call expect_one_fault
        stac
        mov WIN + 0x8000, %eax
        clac
        cmpl $1, pf_count
        jne fail
        mov $msg_smap, %rsi
        call puts64
        jmp 8f
7:      mov $msg_no_smap, %rsi
        call puts64
8:
        mov $msg_bye, %rsi
        call puts64
        call poweroff64

# The user program (copied to USER_CODE): each access is a 2-byte instruction the handler skips.
user_code:
        mov $(WIN + 0x6000), %rbx
        mov (%rbx), %eax                # supervisor page: #PF 5
        mov $(WIN + 0x7000), %rbx
        mov %eax, (%rbx)                # read-only: #PF 7
        mov $(WIN + 0x8000), %rbx
        mov (%rbx), %ecx                # fine
        mov $(WIN + 0x9000), %rbx
        mov (%rbx), %eax                # not present: #PF 4
        mov %ecx, %eax
        int $0x81
user_code_end:

# expect_one_fault: EAX the expected CR2, EDX the expected error code; exactly one fault logged.
expect_one_fault:
        cmpl $1, pf_count
        jne fail
        cmp pf_log_cr2, %rax
        jne fail
        cmp pf_log_err, %rdx
        jne fail
        ret

# Page fault: log CR2 and the error code. From CPL 3, skip the 2-byte access; from CPL 0, let pf_fix
# (RDI = CR2, RSI = the frame from its error code) repair the cause, and restart the access.
pf_handler:
        push %rax
        push %rdi
        push %rsi
        mov pf_count, %eax
        cmp $8, %eax
        jae 1f
        mov %cr2, %rdi
        mov %rdi, pf_log_cr2(,%rax,8)
        mov 24(%rsp), %rsi
        mov %rsi, pf_log_err(,%rax,8)
1:      incl pf_count
        testb $3, 40(%rsp)              # the frame's CS
        jz 2f
        addq $2, 32(%rsp)
        jmp 3f
2:      mov %cr2, %rdi
        lea 24(%rsp), %rsi
        call *pf_fix
        mov %cr2, %rdi
        invlpg (%rdi)
3:      pop %rsi
        pop %rdi
        pop %rax
        add $8, %rsp
        iretq

fix_map2:
        movq $(PHYS + 0x2000 | 3), PT + 16
        ret
fix_rsvd:
        btrq $51, PT + 24
        ret
fix_wp:
        orq $2, PT + 32
        ret
fix_fetch:
        movq $(PHYS + 0x5000 | 3), PT + 40
        ret
fix_smep:
        mov %cr4, %rax
        btr $20, %rax
        mov %rax, %cr4
        ret
fix_smap:
        orq $0x40000, 24(%rsi)          # RFLAGS.AC in the frame: the read is allowed on restart
        ret
fix_none:
        jmp fail

        SET_GATE64_ROUTINE

fail:
        mov $msg_fail, %rsi
        call puts64
        call poweroff64

        ROUTINES32
        ROUTINES64

        GDT_USER_TSS
pf_fix:     .quad fix_none
pf_count:   .long 0
leaf7_ebx:  .long 0
        .balign 8
pf_log_cr2: .fill 8, 8, 0
pf_log_err: .fill 8, 8, 0
        .balign 16
tss:    .long 0
        .quad kstack0_top               # RSP0
        .fill 92, 1, 0
msg_start:   .asciz "paging kernel\n"
msg_4k:      .asciz "4 KiB pages through a page table ok\n"
msg_ad:      .asciz "accessed and dirty bits ok\n"
msg_flush:   .asciz "invlpg and cr3 reload ok\n"
msg_np:      .asciz "page fault (not present 4 KiB page) ok\n"
msg_rsvd:    .asciz "page fault (reserved bit) ok\n"
msg_wp:      .asciz "cr0.wp off: no fault; on: page fault (write) ok\n"
msg_fetch:   .asciz "page fault (instruction fetch) ok\n"
msg_user:    .asciz "page faults from cpl 3 (supervisor, read-only, not present) ok\n"
msg_1g:      .asciz "1 GiB page ok\n"
msg_no_1g:   .asciz "1 GiB pages not advertised: skipped\n"
msg_smep:    .asciz "smep ok\n"
msg_no_smep: .asciz "smep not advertised: skipped\n"
msg_smap:    .asciz "smap ok\n"
msg_no_smap: .asciz "smap not advertised: skipped\n"
msg_bye:     .asciz "powering off\n"
msg_fail:    .asciz "FAIL\n"
        .balign 4
user_read:   .long 0
        .balign 4096
idt:    .fill 4096, 1, 0
stack:  .fill 4096, 1, 0
stack_top:
kstack0: .fill 4096, 1, 0
kstack0_top:
