/*
 * String instructions at every width, with DF clear and set: MOVS/STOS/LODS bare and with REP,
 * SCAS/CMPS bare, with REPE and with REPNE; counts 0 (nothing happens, not even to the flags), 1 and
 * more; overlapping MOVS (destination one element above or below the source, in both directions);
 * the 67 prefix (ESI/EDI/ECX); and a REP that faults part way at a page boundary, both when the
 * handler gives up (RCX/RSI/RDI at the fault show the progress) and when it maps the page and returns
 * (the instruction resumes and finishes). Each case prints RSI/RDI as offsets, RCX, RAX, the flags
 * and a hash of the buffer.
 */
#include "insn_common.h" /* first: it defines _GNU_SOURCE */

#include <sys/mman.h>

struct regs {
    uint64_t rsi, rdi, rcx, rax, flags;
};

#define STR_ASM(insn)                                                                                 \
    asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\t" insn "\n\t"                      \
                 "pushfq\n\tpop %[f]\n\tcld\n\tlea 128(%%rsp), %%rsp"                                \
                 : "+S"(r->rsi), "+D"(r->rdi), "+c"(r->rcx), "+a"(r->rax), [f] "+r"(r->flags)          \
                 :                                                                                    \
                 : "memory", "cc")

/* X(identifier, instruction, compares) */
#define STR_OPS(X)                                                                                    \
    X(movsb, "movsb", 0) X(movsw, "movsw", 0) X(movsl, "movsl", 0) X(movsq, "movsq", 0)                \
    X(rmovsb, "rep movsb", 0) X(rmovsw, "rep movsw", 0) X(rmovsl, "rep movsl", 0)                     \
    X(rmovsq, "rep movsq", 0) X(stosb, "stosb", 0) X(stosw, "stosw", 0) X(stosl, "stosl", 0)          \
    X(stosq, "stosq", 0) X(rstosb, "rep stosb", 0) X(rstosw, "rep stosw", 0) X(rstosl, "rep stosl", 0) \
    X(rstosq, "rep stosq", 0) X(lodsb, "lodsb", 0) X(lodsw, "lodsw", 0) X(lodsl, "lodsl", 0)          \
    X(lodsq, "lodsq", 0) X(rlodsb, "rep lodsb", 0) X(rlodsq, "rep lodsq", 0) X(scasb, "scasb", 1)     \
    X(scasw, "scasw", 1) X(scasl, "scasl", 1) X(scasq, "scasq", 1) X(rescasb, "repe scasb", 1)        \
    X(rescasw, "repe scasw", 1) X(rescasl, "repe scasl", 1) X(rescasq, "repe scasq", 1)               \
    X(rnscasb, "repne scasb", 1) X(rnscasw, "repne scasw", 1) X(rnscasl, "repne scasl", 1)            \
    X(rnscasq, "repne scasq", 1) X(cmpsb, "cmpsb", 1) X(cmpsw, "cmpsw", 1) X(cmpsl, "cmpsl", 1)       \
    X(cmpsq, "cmpsq", 1) X(recmpsb, "repe cmpsb", 1) X(recmpsw, "repe cmpsw", 1)                      \
    X(recmpsl, "repe cmpsl", 1) X(recmpsq, "repe cmpsq", 1) X(rncmpsb, "repne cmpsb", 1)              \
    X(rncmpsw, "repne cmpsw", 1) X(rncmpsl, "repne cmpsl", 1) X(rncmpsq, "repne cmpsq", 1)

#define DEF_FN(id, insn, cmp) static void str_##id(struct regs *r) { STR_ASM(insn); }
STR_OPS(DEF_FN)

struct op {
    const char *name;
    int compares;
    void (*fn)(struct regs *);
};
#define OP_ROW(id, insn, cmp) {insn, cmp, str_##id},
static const struct op ops[] = {STR_OPS(OP_ROW)};

static uint8_t *buf;  /* 512 bytes in the low 4 GiB (for the 67-prefixed forms) */

