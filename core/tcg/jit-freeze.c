/*
 * A compiled block as an image that can be placed anywhere in the code buffer of another run (translations
 * kept across runs: tb-persist.h), and back.
 *
 * A block's code is position-independent but for the host addresses the compiler records as relocations
 * (JitReloc): its TranslationBlock's (in the exit tail's rax, a cold block's run counter), ember's functions (helper
 * calls: ember is position-independent, so they move with its load address) and the rel32 of each exit to
 * the epilogue. Branches inside the block, its unchained goto_tb jumps (to its own stubs) and its fault
 * sites (offsets from the header) move with it. A block with any other host address in its code (a
 * constant the front end marked: TCGContext.host_pointers, a function outside ember's image, system mode's
 * soft-MMU) is not frozen.
 *
 * The image: JitImage, the relocations, then the block's bytes after its header.
 */
#define _GNU_SOURCE   /* dl_iterate_phdr */
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/jit-ctx.h"

/* The executable segment of the object holding this code (ember itself; a shared library of it in tests):
   a function there keeps its offset from the object's load address from run to run. */
static struct {
    uintptr_t base, lo, hi;
} jit_own;
static pthread_once_t jit_own_once = PTHREAD_ONCE_INIT;

static int jit_own_find(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    uintptr_t anchor = (uintptr_t)(void *)jit_freeze;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && anchor >= lo && anchor < hi) {
            jit_own.base = info->dlpi_addr;
            jit_own.lo = lo;
            jit_own.hi = hi;
            return 1;
        }
    }
    return 0;
}

static void jit_own_init(void)
{
    dl_iterate_phdr(jit_own_find, NULL);
}

typedef struct JitImage {
    uint32_t bytes;          /* JitBlock.bytes */
    uint32_t code_size;      /* TranslationBlock.code_size */
    uint32_t nrelocs;
    uint32_t sites, nsites, pinned, check_bytes, zero;
    uint32_t jmp_field[TCG_GOTO_TB_SLOTS], stub[TCG_GOTO_TB_SLOTS];   /* offsets from the header; 0: unused */
} JitImage;
_Static_assert(sizeof(JitImage) % 8 == 0, "the relocations after it stay aligned");

bool jit_freeze(const TranslationBlock *tb, GByteArray *out)
{
    const JitCtx *c = jit_compiled_last;
    const JitBlock *h = tb->code;
    if (!c || c->tb != tb || c->immovable || c->soft_mem || !h || tb->alone) {
        return false;
    }
    JitImage im = {.bytes = h->bytes, .code_size = tb->code_size, .nrelocs = (uint32_t)c->nrelocs,
                   .sites = h->sites, .nsites = h->nsites, .pinned = h->pinned, .check_bytes = h->check_bytes};
    for (int i = 0; i < TCG_GOTO_TB_SLOTS; i++) {
        im.jmp_field[i] = h->jmp_field[i];
        im.stub[i] = h->stub[i];
    }
    pthread_once(&jit_own_once, jit_own_init);
    guint start = out->len;
    g_byte_array_append(out, (const guint8 *)&im, sizeof(im));
    for (int i = 0; i < c->nrelocs; i++) {
        JitReloc r = c->relocs[i];
        if (r.kind == JIT_RELOC_FN) {
            uintptr_t fn = (uintptr_t)r.value;
            if (fn < jit_own.lo || fn >= jit_own.hi) {
                g_byte_array_set_size(out, start);
                return false;   /* another object's function: it moves on its own */
            }
            r.value = (int64_t)(fn - jit_own.base);
        }
        g_byte_array_append(out, (const guint8 *)&r, sizeof(r));
    }
    g_byte_array_append(out, (const guint8 *)h + JIT_BLOCK_HDR, h->bytes - (guint)JIT_BLOCK_HDR);
    return true;
}

