# Timer interrupts: the 8254 PIT (channel 0, 100 Hz) through the 8259 PIC remapped to vectors 0x20-0x2F
# (the local APIC is in virtual-wire mode, as firmware leaves it), then the local APIC timer in periodic
# mode on vector 0x40. Each waits with STI; HLT for a few ticks.
        .include "testsuite/kernels/common.inc"
        .set APIC, 0xFEE00000
        .text
        MULTIBOOT_HEADER _start
_start:
        mov $stack_top, %esp
        LOAD_FLAT_GDT
        xor %edx, %edx                  # every gate here has DPL 0
        mov $0x20, %edi
        mov $pit_handler, %esi
        call set_gate32
        mov $0x27, %edi
        mov $spurious_handler, %esi
        call set_gate32
        mov $0x40, %edi
        mov $apic_handler, %esi
        call set_gate32
        mov $0xFF, %edi
        mov $spurious_handler, %esi
        call set_gate32
        lidt idt_ptr
        mov $msg_start, %esi
        call puts32

        # the 8259 pair: vectors 0x20 and 0x28, cascade on IRQ 2, only IRQ 0 unmasked
        INIT_PICS
        mov $0xFE, %al
        out %al, $0x21
        mov $0xFF, %al
        out %al, $0xA1
        # PIT channel 0, mode 2, divisor 11932 (100 Hz)
        mov $0x34, %al
        out %al, $0x43
        mov $0x9C, %al
        out %al, $0x40
        mov $0x2E, %al
        out %al, $0x40
        sti
1:      hlt
        cmpl $5, pit_ticks
        jb 1b
        cli
        mov $msg_pit, %esi
        call puts32

        # the local APIC timer: PIC masked, APIC software-enabled, periodic on vector 0x40
        mov $0xFF, %al
        out %al, $0x21
        movl $0x1FF, APIC + 0xF0        # SVR: enabled, spurious vector 0xFF
        movl $0xB, APIC + 0x3E0         # divide by 1
        movl $0x20040, APIC + 0x320     # LVT timer: periodic, vector 0x40
        movl $1000000, APIC + 0x380     # initial count
        sti
2:      hlt
        cmpl $3, apic_ticks
        jb 2b
        cli
        movl $0x10000, APIC + 0x320     # masked
        mov $msg_apic, %esi
        call puts32
        mov $msg_bye, %esi
        call puts32
        call poweroff32

pit_handler:
        push %eax
        incl pit_ticks
        mov $0x20, %al
        out %al, $0x20                  # EOI
        pop %eax
        iret

apic_handler:
        incl apic_ticks
        movl $0, APIC + 0xB0            # EOI
        iret

spurious_handler:
        iret

        SET_GATE32_ROUTINE

        ROUTINES32

        GDT_FLAT32
pit_ticks:  .long 0
apic_ticks: .long 0
msg_start: .asciz "timer kernel\n"
msg_pit:   .asciz "pit through the pic ok\n"
msg_apic:  .asciz "apic timer ok\n"
msg_bye:   .asciz "powering off\n"
        .balign 4096
idt:    .fill 2048, 1, 0
stack:  .fill 4096, 1, 0
stack_top:
