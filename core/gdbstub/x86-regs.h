/*
 * gdb's x86-64 registers (the numbering of x86-tdesc.c) read from and written to a CPUX86State, for any
 * front end's GdbTargetOps.
 */
#ifndef EMBER_GDBSTUB_X86_REGS_H
#define EMBER_GDBSTUB_X86_REGS_H

#include <stdint.h>

#include "core/target-x86/cpu.h"

/* Register regno into buf (little-endian, at most 16 bytes); its size, or -1 for an unknown number. */
int gdb_x86_read_reg(const CPUX86State *env, int regno, uint8_t *buf);
/* Write it; 0, or -1 for an unknown number or a wrong size. */
int gdb_x86_write_reg(CPUX86State *env, int regno, const uint8_t *buf, int len);

/* A system-mode CPU (env->sys set): its own description and numbering (x86-sys-regs.c). */
const char *gdb_x86_64_sys_tdesc(void *opaque, const char *annex);
int gdb_x86_sys_num_regs(void);
int gdb_x86_sys_read_reg(CPUX86State *env, int regno, uint8_t *buf);
int gdb_x86_sys_write_reg(CPUX86State *env, int regno, const uint8_t *buf, int len);

#endif
