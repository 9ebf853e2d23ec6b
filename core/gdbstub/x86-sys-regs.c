/*
 * gdb's view of a system-mode x86-64 CPU: the user-mode registers (x86-regs.c) without Linux's orig_rax,
 * plus what a kernel debugger wants, as QEMU's system target description offers them: fs_base, gs_base and
 * k_gs_base, and the control registers with EFER. Numbering (the order of the description below):
 * 0-56 as in user mode (GPRs, rip, eflags, segments, x87, SSE, mxcsr), 57-59 the segment bases,
 * 60-65 cr0 cr2 cr3 cr4 cr8 efer, 66-81 the upper halves of ymm0-15.
 */
#include <string.h>

#include "core/gdbstub/rsp.h"
#include "core/gdbstub/x86-regs.h"
#include "core/target-x86/sys.h"

enum {
    SYS_FS_BASE = 57, SYS_GS_BASE, SYS_K_GS_BASE, SYS_CR0, SYS_CR2, SYS_CR3, SYS_CR4, SYS_CR8, SYS_EFER,
    SYS_YMM0H, SYS_NUM_REGS = SYS_YMM0H + 16,
};

static const char sys_segments_xml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE feature SYSTEM \"gdb-target.dtd\">"
    "<feature name=\"org.gnu.gdb.i386.segments\">"
    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/>"
    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>"
    "<reg name=\"k_gs_base\" bitsize=\"64\" type=\"int\"/>"
    "</feature>";

#define SYS_REG(name, size, type) "<reg name=\"" name "\" bitsize=\"" #size "\" type=\"" type "\"/>"
static const char sys_sys_xml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE feature SYSTEM \"gdb-target.dtd\">"
    "<feature name=\"org.gnu.gdb.i386.sys\">"
    "<flags id=\"i386_cr0\" size=\"8\">"
    "<field name=\"PE\" start=\"0\" end=\"0\"/><field name=\"MP\" start=\"1\" end=\"1\"/>"
    "<field name=\"EM\" start=\"2\" end=\"2\"/><field name=\"TS\" start=\"3\" end=\"3\"/>"
    "<field name=\"ET\" start=\"4\" end=\"4\"/><field name=\"NE\" start=\"5\" end=\"5\"/>"
    "<field name=\"WP\" start=\"16\" end=\"16\"/><field name=\"AM\" start=\"18\" end=\"18\"/>"
    "<field name=\"NW\" start=\"29\" end=\"29\"/><field name=\"CD\" start=\"30\" end=\"30\"/>"
    "<field name=\"PG\" start=\"31\" end=\"31\"/></flags>"
    "<flags id=\"i386_efer\" size=\"8\">"
    "<field name=\"SCE\" start=\"0\" end=\"0\"/><field name=\"LME\" start=\"8\" end=\"8\"/>"
    "<field name=\"LMA\" start=\"10\" end=\"10\"/><field name=\"NXE\" start=\"11\" end=\"11\"/></flags>"
    SYS_REG("cr0", 64, "i386_cr0") SYS_REG("cr2", 64, "int64") SYS_REG("cr3", 64, "int64")
    SYS_REG("cr4", 64, "int64") SYS_REG("cr8", 64, "int64") SYS_REG("efer", 64, "i386_efer")
    "</feature>";

static const char sys_target_xml[] =
    "<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
    "<target><architecture>i386:x86-64</architecture>"
    "<xi:include href=\"64bit-core.xml\"/><xi:include href=\"64bit-sse.xml\"/>"
    "<xi:include href=\"64bit-segments.xml\"/><xi:include href=\"64bit-sys.xml\"/>"
    "<xi:include href=\"64bit-avx.xml\"/></target>";

const char *gdb_x86_64_sys_tdesc(void *opaque, const char *annex)
{
    if (strcmp(annex, "target.xml") == 0) {
        return sys_target_xml;
    }
    if (strcmp(annex, "64bit-segments.xml") == 0) {
        return sys_segments_xml;
    }
    if (strcmp(annex, "64bit-sys.xml") == 0) {
        return sys_sys_xml;
    }
    if (strcmp(annex, "64bit-linux.xml") == 0) {
        return NULL;
    }
    return gdb_x86_64_tdesc(opaque, annex);   /* core, sse, avx are the same documents */
}

int gdb_x86_sys_num_regs(void) { return SYS_NUM_REGS; }

/* The user-mode number of a register both numberings have, or -1. */
static int user_regno(int regno)
{
    if (regno >= 0 && regno <= GDB_X86_MXCSR) {
        return regno;
    }
    if (regno == SYS_FS_BASE) return GDB_X86_FS_BASE;
    if (regno == SYS_GS_BASE) return GDB_X86_GS_BASE;
    if (regno >= SYS_YMM0H && regno < SYS_YMM0H + 16) return GDB_X86_YMM0H + regno - SYS_YMM0H;
    return -1;
}

static uint64_t *sys_reg_ptr(X86SysState *sys, int regno)
{
    switch (regno) {
    case SYS_K_GS_BASE: return &sys->kernel_gs_base;
    case SYS_CR0: return &sys->cr0;
    case SYS_CR2: return &sys->cr2;
    case SYS_CR3: return &sys->cr3;
    case SYS_CR4: return &sys->cr4;
    case SYS_EFER: return &sys->efer;
    default: return NULL;
    }
}

int gdb_x86_sys_read_reg(CPUX86State *env, int regno, uint8_t *buf)
{
    int u = user_regno(regno);
    if (u >= 0) {
        return gdb_x86_read_reg(env, u, buf);
    }
    uint64_t v;
    if (regno == SYS_CR8) {
        v = env->sys->cb && env->sys->cb->get_tpr ? env->sys->cb->get_tpr(env->sys->owner) : 0;
    } else {
        uint64_t *p = sys_reg_ptr(env->sys, regno);
        if (!p) {
            return -1;
        }
        v = *p;
    }
    memcpy(buf, &v, 8);
    return 8;
}

int gdb_x86_sys_write_reg(CPUX86State *env, int regno, const uint8_t *buf, int len)
{
    int u = user_regno(regno);
    if (u >= 0) {
        return gdb_x86_write_reg(env, u, buf, len);
    }
    uint64_t v;
    if (len != 8) {
        return -1;
    }
    memcpy(&v, buf, 8);
    uint64_t *p = sys_reg_ptr(env->sys, regno);
    if (regno == SYS_CR8) {
        if (env->sys->cb && env->sys->cb->set_tpr) {
            env->sys->cb->set_tpr(env->sys->owner, (uint8_t)(v & 15));
        }
        return 0;
    }
    if (!p) {
        return -1;
    }
    if (*p == v) {
        return 0;   /* gdb's G packet writes every register back: nothing changes */
    }
    /* Set directly, without the checks a MOV to CR would make (those raise guest faults): the debugger
       is trusted. The mode flags and the TLB follow the new paging state. */
    *p = v;
    x86_sys_update_hflags(env);
    x86_sys_tlb_flush(env);
    return 0;
}