static uint64_t hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void fill(void)
{
    for (int i = 0; i < 512; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
}

static int elem_size(const char *name)
{
    switch (name[strlen(name) - 1]) {
    case 'b': return 1;
    case 'w': return 2;
    case 'l': return 4;
    default: return 8;
    }
}

static void print_case(const char *name, const char *how, const struct regs *in, const struct regs *r)
{
    printf("%-14s %-12s rsi %+lld rdi %+lld rcx %llx rax %llx %s df%d buf %016llx\n", name, how,
           (long long)(r->rsi - in->rsi), (long long)(r->rdi - in->rdi), (unsigned long long)r->rcx,
           (unsigned long long)r->rax, insn_flags_str(r->flags, FL_ALL), (int)((r->flags >> 10) & 1),
           (unsigned long long)hash(buf, 512));
}

static void run_op(const struct op *op)
{
    static const uint64_t counts[] = {0, 1, 3, 7};
    int es = elem_size(op->name);
    for (int df = 0; df < 2; df++)
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
            for (int layout = 0; layout < 3; layout++) {
                fill();
                struct regs in = {0}, r;
                in.rcx = counts[c];
                in.flags = 0x202 | FL_CF | FL_PF | FL_OF | (df ? FL_DF : 0);
                in.rax = 0x1122334455667788ull;
                const char *how;
                uint8_t *src = buf + 200, *dst = buf + 300;
                if (op->compares) {
                    /* layout 0: equal runs; 1: first difference at element 2; 2: all different */
                    dst = buf + 400;
                    memcpy(dst - 64, src - 64, 128);
                    if (layout == 1) {
                        dst[df ? -2 * es : 2 * es] ^= 0x40;
                    } else if (layout == 2) {
                        for (int i = -64; i < 64; i++)
                            dst[i] ^= 0x81;
                    }
                    /* SCAS compares RAX with [RDI]: make RAX the element at RDI, or at element 2 */
                    memcpy(&in.rax, layout == 1 ? src + (df ? -2 * es : 2 * es) : dst, (size_t)es);
                    if (layout == 2)
                        in.rax ^= 0x8080808080808080ull;
                    how = layout == 0 ? "equal" : layout == 1 ? "differ-at-2" : "all-differ";
                } else {
                    /* layout 0: apart; 1: destination one element above the source; 2: below */
                    if (layout == 1)
                        dst = src + es;
                    else if (layout == 2)
                        dst = src - es;
                    how = layout == 0 ? "apart" : layout == 1 ? "overlap+1" : "overlap-1";
                }
                in.rsi = (uint64_t)(uintptr_t)src;
                in.rdi = (uint64_t)(uintptr_t)dst;
                r = in;
                op->fn(&r);
                print_case(op->name, how, &in, &r);
            }
}

/* The 67 prefix: ESI/EDI/ECX count and step; the upper halves of RSI/RDI/RCX are what it leaves. */
static void addr32_forms(void)
{
    struct regs in = {0}, r;
    fill();
    in.rsi = (uint64_t)(uintptr_t)(buf + 100);
    in.rdi = (uint64_t)(uintptr_t)(buf + 300);
    in.rcx = 0xabcd000000000005ull; /* only ECX = 5 counts */
    in.flags = 0x202;
    r = in;
    {
        struct regs *rp = &r;
        asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\taddr32 rep movsb\n\t"
                     "pushfq\n\tpop %[f]\n\tcld\n\tlea 128(%%rsp), %%rsp"
                     : "+S"(rp->rsi), "+D"(rp->rdi), "+c"(rp->rcx), "+a"(rp->rax), [f] "+r"(rp->flags)
                     :
                     : "memory", "cc");
    }
    printf("addr32 rep movsb: rsi %+lld rdi %+lld rcx %llx buf %016llx\n", (long long)(r.rsi - in.rsi),
           (long long)(r.rdi - in.rdi), (unsigned long long)r.rcx, (unsigned long long)hash(buf, 512));
    fill();
    r = in;
    r.flags = 0x202 | FL_DF;
    r.rax = 0x4141414141414141ull;
    {
        struct regs *rp = &r;
        asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\taddr32 rep stosl\n\t"
                     "pushfq\n\tpop %[f]\n\tcld\n\tlea 128(%%rsp), %%rsp"
                     : "+S"(rp->rsi), "+D"(rp->rdi), "+c"(rp->rcx), "+a"(rp->rax), [f] "+r"(rp->flags)
                     :
                     : "memory", "cc");
    }
    printf("addr32 std rep stosl: rdi %+lld rcx %llx buf %016llx\n", (long long)(r.rdi - in.rdi),
           (unsigned long long)r.rcx, (unsigned long long)hash(buf, 512));
}

/* A REP that runs into an inaccessible page. */
static uint8_t *fault_page;
static int fix_on_fault, faults;

