/*
 * The system-mode gdb stub's life cycle: a thread that accepts gdb, stops the machine through run control
 * (a debugger hold: every vCPU parks, the run state QMP sees is unchanged), answers gdb while the CPUs are
 * parked, hands each CPU gdb's action and lets them run, then waits for either a stop taken by a vCPU
 * (breakpoint, finished step, watchpoint) or a Ctrl-C from gdb. The vCPU side on TCG is the accelerator's
 * debug hooks (accel-tcg.h) below; on KVM, gdbstub-kvm.c. See gdbstub.h for the behaviour.
 */
#define _GNU_SOURCE 1   /* accept4, pipe2 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/tcg/cpu-exec.h"
#include "system/pc/accel.h"
#include "system/pc/gdbstub-priv.h"
#include "system/pc/options.h"
#include "system/pc/runstate.h"

PcGdb pc_gdb = {.listen_fd = -1, .wake = {-1, -1}};

#define PC_GDB_ERROR g_quark_from_static_string("pc-gdb-error")

static int gdb_state(void) { return __atomic_load_n(&pc_gdb.state, __ATOMIC_ACQUIRE); }
static void gdb_set_state(int s) { __atomic_store_n(&pc_gdb.state, s, __ATOMIC_RELEASE); }

/* Take a stop (lock held): the first one since gdb resumed wins; the machine's CPUs are told to park. */
static bool gdb_take_stop(PcGdb *g, const GdbStop *stop)
{
    if (gdb_state() != PC_GDB_RUNNING) {
        return false;
    }
    g->stop = *stop;
    gdb_set_state(PC_GDB_STOPPING);
    pc_run_debug_hold(g->m);
    g_cond_broadcast(&g->cond);
    char c = 1;
    if (write(g->wake[1], &c, 1) < 0) {
        /* the pipe is full: the gdb thread has a wake-up pending anyway */
    }
    return true;
}

/* ---- the vCPU hooks (on each vCPU's thread, without the machine lock) ---- */

bool pc_gdb_vcpu_stop(Vcpu *v, GdbStop *stop)
{
    stop->kind = GDB_STOP_SIGNAL;
    stop->tid = v->index + 1;
    stop->signal = SIGTRAP;
    machine_lock(v->machine);
    gdb_take_stop(&pc_gdb, stop);
    machine_unlock(v->machine);
    return true;   /* stop this CPU now: if another CPU stopped first, the hold parks it all the same */
}

static bool gdb_irq_masked(Vcpu *v)
{
    return gdb_state() == PC_GDB_RUNNING && pc_gdb.cpus[v->index].kind == GDB_RESUME_STEP;
}

static bool gdb_before_exec(Vcpu *v, CPUX86State *env)
{
    PcGdb *g = &pc_gdb;
    PcGdbCpu *c = &g->cpus[v->index];
    if (gdb_state() == PC_GDB_IDLE) {
        env->tcg.singlestep = false;
        return false;
    }
    if (c->kind == GDB_RESUME_NONE) {
        /* Stay stopped while gdb runs other CPUs (stepping one over a breakpoint). A stop, or the machine
           parking the vCPUs (VCPU_REQ_STOP), ends the wait. */
        machine_lock(v->machine);
        while (c->kind == GDB_RESUME_NONE && gdb_state() == PC_GDB_RUNNING &&
               !(__atomic_load_n(&v->requests, __ATOMIC_SEQ_CST) & VCPU_REQ_STOP)) {
            g_cond_wait_until(&g->cond, &v->machine->lock, g_get_monotonic_time() + 100 * G_TIME_SPAN_MILLISECOND);
        }
        bool stay = c->kind == GDB_RESUME_NONE;
        machine_unlock(v->machine);
        if (stay) {
            return true;
        }
    }
    if (c->step_after_delivery) {
        c->step_after_delivery = false;
        GdbStop stop = {0};
        return pc_gdb_vcpu_stop(v, &stop);
    }
    if (c->resume_pc_valid && env->tcg.pc != c->resume_pc) {
        c->resume_pc_valid = false;
    }
    /* One instruction at a time: for a step, while watchpoints are set, and to get past the breakpoint the
       CPU resumed from (its block would stop there again at once; a one-instruction block does not). */
    env->tcg.singlestep = c->kind == GDB_RESUME_STEP || g->nwatch > 0 ||
                          (c->resume_pc_valid && g->nbp && pc_gdb_breakpoint_at(pc_gdb_linear_pc(env)));
    c->pc_before = env->tcg.pc;
    c->exit_request_before = env->tcg.exit_request != 0;
    c->npred = 0;
    if (g->nwatch) {
        pc_gdb_predict(c, env);
    }
    return false;
}

