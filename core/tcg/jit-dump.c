/*
 * Debugging aid: EMBER_JIT_DUMP=1 in the environment writes every compiled block's host code to stderr,
 * disassembled by Zydis (the "-d out_asm" of this backend), to see what the compiler selects.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/tcg/jit.h"
#include "core/tcg/tb.h"

bool jit_dump_enabled(void)
{
    static int enabled = -1;
    if (enabled < 0) {
        const char *e = getenv("EMBER_JIT_DUMP");
        enabled = e && *e && *e != '0';
    }
    return enabled;
}

void jit_dump_block(const struct TranslationBlock *tb)
{
    const uint8_t *p = JIT_ENTRY(tb->code), *end = (const uint8_t *)tb->code + tb->code_size;
    fprintf(stderr, "OUT: [guest 0x%" PRIx64 ", %u insns] %u bytes\n", tb->pc, tb->icount, tb->code_size);
    ZydisDisassembledInstruction insn;
    while (p < end &&
           ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, (ZyanU64)(uintptr_t)p, p, (ZyanUSize)(end - p), &insn))) {
        fprintf(stderr, "  %p  %s\n", (const void *)p, insn.text);
        p += insn.info.length;
    }
}
