/*
 * System-ish instructions as a user-mode (CPL 3) program sees them: SYSCALL, the software interrupts
 * INT3/INT1/INT n, the defined-undefined UD0/UD1/UD2, and the privileged instructions, which fault.
 *
 * What Linux then reports, for reference: #BP (INT3, INT 3) is SIGTRAP with RIP after the instruction;
 * #GP is SIGSEGV with RIP at the instruction (si_addr 0); #UD is SIGILL.
 */
#include "core/target-x86/translate.h"
#include "core/target-x86/cpuid.h"

/*
 * SYSCALL: leave to the front end with RIP already past the instruction.
 *
 * The hardware also saves the return address in RCX and RFLAGS in R11 before the kernel runs (and the
 * kernel returns with them so). That part is left to the front end, which plays the kernel: the
 * differential test harness stops every test with a SYSCALL and needs it to leave all registers alone.
 * A front end applies it as: regs[R_ECX] = tcg.pc; regs[R_R11] = x86_get_eflags(env).
 */
void ctl_emit_syscall(DisasContext *dc)
{
    gen_exit(dc, TCG_EXIT_SYSCALL);
    dc->end_block = true;
}

void ctl_emit_int3(DisasContext *dc)
{
    gen_exception(dc, EXCP_BP, 0);
}

/* INT1 (ICEBP, F1): #DB. Linux reports it (SIGTRAP) with RIP after the instruction on Intel hosts, as for
   a trap, and at the instruction itself on AMD ones (both measured). */
void ctl_emit_int1(DisasContext *dc)
{
    gen_exception_at(dc, EXCP_DB, 0, x86_vendor_intel() ? dc->insn.next_pc : dc->insn.pc);
}

/*
 * INT n. Linux's IDT lets CPL 3 use only vectors 3 and 4 (#BP, #OF: traps) and 0x80 (the 32-bit system
 * call gate). Every other vector raises #GP with the error code of an IDT reference: vector * 8 + 2.
 * INT 0x80 is reported the same way (#GP, error code 0x402) so the front end can choose to run it as an
 * ia32 system call.
 */
void ctl_emit_int(DisasContext *dc)
{
    unsigned n = (unsigned)(dc->insn.op[0].imm.value.u & 0xff);
    if (n == EXCP_BP || n == EXCP_OF) {
        gen_exception(dc, (int)n, 0);
    } else {
        gen_exception(dc, EXCP_GP, (int)(n * 8 + 2));
    }
}

void ctl_emit_ud(DisasContext *dc)
{
    gen_exception(dc, EXCP_UD, 0);
}

/* Privileged in user mode: HLT, port I/O (IOPL 0, no I/O bitmap), CLI/STI, descriptor tables, MSRs... */
void ctl_emit_privileged(DisasContext *dc)
{
    gen_exception(dc, EXCP_GP, 0);
}
