/*
 * Self-modifying code beyond smc.c's cases, each after the code already ran (so a stale translation
 * would show):
 *   store-kinds   code that patches the next instruction of its own block (same page) with every kind of
 *                 store: MOV, XCHG, ADD, LOCK CMPXCHG, MOVNTI, BTS, INC, REP STOSB, MOVD (SSE), VMOVD (AVX);
 *   loop          a loop that increments the immediate of an instruction earlier in its own block;
 *   straddle-insn an instruction that straddles a page boundary, changed only in its second page;
 *   straddle-store one 8-byte store that changes code in two pages at once;
 *   span          a run of instructions that goes on into the next page (one block may hold both): changed
 *                 in the second page it must change what runs; with the second page unmapped, the
 *                 instructions before it run and the fault is at the first byte that is not there;
 *   syscall       the kernel writes the code (read() from a pipe into it), not a guest store;
 *   remap         the page is replaced by mmap(MAP_FIXED) or munmap+mmap with different code;
 *   noexec        the page loses PROT_EXEC after it ran: calling it again faults (SIGSEGV at the code).
 */
#include "insn_common.h"

#include <sys/mman.h>
#include <unistd.h>

typedef int (*fn0)(void);
typedef int (*fn2)(uint8_t *imm, uint32_t v);

static uint8_t *map_rwx(void *hint, int flags, size_t len)
{
    uint8_t *p = mmap(hint, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    CHECK(p != MAP_FAILED);
    return p;
}

/* b8 imm32 c3: mov $v, %eax; ret */
static void emit_ret(uint8_t *p, uint32_t v)
{
    p[0] = 0xb8;
    memcpy(p + 1, &v, 4);
    p[5] = 0xc3;
}

static void store_kinds(void)
{
    static const struct {
        const char *name;
        int len;
        uint8_t b[16]; /* the store: address of the immediate in RDI, value in ESI */
    } kinds[] = {
        {"mov", 2, {0x89, 0x37}},
        {"xchg", 2, {0x87, 0x37}},
        {"add", 2, {0x01, 0x37}},
        {"lock cmpxchg", 6, {0x31, 0xc0, 0xf0, 0x0f, 0xb1, 0x37}},
        {"movnti", 3, {0x0f, 0xc3, 0x37}},
        {"bts", 3, {0x0f, 0xab, 0x37}},
        {"inc", 2, {0xff, 0x07}},
        {"rep stosb", 9, {0x89, 0xf0, 0xb9, 0x04, 0, 0, 0, 0xf3, 0xaa}},
        {"movd (sse)", 8, {0x66, 0x0f, 0x6e, 0xc6, 0x66, 0x0f, 0x7e, 0x07}},
        {"vmovd (avx)", 8, {0xc5, 0xf9, 0x6e, 0xc6, 0xc5, 0xf9, 0x7e, 0x07}},
    };
    uint8_t *page = map_rwx(NULL, 0, 4096);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        uint8_t *code = page + 64 * k;
        memcpy(code, kinds[k].b, (size_t)kinds[k].len);
        emit_ret(code + kinds[k].len, 0);
        uint8_t *imm = code + kinds[k].len + 1;
        printf("store-kinds %-12s:", kinds[k].name);
        for (uint32_t round = 0; round < 4; round++) {
            uint32_t zero = 0;
            memcpy(imm, &zero, 4); /* reset from outside: another SMC event */
            uint32_t v = 3 + round * 9; /* BTS takes it as a bit number; REP STOSB stores AL four times */
            int r1 = ((fn2)(void *)code)(imm, v);
            memcpy(imm, &zero, 4);
            int r2 = ((fn2)(void *)code)(imm, v); /* again: from a translation made after the reset */
            printf(" %x/%x", (unsigned)r1, (unsigned)r2);
        }
        printf("\n");
    }
    munmap(page, 4096);
}

