/*
 * The user-mode gdb stub's life cycle and its all-stop scheduling. Each guest thread passes through
 * linux_gdb_before_exec / linux_gdb_after_exec around every tcg_cpu_exec. A thread with something to report
 * (the first instruction, a breakpoint, a finished step, a changed watched value, a fault) stops the others
 * (exit requests; it waits until none is inside guest code), serves gdb on the socket until gdb resumes,
 * hands each thread its action (continue, step, stay stopped) and wakes them.
 */
#define _GNU_SOURCE 1   /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/gdbstub/x86-watch.h"
#include "user/linux/gdbstub.h"

bool linux_gdb_active;

typedef struct GdbThread {
    LinuxThread *t;
    int tid;
    bool running;               /* between before_exec and after_exec */
    GdbResumeKind kind;         /* what gdb said this thread does */
    int signal;                 /* to deliver when it resumes (C/S) */
    bool stepped;               /* a step finished: report it */
    uint64_t step_pc;           /* pc when the step began */
    bool resume_pc_valid;       /* resumed at resume_pc: a breakpoint there is not hit again at once */
    uint64_t resume_pc;
    bool first;                 /* the stop before the first instruction */
    int npred;                  /* read/access watchpoints: what the instruction about to run accesses */
    GdbX86Access pred[GDB_X86_MAX_ACCESSES];
    int rw_type;                /* a read/access watchpoint was hit (GDB_WP_*), at rw_addr: report it */
    uint64_t rw_addr;
} GdbThread;

static pthread_mutex_t gdb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gdb_cond = PTHREAD_COND_INITIALIZER;
static GPtrArray *gdb_threads;  /* GdbThread*; an ended first thread stays (dead threads are skipped) */
static int gdb_running;         /* threads inside guest code */
static bool gdb_stopped;        /* a thread is serving gdb: the others wait */
static GdbServer gdb_server;
static __thread GdbThread *gdb_self;
static bool gdb_interrupt;      /* gdb sent Ctrl-C: the next thread to run reports SIGINT */

static bool tid_alive(int tid)
{
    return syscall(SYS_tgkill, getpid(), tid, 0) == 0;
}

LinuxThread *linux_gdb_thread(int tid)
{
    for (guint i = 0; gdb_threads && i < gdb_threads->len; i++) {
        GdbThread *g = g_ptr_array_index(gdb_threads, i);
        if (g->tid == tid) {
            return tid_alive(tid) ? g->t : NULL;
        }
    }
    return NULL;
}

int linux_gdb_thread_ids(int *tids, int max)
{
    int n = 0;
    for (guint i = 0; gdb_threads && i < gdb_threads->len && n < max; i++) {
        GdbThread *g = g_ptr_array_index(gdb_threads, i);
        if (tid_alive(g->tid)) {
            tids[n++] = g->tid;
        }
    }
    return n;
}

/* A forked child runs on without a debugger (the socket and the breakpoints belong to the parent). */
static void gdb_atfork_child(void)
{
    if (linux_gdb_active) {
        linux_gdb_active = false;
        tcg_debug_breakpoint = NULL;
        close(gdb_server.fd);
        linux_gdb_nbreaks = linux_gdb_nwatch = 0;
        tb_flush_all();
    }
}

/*
 * While the guest runs nobody reads the socket, so this thread watches it for gdb's Ctrl-C (0x03): it takes
 * the byte only while the process runs (under gdb_lock, never while a stopped thread talks to gdb), then
 * makes every thread leave guest code; the first one back reports SIGINT. A thread blocked in a system call
 * reports when it returns.
 */
static void *gdb_interrupt_watcher(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p = {.fd = gdb_server.fd, .events = POLLIN};
        int n = poll(&p, 1, 100);
        if (!linux_gdb_active) {
            return NULL;
        }
        if (n <= 0 || !(p.revents & POLLIN)) {
            continue;
        }
        bool taken = false;
        pthread_mutex_lock(&gdb_lock);
        unsigned char c;
        if (linux_gdb_active && !gdb_stopped && gdb_server.running &&
            recv(gdb_server.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1 && c == 0x03) {
            taken = recv(gdb_server.fd, &c, 1, MSG_DONTWAIT) == 1;
            gdb_interrupt = true;
            for (guint i = 0; i < gdb_threads->len; i++) {
                GdbThread *o = g_ptr_array_index(gdb_threads, i);
                tcg_cpu_request_exit(&o->t->env.tcg);
            }
            pthread_cond_broadcast(&gdb_cond);
        }
        pthread_mutex_unlock(&gdb_lock);
        if (!taken) {
            usleep(10000);   /* a packet for the thread serving gdb: let it read */
        }
    }
}

