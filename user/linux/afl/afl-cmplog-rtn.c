/*
 * CMPLOG for comparison routines: when the program calls strcmp, strncmp, strcasecmp, memcmp and their
 * kin, the bytes of both arguments go into the cmplog map (afl++'s "rtn" entries), so afl-fuzz's
 * input-to-state stage can copy "magic-string-here" into the input at the place the program compared.
 * Instruction-level CMPLOG cannot see those compares: they happen inside libc, byte- or vector-wise.
 *
 * The routines are recognised at the program's PLT stubs, found once from its ELF file: each stub jumps
 * through a GOT slot whose relocation names the routine. The stub's first block calls afl_cmplog_rtn with
 * the routine's kind; the arguments are in RDI, RSI (and RDX for the length), the call site's return
 * address at [RSP] is the entry's key. Only calls from the program's own code go through its PLT, so the
 * libraries' internal compares stay out of the map, as with afl-cc's cmplog.
 */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/target-x86/cpu.h"
#include "core/tcg/tcg-gen.h"
#include "user/linux/afl/afl.h"
#include "user/linux/guest-mem.h"

typedef enum AflRtnKind {
    RTN_STR,    /* (a, b): NUL-terminated strings */
    RTN_STRN,   /* (a, b, n): strings of at most n bytes */
    RTN_MEM,    /* (a, b, n): n bytes */
} AflRtnKind;

static const struct {
    const char *name;
    AflRtnKind kind;
} rtn_names[] = {
    {"strcmp", RTN_STR},       {"strcasecmp", RTN_STR}, {"strcoll", RTN_STR},   {"strncmp", RTN_STRN},
    {"strncasecmp", RTN_STRN}, {"memcmp", RTN_MEM},     {"bcmp", RTN_MEM},      {"__memcmpeq", RTN_MEM},
};

#define AFL_RTN_MAX 64

static struct {
    uint64_t stub;   /* the PLT stub's guest address */
    AflRtnKind kind;
} rtn_stubs[AFL_RTN_MAX];
static int rtn_nstubs;

/* GOT slot (link-time address) -> routine kind, from the relocations of the program's imports. */
typedef struct AflRtnSlot {
    uint64_t slot;
    AflRtnKind kind;
} AflRtnSlot;

static int kind_of(const char *name)
{
    for (size_t i = 0; i < sizeof(rtn_names) / sizeof(rtn_names[0]); i++) {
        if (strcmp(name, rtn_names[i].name) == 0) {
            return (int)rtn_names[i].kind;
        }
    }
    return -1;
}

/* The GOT slots of the routines, from every SHT_RELA section that refers to the dynamic symbols. */
static int collect_slots(Elf *e, AflRtnSlot *slots, int max)
{
    int n = 0;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(e, scn)) && n < max) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || sh.sh_entsize == 0) {
            continue;
        }
        Elf_Scn *symscn = elf_getscn(e, sh.sh_link);
        GElf_Shdr symsh;
        Elf_Data *rel = elf_getdata(scn, NULL), *syms = symscn ? elf_getdata(symscn, NULL) : NULL;
        if (!rel || !syms || !gelf_getshdr(symscn, &symsh)) {
            continue;
        }
        for (size_t i = 0; i < sh.sh_size / sh.sh_entsize && n < max; i++) {
            GElf_Rela r;
            GElf_Sym sym;
            if (!gelf_getrela(rel, (int)i, &r) || !gelf_getsym(syms, (int)GELF_R_SYM(r.r_info), &sym)) {
                continue;
            }
            unsigned type = GELF_R_TYPE(r.r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) {
                continue;
            }
            const char *name = elf_strptr(e, symsh.sh_link, sym.st_name);
            int kind = name ? kind_of(name) : -1;
            if (kind >= 0) {
                slots[n++] = (AflRtnSlot){r.r_offset, (AflRtnKind)kind};
            }
        }
    }
    return n;
}

/*
 * An indirect jump through a GOT slot at p: [endbr64] [bnd] jmp *disp32(%rip). The slot's address
 * (link-time), or 0 when the bytes are something else.
 */
static uint64_t stub_slot(const uint8_t *p, size_t avail, uint64_t addr)
{
    size_t i = 0;
    if (avail >= 4 && p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) {
        i = 4;
    }
    if (i < avail && p[i] == 0xf2) {
        i++;
    }
    if (i + 6 > avail || p[i] != 0xff || p[i + 1] != 0x25) {
        return 0;
    }
    int32_t disp;
    memcpy(&disp, p + i + 2, 4);
    return addr + i + 6 + (uint64_t)(int64_t)disp;
}

/* Scan the PLT sections (.plt, .plt.sec, .plt.got) for stubs jumping through the routines' slots. */
static void collect_stubs(Elf *e, const AflRtnSlot *slots, int nslots, uint64_t bias)
{
    size_t shstrndx;
    if (elf_getshdrstrndx(e, &shstrndx) != 0) {
        return;
    }
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        const char *name;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(sh.sh_flags & SHF_EXECINSTR) ||
            !(name = elf_strptr(e, shstrndx, sh.sh_name)) || strncmp(name, ".plt", 4) != 0) {
            continue;
        }
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d || !d->d_buf) {
            continue;
        }
        /* Stubs are 8 (.plt.got without IBT) or 16 bytes, each starting on an 8-byte boundary. */
        for (size_t off = 0; off + 6 <= d->d_size && rtn_nstubs < AFL_RTN_MAX; off += 8) {
            uint64_t slot = stub_slot((const uint8_t *)d->d_buf + off, d->d_size - off, sh.sh_addr + off);
            for (int i = 0; slot && i < nslots; i++) {
                if (slots[i].slot == slot) {
                    rtn_stubs[rtn_nstubs].stub = sh.sh_addr + off + bias;
                    rtn_stubs[rtn_nstubs].kind = slots[i].kind;
                    rtn_nstubs++;
                    break;
                }
            }
        }
    }
}

