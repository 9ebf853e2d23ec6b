/*
 * Multiboot (v1) ELF guests for the QMP stop/cont test under KVM. TICK: print '.' on COM1, spin a while,
 * forever (stopped, the vCPU is inside KVM_RUN running guest code). Otherwise: print 'H' once, then HLT
 * with interrupts off forever (stopped, the vCPU sleeps in the kernel's HLT emulation). Either way only a
 * kick (signal + immediate_exit) gets the vCPU thread back to park it.
 */
    .section .text
    .align 4
    .long 0x1BADB002            /* magic */
    .long 0x00000000            /* flags: the ELF headers say where to load */
    .long -(0x1BADB002)         /* checksum */
    .globl _start
_start:
    mov $0x3f8, %dx
#ifdef TICK
1:  mov $'.', %al
    out %al, %dx
    mov $2000, %ecx
2:  dec %ecx
    jnz 2b
    jmp 1b
#else
    mov $'H', %al
    out %al, %dx
    cli
3:  hlt
    jmp 3b
#endif