static void on_segv_fix(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    faults++;
    if (!fix_on_fault || mprotect(fault_page, 4096, PROT_READ | PROT_WRITE) != 0) {
        insn_on_signal(sig, si, uc);
    }
    /* return: the instruction restarts and finishes */
}

static void rep_fault(const char *name, int df, int fix)
{
    /* three pages: [A: RW][B: none][C: RW]; DF=0 runs from the end of A into B, DF=1 from the start of C down into B */
    uint8_t *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    fault_page = m + 4096;
    CHECK(mprotect(fault_page, 4096, PROT_NONE) == 0);
    fix_on_fault = fix;
    faults = 0;
    for (int i = 0; i < 64; i++)
        buf[i] = (uint8_t)(0xa0 + i);
    struct regs in = {0}, r;
    in.rcx = 40;
    in.rax = 0x5a5a5a5a5a5a5a5aull;
    in.flags = 0x202 | (df ? FL_DF : 0);
    int es = name[strlen(name) - 1] == 'q' ? 8 : 1;
    in.rsi = (uint64_t)(uintptr_t)(df ? buf + 40 * es : buf);
    /* 20 bytes before the boundary (an odd offset for the qword form: one store straddles it) */
    in.rdi = (uint64_t)(uintptr_t)(df ? m + 2 * 4096 + 19 : m + 4096 - 20);
    r = in;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv_fix;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    CHECK(sigaction(SIGSEGV, &sa, &old) == 0);
    struct regs *rp = &r;
    if (INSN_TRY()) {
        if (strcmp(name, "rep movsb") == 0)
            asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\trep movsb\n\tpushfq\n\tpop %[f]\n\tcld\n\t"
                         "lea 128(%%rsp), %%rsp"
                         : "+S"(rp->rsi), "+D"(rp->rdi), "+c"(rp->rcx), "+a"(rp->rax), [f] "+r"(rp->flags)
                         :
                         : "memory", "cc");
        else if (strcmp(name, "rep stosq") == 0)
            asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\trep stosq\n\tpushfq\n\tpop %[f]\n\tcld\n\t"
                         "lea 128(%%rsp), %%rsp"
                         : "+S"(rp->rsi), "+D"(rp->rdi), "+c"(rp->rcx), "+a"(rp->rax), [f] "+r"(rp->flags)
                         :
                         : "memory", "cc");
        else
            asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[f]\n\tpopfq\n\trep movsq\n\tpushfq\n\tpop %[f]\n\tcld\n\t"
                         "lea 128(%%rsp), %%rsp"
                         : "+S"(rp->rsi), "+D"(rp->rdi), "+c"(rp->rcx), "+a"(rp->rax), [f] "+r"(rp->flags)
                         :
                         : "memory", "cc");
        printf("%s df%d fix%d: done after %d fault(s): rsi %+lld rdi %+lld rcx %llx mem %016llx\n", name, df, fix,
               faults, (long long)(r.rsi - in.rsi), (long long)(r.rdi - in.rdi), (unsigned long long)r.rcx,
               (unsigned long long)hash(m, 3 * 4096));
    } else {
        asm volatile("cld");
        uint64_t bound = (uint64_t)(uintptr_t)(df ? m + 2 * 4096 : m + 4096);
        printf("%s df%d fix%d: %s si_addr %+lld rsi %+lld rdi %+lld rcx %llx written %016llx\n", name, df, fix,
               insn_sig_name(insn_fault.sig), (long long)(insn_fault.addr - bound),
               (long long)(insn_fault.rsi - in.rsi), (long long)(insn_fault.rdi - in.rdi),
               (unsigned long long)insn_fault.rcx, (unsigned long long)(hash(m, 4096) ^ hash(m + 8192, 4096)));
    }
    CHECK(sigaction(SIGSEGV, &old, NULL) == 0);
    munmap(m, 3 * 4096);
}

int main(void)
{
    insn_catch_signals();
    buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    CHECK(buf != MAP_FAILED);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        run_op(&ops[i]);
    addr32_forms();
    static const char *const reps[] = {"rep movsb", "rep stosq", "rep movsq"};
    for (int i = 0; i < 3; i++)
        for (int df = 0; df < 2; df++)
            for (int fix = 0; fix < 2; fix++)
                rep_fault(reps[i], df, fix);
    return 0;
}