/* Is every offset of the image inside its code, every field whole? */
static bool jit_image_sane(const JitImage *im, const JitReloc *relocs)
{
    if (im->bytes < JIT_BLOCK_HDR || im->bytes > JIT_MAX_BLOCK_BYTES || im->code_size > im->bytes ||
        im->check_bytes > im->bytes ||
        im->sites > im->bytes || (im->nsites && im->sites < JIT_BLOCK_HDR) ||
        (uint64_t)im->nsites * JIT_SITE_FIXED * 4 > im->bytes - im->sites) {
        return false;
    }
    for (int i = 0; i < TCG_GOTO_TB_SLOTS; i++) {
        if ((im->jmp_field[i] && (im->jmp_field[i] < JIT_BLOCK_HDR || im->jmp_field[i] > im->bytes - 4)) ||
            (im->stub[i] && (im->stub[i] < JIT_BLOCK_HDR || im->stub[i] >= im->bytes))) {
            return false;
        }
    }
    for (uint32_t i = 0; i < im->nrelocs; i++) {
        uint32_t need = relocs[i].kind == JIT_RELOC_EXIT ? 4 : 8;
        if (relocs[i].kind > JIT_RELOC_EXIT || relocs[i].at < JIT_BLOCK_HDR || relocs[i].at > im->bytes - need) {
            return false;
        }
    }
    return true;
}

int jit_thaw(TranslationBlock *tb, const void *image, size_t n)
{
    JitImage im;
    TCGCPU *cpu = tcg_current_cpu;
    if (n < sizeof(im) || !cpu || cpu->mem) {
        return -EINVAL;
    }
    memcpy(&im, image, sizeof(im));
    const JitReloc *relocs = (const JitReloc *)((const uint8_t *)image + sizeof(im));
    size_t reloc_bytes = (size_t)im.nrelocs * sizeof(JitReloc);
    if (im.nrelocs > JIT_MAX_RELOCS || im.bytes < JIT_BLOCK_HDR ||
        n != sizeof(im) + reloc_bytes + (im.bytes - JIT_BLOCK_HDR) || !jit_image_sane(&im, relocs)) {
        return -EINVAL;
    }
    if (!jit_prologue && !jit_buf_init()) {
        return -ENOMEM;
    }
    pthread_once(&jit_own_once, jit_own_init);
    bool flushed;
    uint8_t *start = jit_buf_reserve(im.bytes, &flushed);
    if (!start) {
        return -ENOMEM;
    }
    jit_pins_prepare(cpu);   /* under the buffer lock, as for a compile */
    const JitPins *pins = jit_pins_for(cpu);
    if ((im.pinned != 0) != (pins != NULL)) {
        jit_buf_commit(NULL);
        return -EINVAL;
    }
    tb->flush_gen = tb_flush_generation();
    JitBlock *h = (JitBlock *)(void *)start;
    memset(h, 0, JIT_BLOCK_HDR);
    memcpy(start + JIT_BLOCK_HDR, (const uint8_t *)relocs + reloc_bytes, im.bytes - JIT_BLOCK_HDR);
    *h = (JitBlock){.bytes = im.bytes, .sites = im.sites, .nsites = im.nsites, .pinned = im.pinned,
                    .check_bytes = im.check_bytes};
    for (int i = 0; i < TCG_GOTO_TB_SLOTS; i++) {
        h->jmp_field[i] = (uint16_t)im.jmp_field[i];   /* < im.bytes <= JIT_MAX_BLOCK_BYTES (jit_image_sane) */
        h->stub[i] = (uint16_t)im.stub[i];
    }
    for (uint32_t i = 0; i < im.nrelocs; i++) {
        JitReloc r;
        memcpy(&r, &relocs[i], sizeof(r));
        uint64_t v = (uint64_t)r.value;
        switch (r.kind) {
        case JIT_RELOC_TB:
            v += (uintptr_t)tb;
            memcpy(start + r.at, &v, 8);
            break;
        case JIT_RELOC_FN:
            v += jit_own.base;
            memcpy(start + r.at, &v, 8);
            break;
        default:
            jit_patch_rel32(start + r.at, pins ? pins->epilogue : jit_epilogue, false);
            break;
        }
    }
    tb->code = start;
    tb->entry = JIT_ENTRY(start);
    tb->code_size = im.code_size;
    jit_buf_commit(start + im.bytes);
    if (jit_dump_enabled()) {
        jit_dump_block(tb);
    }
    jit_perfmap_block(tb);
    return 0;
}