static bool gdb_after_exec(Vcpu *v, CPUX86State *env, TCGExitReason why)
{
    PcGdb *g = &pc_gdb;
    PcGdbCpu *c = &g->cpus[v->index];
    if (gdb_state() == PC_GDB_IDLE) {
        return false;
    }
    bool moved = env->tcg.pc != c->pc_before;
    /* Did the single-stepped instruction complete? It did if the pc moved; a jump to itself leaves it,
       as does an exit request that came before the instruction ran. */
    bool ran = why != TCG_EXIT_EXCEPTION &&
               (moved || why == TCG_EXIT_HALT || (why == TCG_EXIT_INTERRUPT && !c->exit_request_before));
    if (c->resume_pc_valid && moved) {
        c->resume_pc_valid = false;
    }
    GdbStop stop = {0};
    if (env->tcg.singlestep && ran && c->npred && pc_gdb_watch_hit(c, &stop)) {
        return pc_gdb_vcpu_stop(v, &stop);
    }
    if (env->tcg.singlestep && c->kind == GDB_RESUME_STEP) {
        if (why == TCG_EXIT_EXCEPTION) {
            c->step_after_delivery = true;   /* the CPU stops at the handler, once it is entered */
            return false;
        }
        if (ran) {
            return pc_gdb_vcpu_stop(v, &stop);
        }
    }
    int bp = why == TCG_EXIT_INTERRUPT && g->nbp && !(c->resume_pc_valid && env->tcg.pc == c->resume_pc)
                 ? pc_gdb_break_type(pc_gdb_linear_pc(env)) : -1;
    if (bp >= 0) {
        stop.swbreak = bp == GDB_BP_SW;
        stop.hwbreak = bp == GDB_BP_HW;
        return pc_gdb_vcpu_stop(v, &stop);
    }
    return false;
}

static const AccelTcgDebug gdb_tcg_hooks = {
    .before_exec = gdb_before_exec,
    .after_exec = gdb_after_exec,
    .irq_masked = gdb_irq_masked,
};

/* ---- the gdb thread ---- */

/* Wait until a stop has been taken (STOPPING): a vCPU's, or gdb's Ctrl-C. False: gdb went away. */
static bool gdb_wait_stop(PcGdb *g)
{
    for (;;) {
        if (gdb_state() == PC_GDB_STOPPING) {
            return true;
        }
        struct pollfd p[2] = {{.fd = g->server.fd, .events = POLLIN}, {.fd = g->wake[0], .events = POLLIN}};
        if (poll(p, 2, 200) < 0 && errno != EINTR) {
            return false;
        }
        if (p[1].revents & POLLIN) {
            char buf[64];
            while (read(g->wake[0], buf, sizeof(buf)) > 0) {
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            unsigned char c;
            ssize_t n = recv(g->server.fd, &c, 1, 0);
            if (n <= 0) {
                return false;
            }
            if (c == 0x03) {
                /* Ctrl-C: stop every CPU; gdb hears SIGINT for the first one (as QEMU reports it). */
                GdbStop stop = {.kind = GDB_STOP_SIGNAL, .tid = 1, .signal = SIGINT};
                machine_lock(g->m);
                gdb_take_stop(g, &stop);
                machine_unlock(g->m);
            }
            /* anything else while running (a stray ack) is ignored */
        }
    }
}

/* Let the machine run as gdb said (lock held). A machine created with -S (or paused) starts, as in QEMU. */
static void gdb_resume(PcGdb *g, const GdbResume *r, int stopped_tid)
{
    Machine *m = g->m;
    for (int i = 0; i < m->nr_vcpus; i++) {
        PcGdbCpu *c = &g->cpus[i];
        int sig = 0;
        c->kind = r ? gdb_resume_for(r, i + 1, &sig) : GDB_RESUME_CONTINUE;
        c->step_after_delivery = false;
        if (g->kvm) {
            continue;
        }
        CPUX86State *env = accel_tcg_env(&m->vcpus[i]);
        c->resume_pc_valid = r && i + 1 == stopped_tid;
        c->resume_pc = env->tcg.pc;
        env->tcg.singlestep = false;
    }
    if (g->kvm) {
        pc_gdb_kvm_resume(g);   /* registers gdb changed, breakpoints, steps: into KVM */
    }
    if (m->run_state == MACHINE_PAUSED) {
        pc_vm_cont(m);
    }
    pc_run_debug_release(m);
    g_cond_broadcast(&g->cond);
}

/* One gdb connection, from its first stop to detach, kill or hang-up. */
static void gdb_session(PcGdb *g)
{
    Machine *m = g->m;
    for (;;) {
        machine_lock(m);
        pc_run_debug_wait_parked(m);
        pc_vcpus_load_pending(m);
        if (g->kvm) {
            pc_gdb_kvm_pull(g);
        }
        GdbStop stop = g->stop;
        gdb_set_state(PC_GDB_SERVING);
        machine_unlock(m);

        GdbResume r;
        int rc = gdb_rsp_serve(&g->server, &stop, &r);

        machine_lock(m);
        if (rc < 0 || r.detach || r.kill) {
            pc_gdb_clear_breaks(g);
            gdb_set_state(PC_GDB_IDLE);
            if (rc == 0 && r.kill) {
                machine_request_shutdown(m, SHUTDOWN_CAUSE_HOST_SIGNAL);
                pc_run_debug_release(m);
            } else {
                gdb_resume(g, NULL, 0);
            }
            machine_unlock(m);
            return;
        }
        gdb_set_state(PC_GDB_RUNNING);
        gdb_resume(g, &r, stop.tid);
        machine_unlock(m);

        if (!gdb_wait_stop(g)) {
            /* gdb hung up while the machine ran: forget it, as after a detach. */
            machine_lock(m);
            if (gdb_state() == PC_GDB_RUNNING) {
                pc_run_debug_hold(m);
            }
            gdb_set_state(PC_GDB_SERVING);
            pc_run_debug_wait_parked(m);
            pc_gdb_clear_breaks(g);
            gdb_set_state(PC_GDB_IDLE);
            gdb_resume(g, NULL, 0);
            machine_unlock(m);
            return;
        }
    }
}

static gpointer gdb_thread(gpointer opaque)
{
    PcGdb *g = opaque;
    for (;;) {
        int conn = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            fprintf(stderr, PC_PROGRAM_NAME ": gdb: accept: %s\n", strerror(errno));
            return NULL;
        }
        int one = 1;
        setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        machine_lock(g->m);
        bool gone = g->m->run_state == MACHINE_SHUTDOWN;
        if (!gone) {
            gdb_rsp_init(&g->server, conn, &g->ops, g);
            GdbStop stop = {.kind = GDB_STOP_SIGNAL, .tid = 1, .signal = SIGTRAP};
            gdb_set_state(PC_GDB_RUNNING);   /* a connecting gdb stops the machine */
            gdb_take_stop(g, &stop);
        }
        machine_unlock(g->m);
        if (!gone) {
            gdb_session(g);
        }
        machine_lock(g->m);
        int fd = g->server.fd;
        g->server.fd = -1;
        machine_unlock(g->m);
        close(fd);
    }
}

