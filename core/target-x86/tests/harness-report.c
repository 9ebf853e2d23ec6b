/*
 * Comparing a native and an emulated result, and printing a mismatch so that it can be replayed: the bytes
 * with their disassembly, the input, both outputs, then every difference.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/target-x86/tests/harness-internal.h"

static const char *const harness_reg_names[16] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

const char *harness_signal_name(int signo)
{
    switch (signo) {
    case 0: return "none";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGKILL: return "SIGKILL";
    case SIGALRM: return "SIGALRM";
    default: return "signal?";
    }
}

static const char *harness_status_name(HarnessStatus s)
{
    switch (s) {
    case HARNESS_DONE: return "done";
    case HARNESS_SIGNAL: return "signal";
    case HARNESS_TIMEOUT: return "timeout";
    default: return "harness error";
    }
}

void harness_print_code(FILE *out, const uint8_t *code, size_t len)
{
    fprintf(out, "code (%zu bytes at 0x%llx):\n", len, HARNESS_CODE_ADDR);
    size_t off = 0;
    while (off < len) {
        ZydisDisassembledInstruction insn;
        uint64_t pc = HARNESS_CODE_ADDR + off;
        size_t n = 1;
        const char *text = "(bad)";
        if (ZYAN_SUCCESS(ZydisDisassembleIntel(ZYDIS_MACHINE_MODE_LONG_64, pc, code + off, len - off, &insn))) {
            n = insn.info.length;
            text = insn.text;
        }
        char hex[64] = "";
        for (size_t i = 0; i < n && i < 15; i++) {
            snprintf(hex + 3 * i, sizeof(hex) - 3 * i, "%02x ", code[off + i]);
        }
        fprintf(out, "  +%-4zx %-45s %s\n", off, hex, text);
        off += n;
    }
    fprintf(out, "  bytes: \"");
    for (size_t i = 0; i < len; i++) {
        fprintf(out, "\\x%02x", code[i]);
    }
    fprintf(out, "\"\n");
}

static void harness_print_flags(FILE *out, uint64_t f)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        {HARNESS_CF, "CF"}, {HARNESS_PF, "PF"}, {HARNESS_AF, "AF"}, {HARNESS_ZF, "ZF"},
        {HARNESS_SF, "SF"}, {HARNESS_DF, "DF"}, {HARNESS_OF, "OF"},
    };
    fprintf(out, "0x%llx [", (unsigned long long)f);
    const char *sep = "";
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (f & names[i].bit) {
            fprintf(out, "%s%s", sep, names[i].name);
            sep = " ";
        }
    }
    fprintf(out, "]");
}

static void harness_print_ymm(FILE *out, const char *name, int i, const HarnessYmm *y)
{
    fprintf(out, "  %s%-2d %016llx_%016llx_%016llx_%016llx\n", name, i, (unsigned long long)y->q[3],
            (unsigned long long)y->q[2], (unsigned long long)y->q[1], (unsigned long long)y->q[0]);
}

static void harness_print_st(FILE *out, int i, const uint8_t *st)
{
    uint16_t se;
    uint64_t mant;
    memcpy(&mant, st, 8);
    memcpy(&se, st + 8, 2);
    fprintf(out, "  st%d %04x_%016llx\n", i, se, (unsigned long long)mant);
}

/* Registers and flags always; vector, x87 and memory lines only where they differ from `base` (or from
   zero / the reset state when base is NULL). */
