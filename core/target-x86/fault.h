/*
 * Which vector a general-protection-like fault of a guest memory access is. The host reports a
 * non-canonical address as #GP whatever register the address came from (its own instruction uses its own
 * registers), while the guest's CPU raises #SS when the access goes through the stack segment: a base of
 * RSP or RBP, or an implicit stack access (PUSH, POP, CALL...). Linux then sends SIGBUS, not SIGSEGV.
 */
#ifndef EMBER_X86_FAULT_H
#define EMBER_X86_FAULT_H

#include "core/target-x86/cpu.h"

/* EXCP_SS if the instruction at env->tcg.insn_pc has a stack-segment memory operand whose address (from
   env's registers) is not canonical, else EXCP_GP. */
int x86_gp_fault_vector(const CPUX86State *env);

#endif
