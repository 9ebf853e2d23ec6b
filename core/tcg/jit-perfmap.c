/*
 * -perfmap: name each compiled block in /tmp/perf-<pid>.map, the file Linux perf reads to put names on
 * samples in code that no ELF file describes. Each line is "host-start size guest-pc", so a profile of a
 * guest shows which guest code the hot host code came from instead of bare addresses.
 */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "core/tcg/jit.h"
#include "core/tcg/tb.h"

static FILE *perfmap;

static FILE *perfmap_create(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
    return fopen(path, "w");
}

bool jit_perfmap_open(void)
{
    perfmap = perfmap_create();
    return perfmap != NULL;
}

void jit_perfmap_block(const struct TranslationBlock *tb)
{
    if (perfmap) {
        /* One fprintf per line: stdio locks the stream for the call, so threads' lines do not mix. */
        fprintf(perfmap, "%" PRIxPTR " %x guest_%" PRIx64 "\n", (uintptr_t)tb->entry,
                (unsigned)(tb->code_size - JIT_BLOCK_HDR), tb->pc);
        fflush(perfmap);
    }
}

void jit_perfmap_fork_child(void)
{
    /* perf looks the child up under its own pid; blocks translated before the fork stay unnamed there. */
    if (perfmap) {
        fclose(perfmap);
        perfmap = perfmap_create();
    }
}
