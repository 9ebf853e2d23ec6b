/*
 * Encodings that 64-bit mode does not have, and instructions a user-mode program may not run. Each is
 * copied into an executable page (followed by RET) and called:
 *   - the BCD instructions (DAA DAS AAA AAS AAM AAD), PUSH/POP of segment registers, PUSHA/POPA, INTO,
 *     SALC, far CALL/JMP with an immediate pointer, opcode 82, BOUND-less LDS/LES space... -> #UD: SIGILL
 *     ILL_ILLOPN at the instruction;
 *   - UD0/UD1/UD2 and LOCK on an instruction that cannot be locked -> #UD;
 *   - privileged instructions (HLT, CLI, IN, RDMSR, MOV CR...) -> #GP: SIGSEGV SI_KERNEL, si_addr 0;
 *   - INT n to a vector user mode may not use -> #GP; INT3 -> SIGTRAP after the instruction (INT1 is
 *     left out: under a hypervisor the host reports it at the instruction, on bare metal after it);
 *   - an instruction longer than 15 bytes -> #GP;
 * and the 64-bit forms that took over some of those opcodes (MOVSXD at 63, REX at 40-4f) run.
 */
#include "insn_common.h"

#include <sys/mman.h>

struct enc {
    const char *name;
    int len;
    uint8_t b[16];
};

static const struct enc encs[] = {
    {"daa", 1, {0x27}},
    {"das", 1, {0x2f}},
    {"aaa", 1, {0x37}},
    {"aas", 1, {0x3f}},
    {"aam 10", 2, {0xd4, 0x0a}},
    {"aad 10", 2, {0xd5, 0x0a}},
    {"aam 0", 2, {0xd4, 0x00}},
    {"push es", 1, {0x06}},
    {"pop es", 1, {0x07}},
    {"push cs", 1, {0x0e}},
    {"push ss", 1, {0x16}},
    {"pop ss", 1, {0x17}},
    {"push ds", 1, {0x1e}},
    {"pop ds", 1, {0x1f}},
    {"pusha", 1, {0x60}},
    {"popa", 1, {0x61}},
    {"into", 1, {0xce}},
    {"salc", 1, {0xd6}},
    {"call far ptr", 7, {0x9a, 0, 0, 0, 0, 0x33, 0}},
    {"jmp far ptr", 7, {0xea, 0, 0, 0, 0, 0x33, 0}},
    {"82 /0 (add al, imm8 alias)", 3, {0x82, 0xc0, 0x01}},
    {"o16 82 /7", 4, {0x66, 0x82, 0xf8, 0x01}},
    {"ud2", 2, {0x0f, 0x0b}},
    {"ud1 eax, eax", 3, {0x0f, 0xb9, 0xc0}},
    {"ud0 eax, eax", 3, {0x0f, 0xff, 0xc0}},
    {"lock nop", 2, {0xf0, 0x90}},
    {"lock add eax, eax (register destination)", 3, {0xf0, 0x01, 0xc0}},
    {"lock mov [rsp-8], eax", 5, {0xf0, 0x89, 0x44, 0x24, 0xf8}},
    {"lock inc eax", 3, {0xf0, 0xff, 0xc0}},
    {"lea eax, eax (register operand)", 2, {0x8d, 0xc0}},
    {"mov es, ax is fine but mov cs, ax", 2, {0x8e, 0xc8}},
    {"mov sreg 6", 2, {0x8e, 0xf0}},
    {"hlt", 1, {0xf4}},
    {"cli", 1, {0xfa}},
    {"sti", 1, {0xfb}},
    {"in al, dx", 1, {0xec}},
    {"out dx, al", 1, {0xee}},
    {"in al, 0x80", 2, {0xe4, 0x80}},
    {"insb", 1, {0x6c}},
    {"outsb", 1, {0x6e}},
    {"clts", 2, {0x0f, 0x06}},
    {"invd", 2, {0x0f, 0x08}},
    {"wbinvd", 2, {0x0f, 0x09}},
    {"wrmsr", 2, {0x0f, 0x30}},
    {"rdmsr", 2, {0x0f, 0x32}},
    {"mov rax, cr0", 3, {0x0f, 0x20, 0xc0}},
    {"mov cr0, rax", 3, {0x0f, 0x22, 0xc0}},
    {"mov rax, dr7", 3, {0x0f, 0x21, 0xf8}},
    {"lgdt [rsp]", 4, {0x0f, 0x01, 0x14, 0x24}},
    {"lidt [rsp]", 4, {0x0f, 0x01, 0x1c, 0x24}},
    {"lmsw ax", 3, {0x0f, 0x01, 0xf0}},
    {"invlpg [rsp]", 4, {0x0f, 0x01, 0x3c, 0x24}},
    {"swapgs", 3, {0x0f, 0x01, 0xf8}},
    {"sysret", 2, {0x0f, 0x07}},
    {"int 0x0e", 2, {0xcd, 0x0e}},
    {"int 0x10", 2, {0xcd, 0x10}},
    {"int 0xff", 2, {0xcd, 0xff}},
    {"16 bytes: 15 prefixes + nop", 16, {0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                         0x66, 0x66, 0x66, 0x90}},
    {"15 bytes: 14 prefixes + nop", 15, {0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
                                         0x66, 0x66, 0x90}},
    {"int3", 1, {0xcc}},
    {"int 3 (cd 03)", 2, {0xcd, 0x03}},
    {"movsxd rax, ecx", 3, {0x48, 0x63, 0xc1}},
    {"movsxd eax, ecx (no REX.W)", 2, {0x63, 0xc1}},
    {"rex inc eax (40 ff c0)", 3, {0x40, 0xff, 0xc0}},
    {"nop with rex.w (48 90)", 2, {0x48, 0x90}},
    {"xchg r8, rax (49 90)", 2, {0x49, 0x90}},
    {"pause", 2, {0xf3, 0x90}},
    {"lahf", 1, {0x9f}},
    {"sahf", 1, {0x9e}},
};

