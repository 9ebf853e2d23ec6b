/*
 * The fork server, as afl-fuzz 4.x speaks it on fds 198 (control, from afl-fuzz) and 199 (status, to it):
 *
 *   hello      we write one u32 of FS_OPT_* options (map size, new CMPLOG, and shared-memory test cases when
 *              a persistent hook wants them: afl-fuzz then answers with one u32 of its own)
 *   each run   afl-fuzz writes a u32 (1: it killed the last child); we fork, write the child's pid, wait,
 *              and write its wait status; in persistent mode a child that stopped itself (SIGSTOP) is
 *              continued instead of forking a new one
 *
 * It starts when the program reaches its entry (or AFL_ENTRYPOINT), through a helper called from that
 * block, so the dynamic loader's work is done once. At that point the guest has one thread, and so does
 * ember, so fork() copies everything. Blocks a child translates are listed in shared memory and translated
 * in the server too, so every later child inherits them.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/target-x86/cpu.h"
#include "core/tcg/cpu-exec.h"
#include "core/tcg/tcg-gen.h"
#include "user/linux/afl/afl.h"
#include "user/linux/guest-mem.h"

/* Forkserver options (afl++ include/types.h). */
#define FS_OPT_ENABLED 0x80000001u
#define FS_OPT_MAPSIZE 0x40000000u
#define FS_OPT_NEWCMPLOG 0x02000000u
#define FS_OPT_SHDMEM_FUZZ 0x01000000u
#define FS_OPT_SET_MAPSIZE(x) (((x) - 1) << 1)
#define FS_OPT_MAX_MAPSIZE ((0x00fffffeu >> 1) + 1)

#define FS_CTL AFL_FORKSRV_FD
#define FS_ST (AFL_FORKSRV_FD + 1)

/*
 * Blocks a child translated, in memory shared with the server: a child may die at any moment, and a
 * record per translation must cost no system call (a socket or pipe would also fill up after a few
 * hundred small writes). Only the server's own child writes (not the guest's children).
 */
#define AFL_FEEDBACK_MAX 16384

typedef struct AflFeedback {
    uint64_t pc, to_pc;          /* a block; for a chain, from and to */
    uint32_t flags, to_flags;
    int32_t slot;                /* -1: a translation; 0/1: the chain of that goto_tb slot */
    uint32_t pad;
} AflFeedback;

typedef struct AflFeedbackRing {
    uint32_t count;
    uint32_t pad;
    AflFeedback rec[AFL_FEEDBACK_MAX];
} AflFeedbackRing;

static AflFeedbackRing *fs_ring;
static pid_t fs_ring_writer;

