/*
 * The operand forms of a mnemonic, as Zydis's encoder sees them. The encoder's own definition tables are
 * not public, so they are probed: every combination of candidate operand shapes (registers of each class,
 * memory of each size, immediates) is offered to ZydisEncoderEncodeInstruction and the accepted ones are
 * kept. Probing a mnemonic costs a few thousand encoder calls, so each mnemonic's list is built once.
 */
#include <stdlib.h>
#include <string.h>

#include "core/target-x86/fuzz/fuzz.h"

/* Memory sizes every slot may have, and the odd ones of whole-state instructions (one operand only). */
static const uint16_t fuzz_mem_sizes[] = {1, 2, 4, 8, 10, 16, 32};
static const uint16_t fuzz_mem_sizes_rare[] = {0, 6, 14, 28, 64, 94, 108, 512, 576, 832, 1024, 4096};

/* A probe register per kind; FK_STI uses ST(1) so that forms which insist on ST(0) stay FK_ST0. */
static ZydisRegister fuzz_probe_reg(FuzzKind k)
{
    switch (k) {
    case FK_GPR8: return ZYDIS_REGISTER_DL;
    case FK_GPR16: return ZYDIS_REGISTER_DX;
    case FK_GPR32: return ZYDIS_REGISTER_EDX;
    case FK_GPR64: return ZYDIS_REGISTER_RDX;
    case FK_CL: return ZYDIS_REGISTER_CL;
    case FK_XMM: return ZYDIS_REGISTER_XMM1;
    case FK_YMM: return ZYDIS_REGISTER_YMM1;
    case FK_MM: return ZYDIS_REGISTER_MM1;
    case FK_ST0: return ZYDIS_REGISTER_ST0;
    case FK_STI: return ZYDIS_REGISTER_ST1;
    default: return ZYDIS_REGISTER_NONE;
    }
}

static ZydisEncoderOperand fuzz_probe_operand(const FuzzSlot *s, int64_t imm)
{
    ZydisEncoderOperand op;
    memset(&op, 0, sizeof(op));
    if (s->kind == FK_IMM) {
        op.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
        op.imm.s = imm;
    } else if (s->kind == FK_MEM) {
        op.type = ZYDIS_OPERAND_TYPE_MEMORY;
        op.mem.base = ZYDIS_REGISTER_RBX;
        op.mem.size = s->size;
    } else {
        op.type = ZYDIS_OPERAND_TYPE_REGISTER;
        op.reg.value = fuzz_probe_reg((FuzzKind)s->kind);
    }
    return op;
}

static bool fuzz_probe_bytes(ZydisMnemonic m, const FuzzSlot *slots, int n, int64_t imm,
                             ZydisInstructionAttributes prefixes, uint8_t *buf, ZyanUSize *len)
{
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof(req));
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.allowed_encodings = ZYDIS_ENCODABLE_ENCODING_LEGACY | ZYDIS_ENCODABLE_ENCODING_VEX;
    req.mnemonic = m;
    req.prefixes = prefixes;
    req.operand_count = (ZyanU8)n;
    for (int i = 0; i < n; i++) {
        req.operands[i] = fuzz_probe_operand(&slots[i], imm);
    }
    *len = ZYDIS_MAX_INSTRUCTION_LENGTH;
    return ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, buf, len));
}

static bool fuzz_probe(ZydisMnemonic m, const FuzzSlot *slots, int n, int64_t imm, ZydisInstructionAttributes prefixes)
{
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZyanUSize len;
    return fuzz_probe_bytes(m, slots, n, imm, prefixes, buf, &len);
}

typedef struct FuzzProbe {
    ZydisMnemonic m;
    bool vex_like;              /* a V-mnemonic: 4-operand forms exist */
    FuzzForm *forms;
    uint8_t (*bytes)[ZYDIS_MAX_INSTRUCTION_LENGTH + 1];   /* each form's probe encoding (length first) */
    int count, cap;
} FuzzProbe;

