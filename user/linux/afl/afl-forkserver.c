/*
 * The fork server, as afl-fuzz 4.x speaks it on fds 198 (control, from afl-fuzz) and 199 (status, to it):
 *
 *   hello      we write one u32 of FS_OPT_* options (map size, new CMPLOG, and shared-memory test cases in
 *              persistent mode, afl-testcase.c: afl-fuzz then answers with one u32 of its own)
 *   each run   afl-fuzz writes a u32 (1: it killed the last child); we start a child, write its pid, wait,
 *              and write its wait status; in persistent mode a child that ended a run writes the status
 *              of a stopped child (as with afl's own SIGSTOP), then reads the next control word and writes
 *              its pid again itself, and the server speaks again only once it dies
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
    int32_t slot;                /* -1: a translation; else the chain of that goto_tb slot */
    uint32_t pad;
} AflFeedback;

/*
 * In persistent mode the child speaks to afl-fuzz itself between runs (afl_forkserver_child_report and
 * _next), and the server only waits for its death; should it die, the server must know which word of a run
 * afl-fuzz still waits for, so the child keeps it here. The child sets it before each word it writes: a
 * small write to a pipe with room is never interrupted, so a child killed in it (afl-fuzz's timeout) has
 * written the word (a kill in the few instructions between the two would leave afl-fuzz waiting).
 */
enum {
    FS_OWE_STATUS,   /* in a run: its pid is out, its status is not (the server writes the wait status) */
    FS_OWE_CTL,      /* between runs: the status is out, afl-fuzz's next control word is not read */
    FS_OWE_PID,      /* the control word was read (in ctl): the server goes on with a new child's pid */
};

typedef struct AflFeedbackRing {
    uint32_t count;
    uint32_t owe;                /* FS_OWE_*: the persistent child's place in the protocol */
    uint32_t ctl;                /* with FS_OWE_PID: the control word it read */
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
                tcg_jmp_cache_set(cpu, tb);
                done++;
            }
        } else if (f.slot < TCG_GOTO_TB_SLOTS) {
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

/* AFL_DEBUG: where a run's time goes, averaged over every 500 runs (in the server: a fork, a run from its
   go to its status; in a persistent child: a run from its pid to its end, and the wait for the next one). */
static struct {
    uint32_t runs;
    uint64_t fork_ns, child_ns, wait_ns;
} fs_stats;
static uint64_t fs_run_start, fs_report_ns;   /* a persistent child's current run: its start, its end */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void stats_note(uint64_t t1, uint64_t t2)
{
    fs_stats.child_ns += t2 - t1;
    if (++fs_stats.runs == 500) {
        if (afl.in_child) {
            fprintf(stderr, "ember-x86_64: AFL: per persistent run: run %.1f us, waiting for afl-fuzz %.1f us\n",
                    fs_stats.child_ns / 1e3 / fs_stats.runs, fs_stats.wait_ns / 1e3 / fs_stats.runs);
        } else {
            fprintf(stderr, "ember-x86_64: AFL: per run: fork %.1f us, run %.1f us\n",
                    fs_stats.fork_ns / 1e3 / fs_stats.runs, fs_stats.child_ns / 1e3 / fs_stats.runs);
        }
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
 * Each child has two pipes to the server: wake (server -> child: start the run) and done (child -> server:
 * its exit status, written before the exit's teardown). In persistent mode the child itself answers
 * afl-fuzz between runs, on copies of fds 198/199 (fs_ctl_fd, fs_st_fd): the stopped status, then the
 * next control word and its pid again, as a SIGSTOPped child and its server would. Each run so wakes two
 * processes (afl-fuzz and the child) instead of five wake-ups through the server.
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
static int fs_ctl_fd = -1, fs_st_fd = -1;    /* persistent mode: 198/199 for the child, close-on-exec */
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

/*
 * The child's side of persistent mode, at the end of a run: report it to afl-fuzz (as a stopped child), then,
 * once the state for the next run is restored (which so overlaps with afl-fuzz's look at this run), wait
 * for afl-fuzz's next test case. False from the report: not the fork server's child, it stopped instead.
 */
bool afl_forkserver_child_report(void)
{
    if (fs_ctl_fd < 0) {
        raise(SIGSTOP);   /* the guest's own child (afl_guest_forked closed them): as afl's own runtime does */
        return false;
    }
    fs_report_ns = afl.debug ? now_ns() : 0;
    uint32_t word = 0x137f;   /* the run's status: W_STOPCODE(SIGSTOP), the child lives on */
    __atomic_store_n(&fs_ring->owe, FS_OWE_CTL, __ATOMIC_SEQ_CST);
    if (!full_io(fs_st_fd, &word, 4, true)) {
        _exit(0);   /* afl-fuzz is gone (the server sees that too) */
    }
    return true;
}

void afl_forkserver_child_next(void)
{
    uint32_t word;
    if (!full_io(fs_ctl_fd, &word, 4, false)) {
        _exit(0);
    }
    fs_ring->ctl = word;
    __atomic_store_n(&fs_ring->owe, FS_OWE_PID, __ATOMIC_SEQ_CST);
    if (word != 0) {
        _exit(0);   /* afl-fuzz believes it killed us: the server starts the next run in a new child */
    }
    afl_testcase_put();
    uint64_t t1 = afl.debug ? now_ns() : 0;
    word = (uint32_t)fs_self;
    __atomic_store_n(&fs_ring->owe, FS_OWE_STATUS, __ATOMIC_SEQ_CST);
    if (!full_io(fs_st_fd, &word, 4, true)) {
        _exit(0);
    }
    if (afl.debug) {
        fs_stats.wait_ns += t1 - fs_report_ns;
        stats_note(fs_run_start, fs_report_ns);
        fs_run_start = now_ns();
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

static LinuxSyscallFn fs_exit_group, fs_clone, fs_fork, fs_vfork;
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

/* After a guest's fork (a host fork, whatever the flags), in its child. */
static long afl_guest_forked(long r)
{
    if (r == 0 && fs_ctl_fd >= 0) {
        /* Not the fork server's child: it must not answer afl-fuzz, nor keep its pipes open after we die. */
        close(fs_ctl_fd);
        close(fs_st_fd);
        fs_ctl_fd = fs_st_fd = -1;
    }
    return r;
}

static long afl_clone(CPUX86State *env, const long a[6])
{
    if (a[0] & CLONE_THREAD) {
        __atomic_store_n(&fs_threaded, true, __ATOMIC_RELEASE);
        return fs_clone(env, a);
    }
    return afl_guest_forked(fs_clone(env, a));
}

static long afl_fork(CPUX86State *env, const long a[6])
{
    return afl_guest_forked(fs_fork(env, a));
}

static long afl_vfork(CPUX86State *env, const long a[6])
{
    return afl_guest_forked(fs_vfork(env, a));
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
    pipes_close(&fs_child_pipes);   /* a running persistent child's, should there be one */
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
    if (afl.debug) {
        fs_run_start = now_ns();
    }
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
    _exit(0);
}

/*
 * Wait for the running child: the exit status it reported before its exit (*reported), or its death
 * (waitpid). A persistent child's runs pass meanwhile, between it and afl-fuzz. False when waiting failed.
 */
static bool child_wait(int *status, bool *reported, bool persistent)
{
    AflChildPipes *c = &fs_child_pipes;
    *reported = false;
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
        uint32_t word;
        if ((fds[0].revents & (POLLIN | POLLHUP)) && full_io(c->done_r, &word, 4, false)) {
            *status = (int)word;
            *reported = true;
            fs_reap = fs_child;   /* it is exiting: reaped after its status is out */
            pipes_close(c);
            return true;
        }
        break;   /* end of file or the pidfd: it died without a word */
    }
    pid_t r;
    while ((r = waitpid(fs_child, status, 0)) < 0 && errno == EINTR) {
    }
    pipes_close(c);
    return r >= 0;
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
        if (!full_io(FS_CTL, &reply, 4, false) || !(reply & FS_OPT_SHDMEM_FUZZ) || afl_testcase_attach() < 0) {
            _exit(1);
        }
    }
    bool persistent = afl.persist_addr != 0;
    TCGCPU *cpu = &env->tcg;
    /* The feedback ring; in persistent mode also where the child keeps its place in the protocol. */
    fs_ring = mmap(NULL, sizeof(AflFeedbackRing), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (fs_ring == MAP_FAILED) {
        fprintf(stderr, "ember-x86_64: AFL: fork server: no shared memory: %s\n", strerror(errno));
        _exit(1);
    }
    if (persistent) {
        /* Above the descriptors a guest usually gets, and not inherited by the programs it runs. */
        fs_ctl_fd = fcntl(FS_CTL, F_DUPFD_CLOEXEC, 200);
        fs_st_fd = fcntl(FS_ST, F_DUPFD_CLOEXEC, 200);
        if (fs_ctl_fd < 0 || fs_st_fd < 0) {
            _exit(1);
        }
    }
    if (persistent && afl.entry == afl.persist_addr) {
        afl_persistent_prepare(env);   /* at ADDR now, as every child will be at its first run */
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
    fs_fork = linux_syscall_handler(SYS_fork);
    fs_vfork = linux_syscall_handler(SYS_vfork);
    if (fs_exit_group && fs_clone && fs_fork && fs_vfork) {
        linux_syscall_register(SYS_exit_group, afl_exit_group);
        linux_syscall_register(SYS_clone, afl_clone);
        linux_syscall_register(SYS_fork, afl_fork);
        linux_syscall_register(SYS_vfork, afl_vfork);
    } else if (persistent) {
        fprintf(stderr, "ember-x86_64: AFL: fork server: cannot watch the guest's forks\n");
        _exit(1);   /* a guest's child could not be told from ours */
    }
    bool have_ctl = false;   /* a dead persistent child read the next control word already */
    for (;;) {
        if (fs_spare < 0 && spare_fork(env)) {
            return;
        }
        if (fs_reap > 0) {
            /* Its teardown overlapped with the spare's fork. Waiting for it here, before the next run,
               measured faster than letting it overlap with that run too: a child's exit, fork and the
               next child's faults all take the locks of the memory they share. */
            waitpid(fs_reap, NULL, 0);
            fs_reap = -1;
        }
        uint32_t was_killed;   /* nothing to do with it: the killed child was waited for */
        if (!have_ctl && !full_io(FS_CTL, &was_killed, 4, false)) {
            server_exit();
        }
        have_ctl = false;
        afl_testcase_put();
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
        fs_ring->owe = FS_OWE_STATUS;
        /* A persistent child writes its first status itself: its pid must be out before it runs. Otherwise
           the child starts first, and afl-fuzz's wake-up on the pid overlaps with its start. */
        uint64_t t1 = afl.debug ? now_ns() : 0;
        if (persistent ? !full_io(FS_ST, &fs_child, 4, true) || !full_io(fs_child_pipes.wake_w, "g", 1, true)
                       : !full_io(fs_child_pipes.wake_w, "g", 1, true) || !full_io(FS_ST, &fs_child, 4, true)) {
            _exit(1);
        }
        int status;
        bool reported;
        if (!child_wait(&status, &reported, persistent)) {
            _exit(1);
        }
        if (afl.debug && !persistent) {
            stats_note(t1, now_ns());
        }
        /* A persistent child that died between runs owes afl-fuzz no status (it wrote its last one). */
        uint32_t owe = reported ? FS_OWE_STATUS : __atomic_load_n(&fs_ring->owe, __ATOMIC_SEQ_CST);
        if (owe == FS_OWE_STATUS && !full_io(FS_ST, &status, 4, true)) {
            _exit(1);
        }
        have_ctl = owe == FS_OWE_PID;
        /* After the status: afl-fuzz works on it meanwhile. The next spare is forked after this. */
        if (feedback_drain(cpu)) {
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