void harness_print_state(FILE *out, const char *title, const HarnessState *s, const HarnessState *base)
{
    HarnessState *zero = NULL;
    if (!base) {
        zero = calloc(1, sizeof(*zero));
        if (zero) {
            harness_state_init(zero);
            memset(zero->ymm, 0, sizeof(zero->ymm));
        }
        base = zero;
    }
    fprintf(out, "%s:\n", title);
    for (int i = 0; i < 16; i++) {
        fprintf(out, "%s%-3s=%016llx", i % 4 == 0 ? "  " : " ", harness_reg_names[i], (unsigned long long)s->regs[i]);
        if (i % 4 == 3) {
            fprintf(out, "\n");
        }
    }
    fprintf(out, "  rflags=");
    harness_print_flags(out, s->rflags);
    fprintf(out, " mxcsr=0x%x fcw=0x%x fsw=0x%x ftw=0x%02x\n", s->fx.mxcsr, s->fx.fcw, s->fx.fsw, s->fx.ftw);
    if (!base) {
        return;
    }
    for (int i = 0; i < 16; i++) {
        if (memcmp(&s->ymm[i], &base->ymm[i], sizeof(s->ymm[i])) != 0) {
            harness_print_ymm(out, "ymm", i, &s->ymm[i]);
        }
    }
    for (int i = 0; i < 8; i++) {
        if (memcmp(s->fx.st[i], base->fx.st[i], 10) != 0) {
            harness_print_st(out, i, s->fx.st[i]);
        }
    }
    /* A hand-written input has a few memory lines worth showing; a random one fills the whole buffer, and
       the differences below show its bytes where it matters. */
    int changed = 0;
    for (size_t off = 0; off < HARNESS_MEM_SIZE; off += 16) {
        changed += memcmp(s->mem + off, base->mem + off, 16) != 0;
    }
    if (changed > 32) {
        fprintf(out, "  (%d memory lines differ from %s; not shown)\n", changed, zero ? "zero" : "the input");
        free(zero);
        return;
    }
    for (size_t off = 0; off < HARNESS_MEM_SIZE; off += 16) {
        if (memcmp(s->mem + off, base->mem + off, 16) == 0) {
            continue;
        }
        fprintf(out, "  mem 0x%llx:", HARNESS_MEM_ADDR + off);
        for (int i = 0; i < 16; i++) {
            fprintf(out, " %02x", s->mem[off + i]);
        }
        fprintf(out, "\n");
    }
    free(zero);
}

void harness_print_result(FILE *out, const char *title, const HarnessResult *r)
{
    fprintf(out, "%s: %s", title, harness_status_name(r->status));
    if (r->status == HARNESS_SIGNAL) {
        fprintf(out, " %s (vector %d, si_code %d) at rip 0x%llx", harness_signal_name(r->signo), r->vector,
                r->si_code, (unsigned long long)r->rip);
        if (r->signo == SIGSEGV || r->signo == SIGBUS) {
            fprintf(out, " addr 0x%llx", (unsigned long long)r->fault_addr);
        }
    } else if (r->status == HARNESS_DONE) {
        fprintf(out, " at rip 0x%llx", (unsigned long long)r->rip);
    } else if (r->status == HARNESS_ERROR) {
        fprintf(out, ": %s", r->error);
    }
    fprintf(out, "\n");
}

/* --- comparing --------------------------------------------------------------------------------------- */

/* Collects the difference lines; counts them even without an output. */
typedef struct HarnessDiff {
    FILE *out;
    int count;
} HarnessDiff;

static void harness_diff_u64(HarnessDiff *d, const char *what, uint64_t in, uint64_t n, uint64_t e)
{
    if (n == e) {
        return;
    }
    d->count++;
    if (d->out) {
        fprintf(d->out, "  %-10s native 0x%016llx  emulated 0x%016llx  (input 0x%llx)\n", what, (unsigned long long)n,
                (unsigned long long)e, (unsigned long long)in);
    }
}

/* Registers print as numbers (most significant byte first), memory in address order. */
static void harness_diff_bytes(HarnessDiff *d, const char *what, const void *in, const void *n, const void *e,
                               size_t len, bool as_number)
{
    if (memcmp(n, e, len) == 0) {
        return;
    }
    d->count++;
    if (!d->out) {
        return;
    }
    const uint8_t *src[3] = {n, e, in};
    static const char *const label[3] = {"native", "emulated", "input"};
    for (int k = 0; k < 3; k++) {
        fprintf(d->out, "  %-10s %-8s ", k == 0 ? what : "", label[k]);
        for (size_t j = 0; j < len; j++) {
            size_t i = as_number ? len - 1 - j : j;
            fprintf(d->out, as_number ? "%02x%s" : "%02x%s ", src[k][i], as_number && i && i % 8 == 0 ? "_" : "");
        }
        fprintf(d->out, "\n");
    }
}

