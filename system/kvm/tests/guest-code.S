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