static bool full_io(int fd, void *buf, size_t len, bool wr)
{
    char *p = buf;
    while (len) {
        ssize_t n = wr ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static void feedback_add(AflFeedback f)
{
    if (!fs_ring || getpid() != fs_ring_writer || fs_ring->count >= AFL_FEEDBACK_MAX) {
        return;
    }
    fs_ring->rec[fs_ring->count] = f;
    __atomic_store_n(&fs_ring->count, fs_ring->count + 1, __ATOMIC_RELEASE);
}

void afl_feedback_note(uint64_t pc, uint32_t flags)
{
    feedback_add((AflFeedback){.pc = pc, .flags = flags, .slot = -1});
}

/* Chaining writes into generated code, so each child would copy those pages again: the server chains too. */
static void afl_feedback_chain(TranslationBlock *from, int slot, TranslationBlock *to)
{
    if (afl.in_child) {
        feedback_add((AflFeedback){from->pc, to->pc, from->flags, to->flags, slot, 0});
    }
}

/* Can the server read the code at pc (the child may have mapped it, or changed it)? */
static bool code_readable(uint64_t pc)
{
    int p = guest_mem_prot_at(pc);
    if (p < 0 || !(p & PROT_EXEC)) {
        return false;
    }
    /* An instruction near the page's end may continue on the next page. */
    if ((pc & 4095) > 4096 - 16) {
        int q = guest_mem_prot_at((pc | 4095) + 1);
        return q >= 0 && (q & PROT_EXEC);
    }
    return true;
}

/* Translate what the child announced (it is stopped or gone), then start the list afresh. */
static void feedback_drain(TCGCPU *cpu)
{
    uint32_t n = __atomic_load_n(&fs_ring->count, __ATOMIC_ACQUIRE), done = 0, chained = 0;
    for (uint32_t i = 0; i < n && i < AFL_FEEDBACK_MAX; i++) {
        AflFeedback f = fs_ring->rec[i];
        if (f.slot < 0) {
            TranslationBlock *tb = code_readable(f.pc) ? tcg_cpu_translate_block(cpu, f.pc, f.flags) : NULL;
            if (tb) {
                /* In the jump cache too, or every child would write it (and copy its page). */
                cpu->jmp_cache[tcg_jmp_hash(f.pc)] = tb;
                done++;
            }
        } else if (f.slot <= 1) {
            /* Both ends were announced before (a chain links blocks the child ran). */
            TranslationBlock *from = tb_lookup(f.pc, f.flags), *to = tb_lookup(f.to_pc, f.to_flags);
            if (from && to && from->backend == cpu->backend && to->backend == cpu->backend) {
                tb_chain(from, f.slot, to);
                chained++;
            }
        }
    }
    fs_ring->count = 0;
    if (afl.debug && n) {
        fprintf(stderr, "ember-x86_64: AFL: from the child: %u records; %u blocks translated, %u chains made\n", n,
                done, chained);
    }
}

static pid_t fs_child = -1;
static bool fs_child_stopped;

/* The child's side of persistent mode: the run is over; wait to be continued for the next one. */
void afl_forkserver_child_stop(void)
{
    raise(SIGSTOP);
}

/* Never returns in the server; returns in each child (and when no afl-fuzz listens on the status fd). */
static void afl_forkserver_run(CPUX86State *env)
{
    if (afl.fs_started) {
        return;
    }
    afl.fs_started = true;
    afl_resolve_range_names();
    uint32_t size = afl.map_size > FS_OPT_MAX_MAPSIZE ? FS_OPT_MAX_MAPSIZE : afl.map_size;
    uint32_t hello = FS_OPT_ENABLED | FS_OPT_MAPSIZE | FS_OPT_SET_MAPSIZE(size) | FS_OPT_NEWCMPLOG;
    if (afl.shm_fuzz) {
        hello |= FS_OPT_SHDMEM_FUZZ;
    }
    if (!full_io(FS_ST, &hello, 4, true)) {
        if (afl.debug) {
            fprintf(stderr, "ember-x86_64: AFL: no fork server listener, running once\n");
        }
        afl.forkserver = false;
        return;
    }
    if (afl.shm_fuzz) {
        /* afl-fuzz confirms shared-memory test cases (it aborts itself if it cannot). */
        uint32_t reply;
        if (!full_io(FS_CTL, &reply, 4, false) || !(reply & FS_OPT_SHDMEM_FUZZ) || afl_hook_attach_input() < 0) {
            _exit(1);
        }
    }
    TCGCPU *cpu = &env->tcg;
    fs_ring = mmap(NULL, sizeof(AflFeedbackRing), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (fs_ring == MAP_FAILED) {
        fs_ring = NULL;   /* children then start as cold as the first */
    }
    tcg_chain_observer = afl_feedback_chain;
    bool persistent = afl.persist_addr != 0;
    for (;;) {
        uint32_t was_killed;
        if (!full_io(FS_CTL, &was_killed, 4, false)) {
            if (fs_child_stopped) {
                kill(fs_child, SIGKILL);   /* a persistent child must not wait forever */
            }
            _exit(0);   /* afl-fuzz is gone: so is the server */
        }
        int status;
        if (fs_child_stopped && was_killed) {
            /* It timed out while stopped and afl-fuzz killed it: reap it and start afresh. */
            fs_child_stopped = false;
            waitpid(fs_child, &status, 0);
        }
        if (fs_child_stopped) {
            kill(fs_child, SIGCONT);
            fs_child_stopped = false;
        } else {
            fs_child = fork();
            if (fs_child < 0) {
                _exit(1);
            }
            if (fs_child == 0) {
                close(FS_CTL);
                close(FS_ST);
                fs_ring_writer = getpid();
                afl.in_child = true;
                afl_prev_loc = 0;
                return;
            }
        }
        if (!full_io(FS_ST, &fs_child, 4, true)) {
            _exit(1);
        }
        if (waitpid(fs_child, &status, persistent ? WUNTRACED : 0) < 0) {
            _exit(1);
        }
        if (WIFSTOPPED(status)) {
            fs_child_stopped = true;
        }
        if (fs_ring) {
            feedback_drain(cpu);
        }
        if (!full_io(FS_ST, &status, 4, true)) {
            _exit(1);
        }
    }
}

static const TCGHelperInfo afl_forkserver_info = {
    "afl_forkserver", (void *)afl_forkserver_run, 0, TCG_ARG_VOID, 1, {TCG_ARG_PTR},
};

void afl_forkserver_emit_start(TCGContext *s)
{
    TCGTemp env = TCG_TEMP_ENV;
    tcg_gen_call(s, &afl_forkserver_info, -1, 1, &env);
}