static void harness_diff_states(HarnessDiff *d, const HarnessCase *c, const HarnessState *in, const HarnessState *n,
                                const HarnessState *e)
{
    for (int i = 0; i < 16; i++) {
        if (!(c->ignore_regs & (1u << i))) {
            harness_diff_u64(d, harness_reg_names[i], in->regs[i], n->regs[i], e->regs[i]);
        }
    }
    uint32_t fmask = c->flags_mask ? c->flags_mask : HARNESS_ALL_FLAGS;
    if ((n->rflags ^ e->rflags) & fmask) {
        d->count++;
        if (d->out) {
            fprintf(d->out, "  rflags     native ");
            harness_print_flags(d->out, n->rflags & fmask);
            fprintf(d->out, "  emulated ");
            harness_print_flags(d->out, e->rflags & fmask);
            fprintf(d->out, "  (compared 0x%x, input ", fmask);
            harness_print_flags(d->out, in->rflags);
            fprintf(d->out, ")\n");
        }
    }
    if (!c->ignore_vec) {
        size_t width = harness_host_has_avx() ? 32 : 16;
        char name[8];
        for (int i = 0; i < 16; i++) {
            snprintf(name, sizeof(name), "%s%d", width == 32 ? "ymm" : "xmm", i);
            harness_diff_bytes(d, name, in->ymm[i].b, n->ymm[i].b, e->ymm[i].b, width, true);
        }
    }
    if (!c->ignore_mxcsr) {
        harness_diff_u64(d, "mxcsr", in->fx.mxcsr, n->fx.mxcsr, e->fx.mxcsr);
    }
    if (!c->ignore_x87) {
        harness_diff_u64(d, "fcw", in->fx.fcw, n->fx.fcw, e->fx.fcw);
        harness_diff_u64(d, "fsw", in->fx.fsw, n->fx.fsw, e->fx.fsw);
        harness_diff_u64(d, "ftw", in->fx.ftw, n->fx.ftw, e->fx.ftw);
        char name[8];
        for (int i = 0; i < 8; i++) {
            snprintf(name, sizeof(name), "st%d", i);
            harness_diff_bytes(d, name, in->fx.st[i], n->fx.st[i], e->fx.st[i], 10, true);
        }
    }
    int shown = 0;
    for (size_t off = 0; off < HARNESS_MEM_SIZE; off += 16) {
        if (memcmp(n->mem + off, e->mem + off, 16) == 0) {
            continue;
        }
        char name[24];
        snprintf(name, sizeof(name), "0x%llx", HARNESS_MEM_ADDR + off);
        if (++shown > 16) {
            d->count++;
            continue;
        }
        harness_diff_bytes(d, name, in->mem + off, n->mem + off, e->mem + off, 16, false);
    }
    if (shown > 16 && d->out) {
        fprintf(d->out, "  (%d more differing memory lines)\n", shown - 16);
    }
}

bool harness_compare(const HarnessCase *c, const HarnessState *in, const HarnessResult *native,
                     const HarnessResult *emulated, FILE *report)
{
    /* A first pass without output decides; the second prints. */
    for (int pass = 0; pass < 2; pass++) {
        HarnessDiff d = {.out = pass ? report : NULL};
        if (pass) {
            fprintf(report, "differences:\n");
        }
        bool both_ran = native->status == emulated->status &&
                        (native->status == HARNESS_DONE || native->status == HARNESS_SIGNAL);
        if (native->status != emulated->status || native->status == HARNESS_ERROR) {
            d.count++;
            if (d.out) {
                fprintf(d.out, "  status     native %s  emulated %s\n", harness_status_name(native->status),
                        harness_status_name(emulated->status));
            }
        }
        if (both_ran && native->status == HARNESS_SIGNAL) {
            harness_diff_u64(&d, "signal", 0, (uint64_t)native->signo, (uint64_t)emulated->signo);
            harness_diff_u64(&d, "vector", 0, (uint64_t)(int64_t)native->vector, (uint64_t)(int64_t)emulated->vector);
            harness_diff_u64(&d, "fault addr", 0, native->fault_addr, emulated->fault_addr);
            harness_diff_u64(&d, "si_code", 0, (uint64_t)(int64_t)native->si_code, (uint64_t)(int64_t)emulated->si_code);
        }
        if (both_ran) {
            harness_diff_u64(&d, "rip", HARNESS_CODE_ADDR, native->rip, emulated->rip);
            harness_diff_states(&d, c, in, &native->state, &emulated->state);
        }
        if (d.count == 0) {
            return true;
        }
        if (!report) {
            return false;
        }
        if (!pass) {
            harness_print_code(report, c->code, c->len);
            harness_print_state(report, "input", in, NULL);
            harness_print_result(report, "native", native);
            harness_print_state(report, "native output", &native->state, in);
            harness_print_result(report, "emulated", emulated);
            harness_print_state(report, "emulated output", &emulated->state, in);
        }
    }
    return false;
}
