/*
 * The fork server, as afl-fuzz 4.x speaks it on fds 198 (control, from afl-fuzz) and 199 (status, to it):
 *
 *   hello      we write one u32 of FS_OPT_* options (map size, new CMPLOG, and shared-memory test cases when
 *              a persistent hook wants them: afl-fuzz then answers with one u32 of its own)
 *   each run   afl-fuzz writes a u32 (1: it killed the last child); we start a child, write its pid, wait,
 *              and write its wait status; in persistent mode a child that ended a run is told to go on
 *              with the next one instead (afl-fuzz sees it as stopped, as with afl's own SIGSTOP)
 *
 * It starts when the program reaches its entry (or AFL_ENTRYPOINT), through a helper called from that
 * block, so the dynamic loader's work is done once. At that point the guest has one thread, and so does
 * ember, so fork() copies everything. Blocks a child translates are listed in shared memory and translated
 * in the server too, so every later child inherits them. Forking the emulator, the faults of a child that
 * shares its pages, and the teardown at exit are most of a run's cost: the server keeps them out of the
 * run's time where it can (the spare child below, afl-prefault.c, the early exit status).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/target-x86/cpu.h"
#include "core/target-x86/cpuid.h"
#include "core/tcg/cpu-exec.h"
#include "core/tcg/tcg-gen.h"
#include "user/linux/afl/afl.h"
#include "user/linux/guest-mem.h"
#include "user/linux/syscall.h"

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

/* Translate what the child announced (it is stopped or gone), then start the list afresh. True when
   something was translated. */
static bool feedback_drain(TCGCPU *cpu)
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
    return done > 0;
}

static pid_t fs_child = -1;
static bool fs_child_stopped;