int linux_gdb_start(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
        fprintf(stderr, "ember-x86_64: cannot listen for gdb on port %d: %s\n", port, strerror(errno));
        return -1;
    }
    fprintf(stderr, "ember-x86_64: waiting for gdb on port %d\n", ntohs(sa.sin_port));
    int conn;
    do {
        conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    } while (conn < 0 && errno == EINTR);
    close(fd);
    if (conn < 0) {
        fprintf(stderr, "ember-x86_64: gdb connection failed: %s\n", strerror(errno));
        return -1;
    }
    setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    gdb_rsp_init(&gdb_server, conn, &linux_gdb_target_ops, NULL);
    gdb_threads = g_ptr_array_new();
    tcg_debug_breakpoint = linux_gdb_breakpoint_at;
    pthread_atfork(NULL, NULL, gdb_atfork_child);
    linux_gdb_active = true;
    /* The watcher runs no guest code: it blocks every signal, so none meant for guest threads lands there. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t watcher;
    if (pthread_create(&watcher, NULL, gdb_interrupt_watcher, NULL) == 0) {
        pthread_detach(watcher);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}

void linux_gdb_thread_exit(void)
{
    if (!gdb_self) {
        return;   /* gdb never saw it */
    }
    pthread_mutex_lock(&gdb_lock);
    while (gdb_stopped) {
        pthread_cond_wait(&gdb_cond, &gdb_lock);   /* all-stop: no thread ends while gdb looks */
    }
    g_ptr_array_remove(gdb_threads, gdb_self);
    g_free(gdb_self);
    gdb_self = NULL;
    pthread_mutex_unlock(&gdb_lock);
}

static GdbThread *gdb_register(LinuxThread *t)
{
    GdbThread *g = g_new0(GdbThread, 1);
    g->t = t;
    g->tid = t->tid;
    g->first = gdb_threads->len == 0;
    /* A thread born while the process runs runs too. */
    g->kind = GDB_RESUME_CONTINUE;
    g_ptr_array_add(gdb_threads, g);
    return g;
}

/* Forget the debugger: breakpoints gone, every thread runs freely. Called with gdb_lock held. */
static void gdb_disable(void)
{
    linux_gdb_clear_breaks();
    tcg_debug_breakpoint = NULL;
    linux_gdb_active = false;
    close(gdb_server.fd);
}

/* Stop every other thread, serve gdb, apply its resume. Called with gdb_lock held by g's thread. */
static void gdb_serve_stop(GdbThread *g, const GdbStop *stop)
{
    gdb_stopped = true;
    for (guint i = 0; i < gdb_threads->len; i++) {
        GdbThread *o = g_ptr_array_index(gdb_threads, i);
        if (o != g) {
            tcg_cpu_request_exit(&o->t->env.tcg);
        }
    }
    while (gdb_running > 0) {
        pthread_cond_wait(&gdb_cond, &gdb_lock);
    }
    pthread_mutex_unlock(&gdb_lock);
    GdbResume r;
    int rc = gdb_rsp_serve(&gdb_server, stop, &r);
    pthread_mutex_lock(&gdb_lock);
    if (rc == 0 && r.kill) {
        kill(getpid(), SIGKILL);
    }
    if (rc < 0 || r.detach) {
        gdb_disable();
    } else {
        for (guint i = 0; i < gdb_threads->len; i++) {
            GdbThread *o = g_ptr_array_index(gdb_threads, i);
            int sig = 0;
            o->kind = gdb_resume_for(&r, o->tid, &sig);
            o->signal = sig;
            o->stepped = false;
            o->resume_pc_valid = true;
            o->resume_pc = o->t->env.tcg.pc;
        }
    }
    gdb_stopped = false;
    pthread_cond_broadcast(&gdb_cond);
}