/*
 *   31 c0              xor %eax, %eax
 *   b9 05 00 00 00     mov $5, %ecx
 * L:05 01 00 00 00     add $1, %eax         <- its immediate is incremented below
 *   ff 05 f6 ff ff ff  incl L+1(%rip)       (rel32 = (L+1) - (end of this insn) = -10)
 *   ff c9              dec %ecx
 *   75 f1              jnz L                (rel8 = L - end = -15)
 *   c3                 ret
 */
static void loop_patch(void)
{
    static const uint8_t code[] = {0x31, 0xc0, 0xb9, 0x05, 0, 0, 0, 0x05, 0x01, 0, 0, 0, 0xff, 0x05,
                                   0xf6, 0xff, 0xff, 0xff, 0xff, 0xc9, 0x75, 0xf1, 0xc3};
    uint8_t *page = map_rwx(NULL, 0, 4096);
    for (int round = 0; round < 3; round++) {
        memcpy(page, code, sizeof code);
        int r = ((fn0)(void *)page)();
        uint32_t imm;
        memcpy(&imm, page + 8, 4);
        printf("loop round %d: sum %d, immediate now %u\n", round, r, imm);
    }
    munmap(page, 4096);
}

static void straddle(void)
{
    uint8_t *two = map_rwx(NULL, 0, 8192);
    uint8_t *end = two + 4096;
    /* straddle-insn: b8 at end-2, imm32 at end-1..end+2, c3 at end+3 */
    uint8_t *f = end - 2;
    emit_ret(f, 0x11223344);
    int a = ((fn0)(void *)f)();
    end[0] = 0x55; /* imm bytes 1..3 live in the second page */
    end[1] = 0x66;
    end[2] = 0x77;
    int b = ((fn0)(void *)f)();
    end[2] = 0x01;
    int c = ((fn0)(void *)f)();
    printf("straddle-insn: %x %x %x\n", (unsigned)a, (unsigned)b, (unsigned)c);

    /* straddle-store: F1 = b8 imm32 c3 at end-6 (imm at end-5..end-2), F2 = b8 imm32 c3 at end+0 */
    uint8_t *f1 = end - 6, *f2 = end;
    emit_ret(f1, 0x10000001);
    emit_ret(f2, 0x20000002);
    int r1 = ((fn0)(void *)f1)(), r2 = ((fn0)(void *)f2)();
    /* one 8-byte store at end-3: F1's imm bytes 2 and 3, F1's ret, F2's opcode and imm bytes 0..3 */
    uint8_t bytes[8] = {0xaa, 0xbb, 0xc3, 0xb8, 0x01, 0x02, 0x03, 0x04};
    uint64_t v;
    memcpy(&v, bytes, 8);
    asm volatile("movq %1, (%0)" ::"r"(end - 3), "r"(v) : "memory");
    int r3 = ((fn0)(void *)f1)(), r4 = ((fn0)(void *)f2)();
    printf("straddle-store: before %x %x after %x %x\n", (unsigned)r1, (unsigned)r2, (unsigned)r3, (unsigned)r4);
    munmap(two, 8192);
}

/* Calls code at p that falls into the unmapped page at `hole`: what the fault says (as offsets from hole). */
static void span_fault(const char *what, uint8_t *p, uint8_t *hole)
{
    if (INSN_TRY()) {
        int r = ((fn0)(void *)p)();
        printf("span: %s returned %d\n", what, r);
    } else {
        printf("span: %s: %s, eax %#x, rip hole%+ld, address hole%+ld\n", what, insn_sig_name(insn_fault.sig),
               (unsigned)insn_fault.rax, (long)(insn_fault.rip - (uint64_t)(uintptr_t)hole),
               (long)(insn_fault.addr - (uint64_t)(uintptr_t)hole));
    }
}

