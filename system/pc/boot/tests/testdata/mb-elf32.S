/*
 * A minimal multiboot kernel, linked by the toolchain as a real kernel would be (ELF32, i386): the
 * header first, code at 1 MiB, data and a bss. The boot tests load it and check what landed where.
 * It is never run.
 */
    /* The header leads .text, so it lies within the file's first 8 KiB without a linker script. */
    .text
    .align 4
    .long 0x1BADB002                /* magic */
    .long 0x00000003                /* page-aligned modules, memory information */
    .long -(0x1BADB002 + 0x00000003)

    .code32
    .globl _start
_start:
    movl $0x12345678, %ecx          /* b9 78 56 34 12: the test looks for these bytes at the entry */
    hlt
    jmp _start

    .data
    .globl marker
marker:
    .long 0xfeedface

    .bss
    .globl stack
stack:
    .space 0x3000
