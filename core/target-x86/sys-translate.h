/*
 * The translator's system-mode half (sys-translate.c): blocks keyed by the physical address of their
 * first byte, code fetched through the soft-MMU, decoding in the CPU's current mode (16, 32 or 64-bit),
 * and chaining only inside the block's own page (a jump to another page looks the block up again, so a
 * changed mapping never runs stale code).
 */
#ifndef EMBER_X86_SYS_TRANSLATE_H
#define EMBER_X86_SYS_TRANSLATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/target-x86/translate.h"

typedef struct X86SysDisas {
    uint64_t cs_base;
    uint64_t page;              /* linear page of the block's first instruction */
    int irq_window;             /* 1 after STI: the block ends after one more instruction */
    uint8_t code[16];           /* the current instruction's bytes */
} X86SysDisas;

int x86_sys_translate_block(TCGCPU *cpu, TCGContext *s, TranslationBlock *tb);
void x86_sys_tb_key(TCGCPU *cpu, uint64_t *pc, uint32_t *flags);
void x86_sys_dump_code(TCGCPU *cpu, const TranslationBlock *tb, FILE *out);
bool x86_sys_jmp_chainable(const DisasContext *dc, uint64_t eip);
/* Zydis's machine mode for translation flags. */
ZydisMachineMode x86_sys_machine_mode(uint32_t flags);

#endif