int afl_cmplog_rtn_init(const LinuxElfImage *img)
{
    int fd = open(img->exe_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;   /* no routines then; instruction CMPLOG still works */
    }
    elf_version(EV_CURRENT);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    if (e) {
        AflRtnSlot slots[AFL_RTN_MAX];
        int n = collect_slots(e, slots, AFL_RTN_MAX);
        if (n) {
            collect_stubs(e, slots, n, img->load_bias);
        }
        elf_end(e);
    }
    close(fd);
    if (afl.debug) {
        fprintf(stderr, "ember-x86_64: AFL: %d comparison routine stub(s) logged for CMPLOG\n", rtn_nstubs);
    }
    return 0;
}

static int stub_index(uint64_t pc)
{
    for (int i = 0; i < rtn_nstubs; i++) {
        if (rtn_stubs[i].stub == pc) {
            return i;
        }
    }
    return -1;
}

bool afl_cmplog_rtn_wants(uint64_t pc)
{
    return rtn_nstubs && stub_index(pc) >= 0;
}

/* How many bytes from p (at most max) the guest can read. */
static size_t readable(uint64_t p, size_t max)
{
    size_t n = 0;
    while (n < max) {
        int prot = guest_mem_prot_at(p + n);
        if (prot < 0 || !(prot & PROT_READ)) {
            break;
        }
        n += 4096 - ((p + n) & 4095);
    }
    return n < max ? n : max;
}

static size_t bounded_strlen(const uint8_t *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n]) {
        n++;
    }
    return n;
}

/* At a routine's PLT stub: log its arguments under the call site's key. */
static void afl_cmplog_rtn(CPUX86State *env, uint32_t kind)
{
    uint64_t a = env->regs[R_EDI], b = env->regs[R_ESI], n = env->regs[R_EDX];
    uint64_t rsp = env->regs[R_ESP];
    if (!afl.cmp_map || readable(rsp, 8) < 8) {
        return;
    }
    size_t max = sizeof(((AflCmpFnOperands *)0)->v0);   /* 31 */
    if (kind != RTN_STR && n < max) {
        max = (size_t)n;
    }
    size_t ra = readable(a, max), rb = readable(b, max);
    if (ra == 0 || rb == 0) {
        return;
    }
    const uint8_t *pa = (const uint8_t *)(uintptr_t)a, *pb = (const uint8_t *)(uintptr_t)b;
    uint8_t la, lb, flag;
    size_t len;
    if (kind == RTN_MEM) {
        len = ra < rb ? ra : rb;   /* n bytes of each, as far as both can be read */
        la = lb = (uint8_t)len;
        flag = 0;
    } else {
        /* Strings: their lengths with the NUL, up to 30 characters (the NUL must fit in the 31 bytes). */
        size_t cap = max < 30 ? max : 30;
        la = (uint8_t)(bounded_strlen(pa, ra < cap ? ra : cap) + 1);
        lb = (uint8_t)(bounded_strlen(pb, rb < cap ? rb : cap) + 1);
        la = la > ra ? (uint8_t)ra : la;
        lb = lb > rb ? (uint8_t)rb : lb;
        len = la > lb ? la : lb;
        flag = 0x80;
    }
    if (len < 2) {
        return;   /* nothing a fuzzer could use */
    }
    /* The call site is the return address (a different mix from the instructions' keys). */
    uint64_t site = *(const uint64_t *)(uintptr_t)rsp;
    uint32_t k = afl_hash_pc(site ^ 0x5a5a5a5a5a5aULL, CMP_MAP_W - 1);
    AflCmpHeader *h = &afl.cmp_map->headers[k];
    uint32_t hits;
    if (h->type != CMP_TYPE_RTN) {
        h->type = CMP_TYPE_RTN;
        h->hits = 1;
        h->shape = (unsigned)(len - 1);
        hits = 0;
    } else {
        hits = h->hits;
        if (hits < (1u << 24) - 1) {
            h->hits = hits + 1;
        }
        if (h->shape < len - 1) {
            h->shape = (unsigned)(len - 1);
        }
    }
    AflCmpFnOperands *o = (AflCmpFnOperands *)afl.cmp_map->log[k] + (hits & (CMP_MAP_RTN_H - 1));
    memset(o, 0, sizeof(*o));
    memcpy(o->v0, pa, kind == RTN_MEM ? len : la);
    memcpy(o->v1, pb, kind == RTN_MEM ? len : lb);
    o->v0_len = (uint8_t)(flag | la);
    o->v1_len = (uint8_t)(flag | lb);
}

static const TCGHelperInfo afl_cmplog_rtn_info = {
    "afl_cmplog_rtn", (void *)afl_cmplog_rtn, 0, TCG_ARG_VOID, 2,   /* reads RDI, RSI, RDX, RSP */
    {TCG_ARG_PTR, TCG_ARG_I32},
};

void afl_cmplog_rtn_emit(TCGContext *s, uint64_t pc)
{
    int i = stub_index(pc);
    if (i < 0) {
        return;
    }
    TCGTemp args[2] = {TCG_TEMP_ENV, tcg_const(s, rtn_stubs[i].kind)};
    tcg_gen_call(s, &afl_cmplog_rtn_info, -1, 2, args);
}