/* AFL_DEBUG: where a run's time goes, averaged over every 1000 runs (a fork; a run: go to status). */
static struct {
    uint32_t runs;
    uint64_t fork_ns, child_ns;
} fs_stats;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void stats_note(uint64_t t1, uint64_t t2)
{
    fs_stats.child_ns += t2 - t1;
    if (++fs_stats.runs == 1000) {
        fprintf(stderr, "ember-x86_64: AFL: per run: fork %.1f us, run %.1f us\n",
                fs_stats.fork_ns / 1e3 / fs_stats.runs, fs_stats.child_ns / 1e3 / fs_stats.runs);
        memset(&fs_stats, 0, sizeof(fs_stats));
    }
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23   /* Linux 5.14 */
#endif

/*
 * Children are forked ahead of time: while afl-fuzz looks at one run's map and writes the next test case,
 * the server already forks the next child (the spare), which waits on its wake pipe until its run starts.
 * Forking the whole emulator is most of a run's cost; done in advance it overlaps with afl-fuzz's own work.
 * The spare also faults in the coverage map before it waits (fork does not map shared memory into the
 * child: each page would fault at its first edge otherwise).
 *
 * Each child has two pipes to the server: wake (server -> child: start, or in persistent mode go on with the
 * next run) and done (child -> server: a persistent run is over and the child waits on wake). A pipe round
 * trip costs a fraction of stopping and continuing the child with SIGSTOP/SIGCONT, which is what the end
 * of a persistent run used to cost; afl-fuzz still sees a stopped child's status and the same pid.
 */
typedef struct AflChildPipes {
    int wake_w, done_r;   /* the server's ends; -1 when closed */
    int pidfd;            /* the child's pidfd (Linux 5.3), -1 without */
} AflChildPipes;

#define NO_PIPES ((AflChildPipes){-1, -1, -1})

static pid_t fs_spare = -1;
static AflChildPipes fs_spare_pipes = NO_PIPES, fs_child_pipes = NO_PIPES;
static pid_t fs_reap = -1;                   /* a child that reported its exit: reaped after the status */
static int fs_wake_r = -1, fs_done_w = -1;   /* in a child: its ends */
static pid_t fs_self = -1;                   /* in a child: its pid (not its guest's children's) */
static uint32_t fs_forks;                    /* children forked; in a child: its number */

static void pipes_close(AflChildPipes *p)
{
    if (p->wake_w >= 0) {
        close(p->wake_w);
    }
    if (p->done_r >= 0) {
        close(p->done_r);
    }
    if (p->pidfd >= 0) {
        close(p->pidfd);
    }
    *p = NO_PIPES;
}

/* In a child: wait for the server's go. False when the server is gone. */
static bool child_wait_go(void)
{
    char go;
    ssize_t n;
    do {
        n = read(fs_wake_r, &go, 1);
    } while (n < 0 && errno == EINTR);
    return n == 1;
}

/* The child's side of persistent mode: the run is over; wait for the server's go for the next one. */
void afl_forkserver_child_stop(void)
{
    if (fs_done_w < 0 || getpid() != fs_self) {
        raise(SIGSTOP);   /* not the fork server's child (or no pipes): as afl's own runtime does */
        return;
    }
    uint32_t stopped = 0x137f;   /* what afl-fuzz is told: W_STOPCODE(SIGSTOP) */
    if (!full_io(fs_done_w, &stopped, 4, true) || !child_wait_go()) {
        _exit(0);   /* the server is gone */
    }
}

/*
 * A child's exit_group: tell the server the exit status before exiting. The kernel's teardown of the
 * emulator's memory (a hundred mappings: the larger part of an exit's cost) then overlaps with afl-fuzz's
 * work on the run instead of delaying its status. Deaths by signal are still seen by waitpid.
 */
#ifndef CLONE_THREAD
#define CLONE_THREAD 0x00010000   /* <sched.h> without _GNU_SOURCE */
#endif

static LinuxSyscallFn fs_exit_group, fs_clone;
static bool fs_threaded;   /* the child made a thread: its status waits until every thread is gone */

static long afl_exit_group(CPUX86State *env, const long a[6])
{
    /* With other threads still running (and writing the map) until exit_group stops them, no early word. */
    if (fs_done_w >= 0 && !__atomic_load_n(&fs_threaded, __ATOMIC_ACQUIRE) && getpid() == fs_self) {
        uint32_t status = ((uint32_t)a[0] & 0xff) << 8;   /* W_EXITCODE(code, 0) */
        full_io(fs_done_w, &status, 4, true);
        afl_prefault_learn(fs_forks);   /* the run is reported: this is no longer on its time */
    }
    return fs_exit_group(env, a);
}

static long afl_clone(CPUX86State *env, const long a[6])
{
    if (a[0] & CLONE_THREAD) {
        __atomic_store_n(&fs_threaded, true, __ATOMIC_RELEASE);
    }
    return fs_clone(env, a);
}

/* Fork the spare. True in the child once its run starts; false in the server. */
static bool spare_fork(CPUX86State *env)
{
    int wake[2], done[2];
    if (pipe(wake) < 0) {
        return false;
    }
    if (pipe(done) < 0) {
        close(wake[0]);
        close(wake[1]);
        return false;
    }
    for (int i = 0; i < 2; i++) {   /* the guest's execve must not take them along */
        fcntl(wake[i], F_SETFD, FD_CLOEXEC);
        fcntl(done[i], F_SETFD, FD_CLOEXEC);
    }
    uint64_t t0 = afl.debug ? now_ns() : 0;
    fs_forks++;
    pid_t p = fork();
    if (p != 0) {
        close(wake[0]);
        close(done[1]);
        if (p < 0) {   /* the next run tries again */
            close(wake[1]);
            close(done[0]);
            return false;
        }
        fs_spare = p;
        fs_spare_pipes = (AflChildPipes){wake[1], done[0], (int)syscall(SYS_pidfd_open, p, 0)};
        if (afl.debug) {
            fs_stats.fork_ns += now_ns() - t0;
        }
        return false;
    }
    close(FS_CTL);
    close(FS_ST);
    close(wake[1]);
    close(done[0]);
    pipes_close(&fs_child_pipes);   /* a stopped persistent child's, should there be one */
    fs_wake_r = wake[0];
    fs_done_w = done[1];
    afl.in_child = true;
    afl_prev_loc_reset(env);
    if (afl.map) {
        madvise(afl.map, afl.map_size, MADV_POPULATE_WRITE);
    }
    afl_prefault_touch();
    if (afl_prefault_learner(fs_forks)) {
        afl_prefault_mark();
    }
    if (!child_wait_go()) {
        _exit(0);   /* the server is gone */
    }
    fs_self = fs_ring_writer = getpid();
    return true;
}

/*
 * The IR builder's op array is scratch, written afresh for every block (a third of a megabyte): its pages
 * go back to the kernel before children are forked, so fork need not copy them, nor each child's exit
 * free them. Should a child translate, they come back zero-filled, as the context started.
 */
static void scratch_release(TCGCPU *cpu)
{
    TCGContext *s = cpu->ctx;
    if (!s) {
        return;
    }
    uintptr_t a = ((uintptr_t)&s->ops[0] + 4095) & ~(uintptr_t)4095;
    uintptr_t b = (uintptr_t)&s->ops[TCG_MAX_OPS] & ~(uintptr_t)4095;
    if (b > a) {
        madvise((void *)a, b - a, MADV_DONTNEED);
    }
}

/* afl-fuzz is gone: so is the server, and its children. */
static void server_exit(void)
{
    if (fs_spare > 0) {
        kill(fs_spare, SIGKILL);
    }
    if (fs_child_stopped) {
        kill(fs_child, SIGKILL);   /* a persistent child must not wait forever */
    }
    _exit(0);
}

/*
 * Wait for the running child: the status it reported (the end of a persistent run, told to afl-fuzz as a
 * stop, or its exit), or its death (waitpid). False when waiting failed.
 */
static bool child_wait(int *status, bool persistent)
{
    AflChildPipes *c = &fs_child_pipes;
    /* With a pidfd, a death no report announces is seen even if the guest's own children keep the pipe. */
    bool reports = c->done_r >= 0 && (c->pidfd >= 0 || persistent);
    while (reports) {
        struct pollfd fds[2] = {{c->done_r, POLLIN, 0}, {c->pidfd, POLLIN, 0}};
        if (poll(fds, c->pidfd >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            break;
        }
        uint32_t reported;
        if ((fds[0].revents & (POLLIN | POLLHUP)) && full_io(c->done_r, &reported, 4, false)) {
            *status = (int)reported;
            if (!WIFSTOPPED(*status)) {
                fs_reap = fs_child;   /* it is exiting: reaped after its status is out */
                pipes_close(c);
            }
            return true;
        }
        break;   /* end of file or the pidfd: it died without a word */
    }
    if (waitpid(fs_child, status, persistent ? WUNTRACED : 0) < 0) {
        return false;
    }
    if (!WIFSTOPPED(*status)) {
        pipes_close(c);
    }
    return true;
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
    scratch_release(cpu);
    afl_prefault_snapshot();
    /* The host's cache leaves, asked once here for all children: a static glibc asks in each one's start-up,
       and the host's CPUID is slow in a virtual machine (cpuid.c remembers the answers). */
    uint32_t leaf_out[4];
    x86_cpuid(env->model, 2, 0, leaf_out);
    x86_cpuid(env->model, 0x80000005u, 0, leaf_out);
    x86_cpuid(env->model, 0x80000006u, 0, leaf_out);
    for (uint32_t sub = 0; sub < 8; sub++) {
        x86_cpuid(env->model, 4, sub, leaf_out);
    }
    fs_exit_group = linux_syscall_handler(SYS_exit_group);
    fs_clone = linux_syscall_handler(SYS_clone);
    if (fs_exit_group && fs_clone) {
        linux_syscall_register(SYS_exit_group, afl_exit_group);
        linux_syscall_register(SYS_clone, afl_clone);
    }
    bool persistent = afl.persist_addr != 0;
    for (;;) {
        /* The next child, unless a stopped persistent one goes on. */
        if (fs_spare < 0 && !fs_child_stopped && spare_fork(env)) {
            return;
        }
        if (fs_reap > 0) {
            /* Its teardown overlapped with the spare's fork. Waiting for it here, before the next run,
               measured faster than letting it overlap with that run too: a child's exit, fork and the
               next child's faults all take the locks of the memory they share. */
            waitpid(fs_reap, NULL, 0);
            fs_reap = -1;
        }
        uint32_t was_killed;
        if (!full_io(FS_CTL, &was_killed, 4, false)) {
            server_exit();
        }
        int status;
        if (fs_child_stopped && was_killed) {
            /* It timed out while stopped and afl-fuzz killed it: reap it and start afresh. */
            fs_child_stopped = false;
            waitpid(fs_child, &status, 0);
            pipes_close(&fs_child_pipes);
        }
        if (fs_child_stopped) {
            /* A persistent child waiting for its next run (or, not ours, stopped by SIGSTOP). */
            if (fs_child_pipes.wake_w >= 0) {
                full_io(fs_child_pipes.wake_w, "g", 1, true);
            } else {
                kill(fs_child, SIGCONT);
            }
            fs_child_stopped = false;
        } else {
            if (fs_spare < 0 && spare_fork(env)) {
                return;
            }
            if (fs_spare < 0) {
                _exit(1);
            }
            fs_child = fs_spare;
            fs_child_pipes = fs_spare_pipes;
            fs_spare = -1;
            fs_spare_pipes = NO_PIPES;
            if (!full_io(fs_child_pipes.wake_w, "g", 1, true)) {
                _exit(1);
            }
        }
        uint64_t t1 = afl.debug ? now_ns() : 0;
        if (!full_io(FS_ST, &fs_child, 4, true)) {
            _exit(1);
        }
        if (!child_wait(&status, persistent)) {
            _exit(1);
        }
        if (afl.debug) {
            stats_note(t1, now_ns());
        }
        fs_child_stopped = WIFSTOPPED(status);
        if (!full_io(FS_ST, &status, 4, true)) {
            _exit(1);
        }
        /* After the status: afl-fuzz works on it meanwhile. The next spare is forked after this. */
        if (fs_ring && feedback_drain(cpu)) {
            scratch_release(cpu);
            afl_prefault_snapshot();   /* translating may have mapped or unmapped memory */
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