static const char *code_name(int sig, int code)
{
    if (sig == SIGILL)
        return code == ILL_ILLOPN ? "ILL_ILLOPN" : code == ILL_ILLOPC ? "ILL_ILLOPC" : "ILL_other";
    if (sig == SIGSEGV)
        return code == SI_KERNEL ? "SI_KERNEL" : code == SEGV_MAPERR ? "SEGV_MAPERR" : "SEGV_other";
    if (sig == SIGTRAP)
        return code == SI_KERNEL ? "SI_KERNEL" : code == TRAP_BRKPT ? "TRAP_BRKPT" : "TRAP_other";
    return "-";
}

int main(void)
{
    insn_catch_signals();
    uint8_t *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(page != MAP_FAILED);
    for (size_t i = 0; i < sizeof encs / sizeof encs[0]; i++) {
        const struct enc *e = &encs[i];
        /* each at its own offset, so that no translation of an earlier one is reused */
        uint8_t *at = page + 32 * i;
        CHECK(at + 32 <= page + 4096);
        memcpy(at, e->len > 0 ? e->b : e->b, (size_t)e->len);
        at[e->len] = 0xc3;
        uint64_t start = (uint64_t)(uintptr_t)at, end = start + (uint64_t)e->len;
        uint64_t rax = 0x8000000012345678ull, rcx = 0xfffffffff0000001ull, r8 = 0x88, flags;
        if (INSN_TRY()) {
            asm volatile("lea -128(%%rsp), %%rsp\n\t"
                         "push %[fin]\n\tpopfq\n\t"
                         "call *%[fn]\n\t"
                         "pushfq\n\tpop %[fl]\n\t"
                         "lea 128(%%rsp), %%rsp"
                         : "+a"(rax), "+c"(rcx), "+r"(r8), [fl] "=r"(flags)
                         : [fn] "r"(at), [fin] "r"((uint64_t)0x2d7)
                         : "rdx", "rsi", "rdi", "r9", "r10", "r11", "memory", "cc");
            asm volatile("" ::: "memory");
            printf("%-42s ran: rax %llx rcx %llx r8 %llx flags %s\n", e->name, (unsigned long long)rax,
                   (unsigned long long)rcx, (unsigned long long)r8, insn_flags_str(flags, FL_ALL));
        } else {
            const char *rip = insn_fault.rip == start ? "at" : insn_fault.rip == end ? "after" : "ELSEWHERE";
            const char *addr = insn_fault.addr == start ? "insn" : insn_fault.addr == 0 ? "0" : "other";
            printf("%-42s %s %s rip %s si_addr %s\n", e->name, insn_sig_name(insn_fault.sig),
                   code_name(insn_fault.sig, insn_fault.code), rip, addr);
        }
    }
    return 0;
}