/* Has a write watchpoint's value changed? Reports the first one (and remembers the new value). */
static bool gdb_watch_hit(uint64_t *addr)
{
    for (int i = 0; i < linux_gdb_nbreaks; i++) {
        LinuxGdbBreak *b = &linux_gdb_breaks[i];
        uint8_t now[8];
        if (b->type == GDB_WP_WRITE && linux_gdb_read_mem(b->addr, now, b->len) == (long)b->len &&
            memcmp(now, b->old, b->len) != 0) {
            memcpy(b->old, now, b->len);
            *addr = b->addr;
            return true;
        }
    }
    return false;
}

/* What this thread has to report before it runs on, if anything. Called with gdb_lock held. */
static bool gdb_pending_stop(GdbThread *g, GdbStop *stop)
{
    uint64_t pc = g->t->env.tcg.pc;
    memset(stop, 0, sizeof(*stop));
    stop->kind = GDB_STOP_SIGNAL;
    stop->tid = g->tid;
    stop->signal = SIGTRAP;
    if (g->first) {
        g->first = false;
        return true;
    }
    if (gdb_interrupt) {
        gdb_interrupt = false;
        stop->signal = SIGINT;
        return true;
    }
    if (g->rw_type) {
        stop->watch_type = g->rw_type;
        stop->watch_addr = g->rw_addr;
        g->rw_type = 0;
        return true;
    }
    if (g->resume_pc_valid && pc != g->resume_pc) {
        g->resume_pc_valid = false;
    }
    uint64_t waddr;
    if (linux_gdb_nwatch && gdb_watch_hit(&waddr)) {
        stop->watch_type = GDB_WP_WRITE;
        stop->watch_addr = waddr;
        return true;
    }
    if (!(g->resume_pc_valid && pc == g->resume_pc) && linux_gdb_breakpoint_at(pc)) {
        stop->swbreak = true;
        return true;
    }
    if (g->stepped) {
        return true;
    }
    return false;
}

void linux_gdb_before_exec(LinuxThread *t)
{
    TCGCPU *cpu = &t->env.tcg;
    pthread_mutex_lock(&gdb_lock);
    if (!gdb_self) {
        gdb_self = gdb_register(t);
    }
    GdbThread *g = gdb_self;
    GdbStop stop;
    for (;;) {
        if (!linux_gdb_active) {
            cpu->singlestep = false;
            pthread_mutex_unlock(&gdb_lock);
            return;
        }
        if (gdb_stopped || g->kind == GDB_RESUME_NONE) {
            pthread_cond_wait(&gdb_cond, &gdb_lock);
            continue;
        }
        if (gdb_pending_stop(g, &stop)) {
            gdb_serve_stop(g, &stop);
            if (g->signal && linux_gdb_active) {
                /* gdb passes a signal (C/S after a stop that had none of its own): deliver it now. */
                siginfo_t info = {.si_signo = g->signal, .si_code = SI_USER};
                linux_signal_queue(t, &info);
                g->signal = 0;
            }
            continue;
        }
        break;
    }
    g->running = true;
    gdb_running++;
    /* Step one instruction at a time for a step, while watchpoints are set, and to get past a breakpoint
       at the pc it resumed from (its cached block would stop again at once). */
    cpu->singlestep = g->kind == GDB_RESUME_STEP || linux_gdb_nwatch > 0 ||
                      linux_gdb_breakpoint_at(cpu->pc);
    g->step_pc = cpu->pc;
    g->npred = 0;
    for (int i = 0; i < linux_gdb_nbreaks; i++) {
        if (linux_gdb_breaks[i].type == GDB_WP_READ || linux_gdb_breaks[i].type == GDB_WP_ACCESS) {
            uint8_t code[15];
            long got = linux_gdb_read_mem(cpu->pc, code, sizeof(code));
            if (got > 0) {
                g->npred = gdb_x86_mem_accesses(&t->env, ZYDIS_MACHINE_MODE_LONG_64, code, (size_t)got, cpu->pc,
                                                g->pred);
            }
            break;
        }
    }
    pthread_mutex_unlock(&gdb_lock);
}

/* Did the instruction just run touch a read or access watchpoint? Remembered for the next stop check. */
static void gdb_rw_watch_check(GdbThread *g)
{
    for (int i = 0; i < linux_gdb_nbreaks && !g->rw_type; i++) {
        const LinuxGdbBreak *b = &linux_gdb_breaks[i];
        for (int k = 0; k < g->npred && (b->type == GDB_WP_READ || b->type == GDB_WP_ACCESS); k++) {
            const GdbX86Access *a = &g->pred[k];
            if ((b->type == GDB_WP_ACCESS ? (a->read || a->write) : a->read) &&
                gdb_ranges_overlap(a->addr, a->len, b->addr, b->len)) {
                g->rw_type = b->type;
                g->rw_addr = a->addr > b->addr ? a->addr : b->addr;
                break;
            }
        }
    }
    g->npred = 0;
}

/* The signal a guest exception becomes (signal.c delivers it). */
static int gdb_exception_signal(int excp)
{
    switch (excp) {
    case EXCP_DE: case EXCP_MF: case EXCP_XM: return SIGFPE;
    case EXCP_UD: return SIGILL;
    case EXCP_BP: case EXCP_DB: return SIGTRAP;
    case EXCP_SS: case EXCP_AC: return SIGBUS;
    default: return SIGSEGV;
    }
}

TCGExitReason linux_gdb_after_exec(LinuxThread *t, TCGExitReason why)
{
    TCGCPU *cpu = &t->env.tcg;
    pthread_mutex_lock(&gdb_lock);
    GdbThread *g = gdb_self;
    if (g && g->running) {
        g->running = false;
        gdb_running--;
        pthread_cond_broadcast(&gdb_cond);
    }
    if (!linux_gdb_active || !g) {
        pthread_mutex_unlock(&gdb_lock);
        return why;
    }
    /* An exit request before the instruction ran leaves the pc where it was: the step is still to do. */
    if (cpu->singlestep && g->kind == GDB_RESUME_STEP && (cpu->pc != g->step_pc || why != TCG_EXIT_INTERRUPT)) {
        g->stepped = true;
    }
    if (g->npred && why != TCG_EXIT_EXCEPTION && (cpu->pc != g->step_pc || why != TCG_EXIT_INTERRUPT)) {
        gdb_rw_watch_check(g);
    }
    if (why == TCG_EXIT_EXCEPTION) {
        /* A fault: gdb sees the signal first and says whether the program gets it. */
        while (gdb_stopped) {
            pthread_cond_wait(&gdb_cond, &gdb_lock);
        }
        if (linux_gdb_active) {
            GdbStop stop = {.kind = GDB_STOP_SIGNAL, .tid = g->tid, .signal = gdb_exception_signal(t->env.exception)};
            g->stepped = false;
            gdb_serve_stop(g, &stop);
            if (linux_gdb_active && !g->signal) {
                why = TCG_EXIT_NONE;   /* continued without the signal: run on at the same pc */
            }
            g->signal = 0;
        }
    }
    pthread_mutex_unlock(&gdb_lock);
    return why;
}

void linux_gdb_exit(int code)
{
    pthread_mutex_lock(&gdb_lock);
    while (gdb_stopped) {
        pthread_cond_wait(&gdb_cond, &gdb_lock);
    }
    if (linux_gdb_active) {
        GdbStop stop = {.kind = GDB_STOP_EXITED, .exit_code = code};
        gdb_rsp_report_exit(&gdb_server, &stop);
        gdb_disable();
    }
    pthread_mutex_unlock(&gdb_lock);
}

void linux_gdb_killed(int sig)
{
    if (!linux_gdb_active) {
        return;
    }
    pthread_mutex_lock(&gdb_lock);
    if (linux_gdb_active) {
        GdbStop stop = {.kind = GDB_STOP_KILLED, .signal = sig};
        gdb_rsp_report_exit(&gdb_server, &stop);
        gdb_disable();
    }
    pthread_mutex_unlock(&gdb_lock);
}