/* The size in bytes of the memory operand the decoder sees in `bytes` (0 if none or unsized). */
static unsigned fuzz_decoded_mem_size(const uint8_t *bytes, size_t len)
{
    static ZydisDecoder dec;
    static bool ready;
    if (!ready) {
        ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
        ready = true;
    }
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes, len, &insn, ops))) {
        return 0;
    }
    for (int i = 0; i < insn.operand_count_visible; i++) {
        if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY && ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM) {
            return ops[i].size / 8;
        }
    }
    return 0;
}

static void fuzz_add_form(FuzzProbe *p, const FuzzSlot *slots, int n)
{
    FuzzForm f;
    memset(&f, 0, sizeof(f));
    f.count = (uint8_t)n;
    memcpy(f.slot, slots, sizeof(FuzzSlot) * (size_t)n);
    bool has_imm = false;
    for (int i = 0; i < n; i++) {
        if (f.slot[i].kind != FK_IMM) {
            continue;
        }
        /* The widest immediate this form encodes (the encoder picks the width from the value). */
        static const struct { int64_t v; uint8_t bits; } widths[] = {
            {0x7fffffffffffffffLL, 64}, {0x7fffffff, 32}, {0x7fff, 16}, {0x7f, 8},
        };
        for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
            if (fuzz_probe(p->m, slots, n, widths[w].v, 0)) {
                f.slot[i].imm_bits = widths[w].bits;
                break;
            }
        }
        if (!f.slot[i].imm_bits) {
            f.slot[i].imm_bits = 8;
        }
        has_imm = true;
    }
    int64_t imm = has_imm ? 1 : 0;
    /* The encoder ignores the requested size of some memory operands: forms that encode alike are one
       form, sized as the decoder sizes the access. */
    uint8_t key[ZYDIS_MAX_INSTRUCTION_LENGTH + 1];
    ZyanUSize klen;
    memset(key, 0, sizeof(key));
    fuzz_probe_bytes(p->m, slots, n, imm, 0, key + 1, &klen);
    key[0] = (uint8_t)klen;
    for (int i = 0; i < n; i++) {
        if (f.slot[i].kind == FK_MEM) {
            unsigned access = fuzz_decoded_mem_size(key + 1, klen);
            f.slot[i].access = (uint16_t)(access ? access : f.slot[i].size);
        }
    }
    for (int i = 0; i < p->count; i++) {
        if (memcmp(p->bytes[i], key, sizeof(key)) == 0) {
            return;
        }
    }
    f.lock_ok = fuzz_probe(p->m, slots, n, imm, ZYDIS_ATTRIB_HAS_LOCK);
    f.rep_ok = fuzz_probe(p->m, slots, n, imm, ZYDIS_ATTRIB_HAS_REP) ||
               fuzz_probe(p->m, slots, n, imm, ZYDIS_ATTRIB_HAS_REPE) ||
               fuzz_probe(p->m, slots, n, imm, ZYDIS_ATTRIB_HAS_REPNE);
    if (p->count == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 8;
        p->forms = realloc(p->forms, sizeof(FuzzForm) * (size_t)p->cap);
        p->bytes = realloc(p->bytes, sizeof(*p->bytes) * (size_t)p->cap);
    }
    memcpy(p->bytes[p->count], key, sizeof(key));
    p->forms[p->count++] = f;
}

