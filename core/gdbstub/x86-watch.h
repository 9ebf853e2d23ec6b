/*
 * Read and access watchpoints need to know which bytes an instruction reads and writes. Instead of
 * instrumenting every load and store, a stub that single-steps while watchpoints are set decodes the
 * instruction about to run and computes its memory operands from the registers (explicit operands and the
 * implicit ones Zydis lists: string instructions, the stack of PUSH/POP/CALL/RET). Accesses made by the CPU
 * itself (descriptor tables, interrupt frames) are not seen.
 */
#ifndef EMBER_GDBSTUB_X86_WATCH_H
#define EMBER_GDBSTUB_X86_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <Zydis/Zydis.h>

#include "core/target-x86/cpu.h"

typedef struct GdbX86Access {
    uint64_t addr;          /* linear (segment base included) */
    uint64_t len;
    bool read, write;
} GdbX86Access;

#define GDB_X86_MAX_ACCESSES 6

/*
 * The memory the instruction in code[0..len) at linear address pc will access, for a CPU in `mode`:
 * their number (at most GDB_X86_MAX_ACCESSES), or 0 when it cannot be decoded. Outside 64-bit mode every
 * segment's base counts; in 64-bit mode only FS and GS have one.
 */
int gdb_x86_mem_accesses(const CPUX86State *env, ZydisMachineMode mode, const uint8_t *code, size_t len,
                         uint64_t pc, GdbX86Access *out);

/* Does [addr, addr+len) overlap [waddr, waddr+wlen)? */
static inline bool gdb_ranges_overlap(uint64_t addr, uint64_t len, uint64_t waddr, uint64_t wlen)
{
    return addr < waddr + wlen && waddr < addr + len;
}

#endif
