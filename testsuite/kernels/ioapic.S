# Timer interrupts through the APICs (timer.S covers the PIT through the 8259s and the periodic local APIC
# timer): the local APIC timer in one-shot mode (exactly one interrupt, then the current count stays 0),
# and the 8254 PIT through the I/O APIC: ISA IRQ 0 arrives on GSI 2 as the MADT's override says,
# programmed in the redirection table to vector 0x41, with the 8259s remapped and masked. Waits use
# STI; HLT, bounded by the ACPI PM timer.
        .include "testsuite/kernels/common.inc"
        .set APIC, 0xFEE00000
        .set IOAPIC, 0xFEC00000
        .text
        MULTIBOOT_HEADER _start
_start:
        mov $stack_top, %esp
        LOAD_FLAT_GDT
        xor %edx, %edx                  # every gate here has DPL 0
        mov $0x27, %edi
        mov $spurious_handler, %esi
        call set_gate32
        mov $0x2F, %edi
        mov $spurious_handler, %esi
        call set_gate32
        mov $0x40, %edi
        mov $apic_handler, %esi
        call set_gate32
        mov $0x41, %edi
        mov $ioapic_handler, %esi
        call set_gate32
        mov $0xFF, %edi
        mov $spurious_handler, %esi
        call set_gate32
        lidt idt_ptr
        PRINT msg_start

        # the 8259s out of the way: vectors 0x20/0x28 (not the exception vectors), everything masked
        INIT_PICS
        mov $0xFF, %al
        out %al, $0x21
        out %al, $0xA1
        # PIT channel 0, mode 2, 100 Hz
        mov $0x34, %al
        out %al, $0x43
        mov $0x9C, %al
        out %al, $0x40
        mov $0x2E, %al
        out %al, $0x40
        # the local APIC: software-enabled, spurious vector 0xFF, timer divide by 1; its version register
        # names an integrated APIC (0x1X) with at least the six LVT entries we know
        movl $0x1FF, APIC + 0xF0
        movl $0xB, APIC + 0x3E0
        mov APIC + 0x30, %eax
        mov %eax, %ecx
        and $0xF0, %eax
        cmp $0x10, %eax
        FAIL_UNLESS e
        shr $16, %ecx
        cmp $5, %cl
        FAIL_UNLESS ae
        PRINT msg_version

        # one-shot: exactly one interrupt, then the current count stays at 0
        movl $0, apic_ticks
        movl $0x00040, APIC + 0x320     # LVT timer: one-shot, vector 0x40
        movl $200000, APIC + 0x380
        sti
3:      hlt
        cmpl $1, apic_ticks
        jb 3b
        cli
        cmpl $0, APIC + 0x390           # current count
        FAIL_UNLESS e
        mov $0x608, %dx                 # 20 ms by the PM timer: no second interrupt
        in %dx, %eax
        mov %eax, %ecx
        sti
4:      in %dx, %eax
        sub %ecx, %eax
        and $0xFFFFFF, %eax
        cmp $71591, %eax
        jb 4b
        cli
        cmpl $1, apic_ticks
        FAIL_UNLESS e
        PRINT msg_oneshot

        # the PIT through the I/O APIC: ISA IRQ 0 is GSI 2 (the MADT's override), vector 0x41. The APIC
        # timer runs meanwhile as a watchdog: 2 s by the PM timer without three PIT ticks is a failure.
        movl $1, IOAPIC                 # the version register: 24 redirection entries (max index 23)
        mov IOAPIC + 0x10, %eax
        shr $16, %eax
        cmp $23, %al
        FAIL_UNLESS e
        movl $0x15, IOAPIC              # entry 2, high dword: destination APIC ID 0
        movl $0, IOAPIC + 0x10
        movl $0x14, IOAPIC              # low dword: fixed, physical, edge, active high, vector 0x41
        movl $0x41, IOAPIC + 0x10
        movl $0x20040, APIC + 0x320     # watchdog: periodic, vector 0x40
        movl $1000000, APIC + 0x380
        mov $0x608, %dx
        in %dx, %eax
        mov %eax, %ecx
        sti
5:      hlt
        cmpl $3, ioapic_ticks
        jae 6f
        in %dx, %eax
        sub %ecx, %eax
        and $0xFFFFFF, %eax
        cmp $(2 * 3579545), %eax
        jb 5b
        cli
        call fail_at
6:      cli
        movl $0x14, IOAPIC
        movl $0x10041, IOAPIC + 0x10    # masked again
        movl $0x10000, APIC + 0x320
        PRINT msg_ioapic
        PRINT msg_bye
        call poweroff32

apic_handler:
        incl apic_ticks
        movl $0, APIC + 0xB0            # EOI
        iret

ioapic_handler:
        incl ioapic_ticks
        movl $0, APIC + 0xB0            # EOI (edge-triggered: no broadcast to the I/O APIC)
        iret

spurious_handler:
        iret

        SET_GATE32_ROUTINE
        ROUTINES32
        FAIL_AT_ROUTINE

        GDT_FLAT32
apic_ticks:   .long 0
ioapic_ticks: .long 0
msg_start:   .asciz "apic timers kernel\n"
msg_version: .asciz "local apic version ok\n"
msg_oneshot: .asciz "apic timer one-shot ok\n"
msg_ioapic:  .asciz "pit through the io apic (gsi 2) ok\n"
msg_bye:     .asciz "powering off\n"
        .balign 4096
idt:    .fill 2048, 1, 0
stack:  .fill 4096, 1, 0
stack_top:
