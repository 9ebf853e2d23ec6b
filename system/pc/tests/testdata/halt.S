/* The smallest multiboot (v1) ELF kernel: it halts with interrupts off. The command-line tests boot it
   with -S, so the CPUs never need to run it; with a working accelerator it just sleeps. */
    .section .text
    .align 4
    .long 0x1BADB002            /* magic */
    .long 0x00000000            /* flags: nothing asked for; the ELF headers say where to load */
    .long -(0x1BADB002)         /* checksum: magic + flags + checksum == 0 */
    .globl _start
_start:
    cli
1:  hlt
    jmp 1b
