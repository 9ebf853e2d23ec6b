/*
 * Small guest programs for the KVM accelerator's tests, copied into guest RAM at 0x1000 (real mode: CS=0,
 * IP=0x1000) or run flat in protected or long mode. Each ends by writing to port 0xF4 (the "done" port of
 * these tests), because with the in-kernel irqchip a HLT never leaves the kernel.
 */
    .section .rodata

/* Real mode: OUT 'A' to 0x3F8, IN a byte from 0x3F8, echo it + 1 to 0x3F8, then done. */
    .globl kvm_test_real_io, kvm_test_real_io_end
    .code16
kvm_test_real_io:
    mov $0x3f8, %dx
    mov $'A', %al
    out %al, %dx
    in %dx, %al
    inc %al
    out %al, %dx
    mov $0xf4, %dx
    out %al, %dx
kvm_test_real_io_end:

/* Real mode: a 4-byte store and a 4-byte load at 0x90000 (outside RAM: MMIO), the load echoed to 0x3F8. */
    .globl kvm_test_real_mmio, kvm_test_real_mmio_end
kvm_test_real_mmio:
    mov $0x9000, %ax
    mov %ax, %ds
    movl $0x12345678, %ds:0
    movl %ds:4, %eax
    mov $0x3f8, %dx
    outl %eax, %dx
    mov $0xf4, %dx
    out %al, %dx
kvm_test_real_mmio_end:

/* Real mode: OUT to 0x500 (an ioeventfd: no exit), then done. */
    .globl kvm_test_real_ioeventfd, kvm_test_real_ioeventfd_end
kvm_test_real_ioeventfd:
    mov $0x500, %dx
    mov $1, %al
    out %al, %dx
    mov $0xf4, %dx
    out %al, %dx
kvm_test_real_ioeventfd_end:

/*
 * Real mode, interrupts: program the master 8259 (vectors 0x20..), unmask IRQ 5, point IVT entry 0x25 at a
 * handler that writes 0x25 to 0x3F8 and then signals done; tell the test we are ready (port 0x3F9), then
 * STI; HLT until the test's irqfd write raises IRQ 5.
 */
    .globl kvm_test_real_irq, kvm_test_real_irq_end
kvm_test_real_irq:
    xor %ax, %ax
    mov %ax, %ds
    movw $(0x1000 + handler - kvm_test_real_irq), 0x25 * 4
    movw $0, 0x25 * 4 + 2
    mov $0x11, %al          /* ICW1: edge, cascade, ICW4 needed */
    out %al, $0x20
    mov $0x20, %al          /* ICW2: vector base 0x20 */
    out %al, $0x21
    mov $0x04, %al          /* ICW3: slave on IRQ 2 */
    out %al, $0x21
    mov $0x01, %al          /* ICW4: 8086 mode */
    out %al, $0x21
    mov $0xdf, %al          /* OCW1: only IRQ 5 unmasked */
    out %al, $0x21
    mov $0x3f9, %dx
    out %al, %dx            /* ready */
    sti
1:  hlt
    jmp 1b
handler:
    mov $0x25, %al
    mov $0x3f8, %dx
    out %al, %dx
    mov $0xf4, %dx
    out %al, %dx
    iret
kvm_test_real_irq_end:

/*
 * Real mode, MSIs through the local APIC: the test gives ES the APIC's base (0xFEE00000). Enable the APIC
 * (SVR = 0x1FF), point IVT entries 0x41 and 0x42 at handlers, say ready (port 0x3F9), STI; HLT. Each handler
 * writes its vector to 0x3F8 and EOIs; 0x41's says ready again, 0x42's signals done.
 */
    .globl kvm_test_real_msi, kvm_test_real_msi_end
    .code16
kvm_test_real_msi:
    xor %ax, %ax
    mov %ax, %ds
    movw $(0x1000 + msi_0x41 - kvm_test_real_msi), 0x41 * 4
    movw $0, 0x41 * 4 + 2
    movw $(0x1000 + msi_0x42 - kvm_test_real_msi), 0x42 * 4
    movw $0, 0x42 * 4 + 2
    movl $0x1ff, %es:0xf0   /* spurious-interrupt vector register: APIC enabled */
    mov $0x3f9, %dx
    out %al, %dx            /* ready */
    sti