static bool gdb_listen(PcGdb *g, const char *host, int port, GError **err)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    int rc = getaddrinfo(host && *host ? host : NULL, service, &hints, &ai);
    if (rc != 0) {
        g_set_error(err, PC_GDB_ERROR, 0, "-gdb: %s: %s", host, gai_strerror(rc));
        return false;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
        g_set_error(err, PC_GDB_ERROR, 0, "-gdb: cannot listen on port %d: %s", port, strerror(errno));
        freeaddrinfo(ai);
        if (fd >= 0) {
            close(fd);
        }
        return false;
    }
    freeaddrinfo(ai);
    g->listen_fd = fd;
    if (port == 0) {
        fprintf(stderr, PC_PROGRAM_NAME ": gdb stub listening on port %d\n", ntohs(sa.sin_port));
    }
    return true;
}

bool pc_gdb_start(Machine *m, const char *host, int port, GError **err)
{
    PcGdb *g = &pc_gdb;
    g->kvm = strcmp(m->accel->ops->name, "kvm") == 0;
    if (g->kvm ? !accel_kvm_debug.get : strcmp(m->accel->ops->name, "tcg") != 0) {
        g_set_error(err, PC_GDB_ERROR, 1, "-gdb: the gdb stub does not support the %s accelerator",
                    m->accel->ops->name);
        return false;
    }
    g->m = m;
    g->cpus = g_new0(PcGdbCpu, m->nr_vcpus);
    for (int i = 0; i < m->nr_vcpus; i++) {
        g->cpus[i].kind = GDB_RESUME_CONTINUE;
    }
    g_cond_init(&g->cond);
    g->server.fd = -1;
    pc_gdb_target_init(g);
    if (!gdb_listen(g, host, port, err)) {
        return false;
    }
    if (pipe2(g->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        g_set_error(err, PC_GDB_ERROR, 0, "-gdb: pipe: %s", strerror(errno));
        return false;
    }
    if (g->kvm) {
        pc_gdb_kvm_init(g);
        accel_kvm_debug.on_debug_exit = pc_gdb_kvm_debug_exit;
    } else {
        tcg_debug_breakpoint = pc_gdb_breakpoint_at;
        accel_tcg_debug = &gdb_tcg_hooks;
    }
    GThread *t = g_thread_try_new("gdb", gdb_thread, g, err);
    if (!t) {
        return false;
    }
    g_thread_unref(t);
    return true;
}

void pc_gdb_machine_exit(int code)
{
    PcGdb *g = &pc_gdb;
    if (!g->m) {
        return;
    }
    machine_lock(g->m);
    if (gdb_state() == PC_GDB_RUNNING && g->server.fd >= 0) {
        GdbStop stop = {.kind = GDB_STOP_EXITED, .exit_code = code};
        gdb_rsp_report_exit(&g->server, &stop);
        gdb_set_state(PC_GDB_IDLE);
    }
    machine_unlock(g->m);
}