/* Candidate shapes for slot i of n. */
static int fuzz_candidates(const FuzzProbe *p, int i, int n, const FuzzSlot *prev, FuzzSlot *out)
{
    int k = 0;
    bool have_mem = false, have_imm = false;
    for (int j = 0; j < i; j++) {
        have_mem |= prev[j].kind == FK_MEM;
        have_imm |= prev[j].kind == FK_IMM;
    }
    if (have_imm) {   /* immediates come last (ENTER, EXTRQ: two of them) */
        out[k++] = (FuzzSlot){.kind = FK_IMM};
        return k;
    }
    bool wide = n <= 3;
    for (int kind = 0; kind < FK_COUNT; kind++) {
        if (kind == FK_MEM) {
            continue;
        }
        if (kind == FK_CL && i != n - 1) {
            continue;
        }
        if (!wide && kind != FK_GPR32 && kind != FK_GPR64 && kind != FK_XMM && kind != FK_YMM && kind != FK_IMM) {
            continue;
        }
        out[k++] = (FuzzSlot){.kind = (uint8_t)kind};
    }
    if (!have_mem) {
        for (size_t s = 0; s < sizeof(fuzz_mem_sizes) / sizeof(fuzz_mem_sizes[0]); s++) {
            if (wide || fuzz_mem_sizes[s] >= 4) {
                out[k++] = (FuzzSlot){.kind = FK_MEM, .size = fuzz_mem_sizes[s]};
            }
        }
        if (n == 1) {
            for (size_t s = 0; s < sizeof(fuzz_mem_sizes_rare) / sizeof(fuzz_mem_sizes_rare[0]); s++) {
                out[k++] = (FuzzSlot){.kind = FK_MEM, .size = fuzz_mem_sizes_rare[s]};
            }
        }
    }
    (void)p;
    return k;
}

static void fuzz_enumerate(FuzzProbe *p, FuzzSlot *slots, int i, int n)
{
    if (i == n) {
        bool has_imm = false;
        for (int j = 0; j < n; j++) {
            has_imm |= slots[j].kind == FK_IMM;
        }
        if (fuzz_probe(p->m, slots, n, has_imm ? 1 : 0, 0)) {
            fuzz_add_form(p, slots, n);
        }
        return;
    }
    FuzzSlot cand[FK_COUNT + 32];
    int nc = fuzz_candidates(p, i, n, slots, cand);
    for (int c = 0; c < nc; c++) {
        slots[i] = cand[c];
        fuzz_enumerate(p, slots, i + 1, n);
    }
}

static FuzzForms *fuzz_forms_cache[ZYDIS_MNEMONIC_MAX_VALUE + 1];

const FuzzForms *fuzz_forms(ZydisMnemonic m)
{
    if ((unsigned)m > ZYDIS_MNEMONIC_MAX_VALUE) {
        m = ZYDIS_MNEMONIC_INVALID;
    }
    if (fuzz_forms_cache[m]) {
        return fuzz_forms_cache[m];
    }
    FuzzProbe p = {.m = m};
    const char *name = ZydisMnemonicGetString(m);
    p.vex_like = name && name[0] == 'v';
    FuzzSlot slots[FUZZ_MAX_SLOTS];
    int max_n = p.vex_like ? 4 : 3;
    for (int n = 0; n <= max_n; n++) {
        fuzz_enumerate(&p, slots, 0, n);
    }
    FuzzForms *f = calloc(1, sizeof(*f));
    f->mnemonic = m;
    f->count = p.count;
    f->forms = p.forms;
    free(p.bytes);
    fuzz_forms_cache[m] = f;
    return f;
}

static const char *fuzz_kind_name(FuzzKind k)
{
    static const char *const names[FK_COUNT] = {
        "r8", "r16", "r32", "r64", "cl", "xmm", "ymm", "mm", "st0", "st(i)", "imm", "mem",
    };
    return (unsigned)k < FK_COUNT ? names[k] : "?";
}

void fuzz_print_forms(FILE *out, const FuzzForms *f)
{
    fprintf(out, "%s: %d form%s\n", ZydisMnemonicGetString(f->mnemonic), f->count, f->count == 1 ? "" : "s");
    for (int i = 0; i < f->count; i++) {
        const FuzzForm *form = &f->forms[i];
        fprintf(out, "  ");
        for (int s = 0; s < form->count; s++) {
            const FuzzSlot *sl = &form->slot[s];
            fprintf(out, "%s%s", s ? ", " : "", fuzz_kind_name((FuzzKind)sl->kind));
            if (sl->kind == FK_MEM) {
                fprintf(out, "%u", sl->access * 8);
            } else if (sl->kind == FK_IMM) {
                fprintf(out, "%u", sl->imm_bits);
            }
        }
        fprintf(out, "%s%s\n", form->lock_ok ? "  [lock]" : "", form->rep_ok ? "  [rep]" : "");
    }
}