1:  hlt
    jmp 1b
msi_0x41:
    mov $0x41, %al
    mov $0x3f8, %dx
    out %al, %dx
    movl $0, %es:0xb0       /* EOI */
    mov $0x3f9, %dx
    out %al, %dx            /* ready for the next one */
    iret
msi_0x42:
    mov $0x42, %al
    mov $0x3f8, %dx
    out %al, %dx
    movl $0, %es:0xb0
    mov $0xf4, %dx
    out %al, %dx
    iret
kvm_test_real_msi_end:

/*
 * Real mode, the timer through the I/O APIC: ES is the I/O APIC (0xFEC00000), FS the local APIC. Mask the
 * 8259s, enable the local APIC, route I/O APIC pin 2 (where the MADT says ISA IRQ 0 arrives) to vector 0x30,
 * start PIT channel 0 (mode 2), STI; HLT. The handler writes 0x30 to 0x3F8, EOIs and signals done.
 */
    .globl kvm_test_real_pit_ioapic, kvm_test_real_pit_ioapic_end
    .code16
kvm_test_real_pit_ioapic:
    xor %ax, %ax
    mov %ax, %ds
    movw $(0x1000 + pit_0x30 - kvm_test_real_pit_ioapic), 0x30 * 4
    movw $0, 0x30 * 4 + 2
    mov $0xff, %al
    out %al, $0x21          /* 8259 masks: the interrupt may come only through the I/O APIC */
    out %al, $0xa1
    movl $0x1ff, %fs:0xf0   /* local APIC enabled */
    movl $0x15, %es:0x00    /* redirection entry 2, high dword: destination APIC 0 */
    movl $0, %es:0x10
    movl $0x14, %es:0x00    /* low dword: vector 0x30, fixed, physical, edge, active high, unmasked */
    movl $0x30, %es:0x10
    mov $0x34, %al          /* PIT channel 0, lobyte/hibyte, mode 2 */
    out %al, $0x43
    mov $0x00, %al
    out %al, $0x40
    mov $0x10, %al          /* count 0x1000: about 3.4 ms */
    out %al, $0x40
    sti
1:  hlt
    jmp 1b
pit_0x30:
    mov $0x30, %al
    mov $0x3f8, %dx
    out %al, %dx
    movl $0, %fs:0xb0       /* EOI */
    mov $0xf4, %dx
    out %al, %dx
    iret
kvm_test_real_pit_ioapic_end:

/* Protected mode (flat 32-bit): a virtio queue notification, AX (the queue index) to [EBX], then done. */
    .globl kvm_test_prot_notify, kvm_test_prot_notify_end
    .code32
kvm_test_prot_notify:
    movw %ax, (%ebx)
    mov $0xf4, %dx
    out %al, %dx
kvm_test_prot_notify_end:

/* Protected mode (flat 32-bit): OUT the value of EAX + ESI to 0x3F8 as a dword, then done. */
    .globl kvm_test_prot_io, kvm_test_prot_io_end
    .code32
kvm_test_prot_io:
    add %esi, %eax
    mov $0x3f8, %dx
    out %eax, %dx
    mov $0xf4, %dx
    out %al, %dx
kvm_test_prot_io_end:

/* Long mode: OUT the low dword of RSI (the Linux boot protocol's boot_params pointer), then done. */
    .globl kvm_test_long_io, kvm_test_long_io_end
    .code64
kvm_test_long_io:
    mov %esi, %eax
    mov $0x3f8, %dx
    out %eax, %dx
    mov $0xf4, %dx
    out %al, %dx
kvm_test_long_io_end:

/* Protected mode: IRET to the next instruction (the instruction PVM's emulator was seen to fail), then done. */
    .globl kvm_test_prot_iret, kvm_test_prot_iret_end
    .code32
kvm_test_prot_iret:
    pushf
    push %cs
    call 1f
    mov $0xf4, %dx
    out %al, %dx
1:  iret                    /* the frame is EFLAGS, CS and the CALL's return address */
kvm_test_prot_iret_end:
    .section .note.GNU-stack, "", @progbits