static void span(void)
{
    uint8_t *two = map_rwx(NULL, 0, 8192);
    uint8_t *end = two + 4096;
    /* mov $1, %eax; nop x3 | add $imm8, %eax; ret: the add and ret are on the second page */
    static const uint8_t code[] = {0xb8, 1, 0, 0, 0, 0x90, 0x90, 0x90, 0x83, 0xc0, 0x05, 0xc3};
    uint8_t *f = end - 8;
    memcpy(f, code, sizeof code);
    for (int i = 0; i < 4; i++) {
        int before = ((fn0)(void *)f)();
        end[2] = (uint8_t)(0x10 << i);   /* the add's immediate, on the second page only */
        int after = ((fn0)(void *)f)();
        printf("span: round %d: %d then %d\n", i, before, after);
    }
    /* The second page gone: mov $42, %eax; nop | (unmapped) */
    CHECK(munmap(end, 4096) == 0);
    static const uint8_t into_hole[] = {0xb8, 42, 0, 0, 0, 0x90};
    memcpy(end - sizeof into_hole, into_hole, sizeof into_hole);
    span_fault("into an unmapped page", end - sizeof into_hole, end);
    /* mov $7, %eax | mov $imm32, %eax cut by the page end after two immediate bytes */
    static const uint8_t cut[] = {0xb8, 7, 0, 0, 0, 0xb8, 0x11, 0x22};
    memcpy(end - sizeof cut, cut, sizeof cut);
    span_fault("an instruction cut by an unmapped page", end - sizeof cut, end);
    munmap(two, 4096);
}

static void syscall_write(void)
{
    uint8_t *page = map_rwx(NULL, 0, 4096);
    emit_ret(page, 1);
    int a = ((fn0)(void *)page)();
    int fds[2];
    CHECK(pipe(fds) == 0);
    uint32_t v = 0x5150;
    CHECK(write(fds[1], &v, 4) == 4);
    ssize_t n = read(fds[0], page + 1, 4); /* the kernel writes the immediate */
    int b = ((fn0)(void *)page)();
    printf("syscall: before %d, read returned %zd, after %#x\n", a, n, (unsigned)b);
    close(fds[0]);
    close(fds[1]);
    munmap(page, 4096);
}

static void remap(void)
{
    uint8_t *page = map_rwx(NULL, 0, 4096);
    emit_ret(page, 100);
    int a = ((fn0)(void *)page)();
    uint8_t *again = map_rwx(page, MAP_FIXED, 4096); /* replaces the mapping: zero-filled */
    CHECK(again == page);
    emit_ret(page, 200);
    int b = ((fn0)(void *)page)();
    CHECK(munmap(page, 4096) == 0);
    uint8_t *third = map_rwx(page, MAP_FIXED_NOREPLACE, 4096);
    CHECK(third == page);
    emit_ret(page, 300);
    int c = ((fn0)(void *)page)();
    printf("remap: %d %d %d\n", a, b, c);
    munmap(page, 4096);
}

static void noexec(void)
{
    uint8_t *page = map_rwx(NULL, 0, 4096);
    emit_ret(page, 7);
    int a = ((fn0)(void *)page)();
    CHECK(mprotect(page, 4096, PROT_READ | PROT_WRITE) == 0);
    if (INSN_TRY()) {
        int b = ((fn0)(void *)page)();
        printf("noexec: ran %d then %d after losing PROT_EXEC\n", a, b);
    } else {
        printf("noexec: ran %d, then %s %s at the code %s\n", a, insn_sig_name(insn_fault.sig),
               insn_fault.code == SEGV_ACCERR ? "SEGV_ACCERR" : insn_fault.code == SEGV_MAPERR ? "SEGV_MAPERR" : "other",
               insn_fault.addr == (uint64_t)(uintptr_t)page && insn_fault.rip == (uint64_t)(uintptr_t)page ? "yes" : "NO");
    }
    CHECK(mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0);
    int c = ((fn0)(void *)page)();
    printf("noexec: PROT_EXEC back: %d\n", c);
    munmap(page, 4096);
}

int main(int argc, char **argv)
{
    insn_catch_signals();
    const char *only = argc > 1 ? argv[1] : "";
#define CASE(name, fn)                                                                                \
    if (!*only || strcmp(only, name) == 0)                                                           \
    fn()
    CASE("store-kinds", store_kinds);
    CASE("loop", loop_patch);
    CASE("straddle", straddle);
    CASE("span", span);
    CASE("syscall", syscall_write);
    CASE("remap", remap);
    CASE("noexec", noexec);
    return 0;
}
