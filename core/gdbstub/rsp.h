/*
 * The GDB remote serial protocol, independent of how the target runs and of the transport: packet framing
 * and checksums, acknowledgement mode, qSupported, the target description, and the command dispatcher.
 * A front end (user mode, system mode) supplies a GdbTargetOps table and an already connected socket; it
 * calls gdb_rsp_serve whenever the target has stopped and gets back what gdb asked to do next.
 */
#ifndef EMBER_GDBSTUB_RSP_H
#define EMBER_GDBSTUB_RSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

/* Z/z packet types */
enum { GDB_BP_SW = 0, GDB_BP_HW = 1, GDB_WP_WRITE = 2, GDB_WP_READ = 3, GDB_WP_ACCESS = 4 };

/* What the target does for the protocol. Thread ids are positive; all callbacks run with the target stopped. */
typedef struct GdbTargetOps {
    /* Register regno (target-description numbering) of thread tid into buf; its size, or -1 if unknown. */
    int (*read_reg)(void *opaque, int tid, int regno, uint8_t *buf);
    /* Write it from buf (len bytes); 0 or -1. */
    int (*write_reg)(void *opaque, int tid, int regno, const uint8_t *buf, int len);
    /* Memory: the number of bytes done (may be short at an unmapped page), or a negative errno. */
    long (*read_mem)(void *opaque, uint64_t addr, void *buf, size_t len);
    long (*write_mem)(void *opaque, uint64_t addr, const void *buf, size_t len);
    /* Breakpoints and watchpoints (GDB_BP_* / GDB_WP_*): 0, -ENOSYS when the type is not supported, or -errno. */
    int (*insert_bp)(void *opaque, int type, uint64_t addr, uint64_t len);
    int (*remove_bp)(void *opaque, int type, uint64_t addr, uint64_t len);
    /* The live threads (at most max ids into tids); their number. */
    int (*threads)(void *opaque, int *tids, int max);
    bool (*thread_alive)(void *opaque, int tid);
    /* qXfer:OBJECT:read:ANNEX for objects other than "features" (libraries-svr4, auxv, exec-file): append the
       whole object to out; 0, or -1 when it is not available. May be NULL. */
    int (*xfer_read)(void *opaque, const char *object, const char *annex, GString *out);
    /* Objects xfer_read provides, as qSupported features ("qXfer:auxv:read+;..."); may be NULL. */
    const char *xfer_features;
    /* The target description (an XML document named target.xml, plus any it includes) and the register count. */
    const char *(*tdesc)(void *opaque, const char *annex);
    int num_regs;
} GdbTargetOps;

/* Why the target stopped, as a stop reply reports it. */
typedef enum { GDB_STOP_SIGNAL, GDB_STOP_EXITED, GDB_STOP_KILLED } GdbStopKind;

typedef struct GdbStop {
    GdbStopKind kind;
    int tid;                    /* the thread that stopped (GDB_STOP_SIGNAL) */
    int signal;                 /* a host signal number (0: none, reported as 0) */
    int exit_code;              /* GDB_STOP_EXITED */
    bool swbreak, hwbreak;      /* the reason for a SIGTRAP, when known */
    int watch_type;             /* 0, or GDB_WP_* with watch_addr */
    uint64_t watch_addr;
} GdbStop;

/* What gdb asked the target to do when it resumes. */
typedef enum { GDB_RESUME_NONE = 0, GDB_RESUME_CONTINUE, GDB_RESUME_STEP } GdbResumeKind;

#define GDB_RESUME_MAX_THREADS 32

typedef struct GdbResume {
    bool detach, kill;          /* D / k: forget the debugger, or end the process */
    /* For threads not listed below. */
    GdbResumeKind default_kind;
    int default_signal;         /* host signal to deliver, 0 for none */
    int n;
    struct {
        int tid;
        GdbResumeKind kind;
        int signal;
    } thread[GDB_RESUME_MAX_THREADS];
} GdbResume;

typedef struct GdbServer {
    int fd;
    bool noack;
    const GdbTargetOps *ops;
    void *opaque;
    int g_tid, c_tid;           /* Hg / Hc (0 or -1: any) */
    GString *in, *out;          /* the packet being read, the reply being built */
    GString *xfer;              /* the qXfer object last read, kept so gdb may fetch it in pieces */
    char xfer_key[96];
    int tid_cursor;             /* qsThreadInfo */
    bool running;               /* resumed: gdb waits for a stop reply */
    GdbStop last_stop;
} GdbServer;

/* Start a session on a connected socket. */
void gdb_rsp_init(GdbServer *s, int fd, const GdbTargetOps *ops, void *opaque);

/*
 * The target has stopped: answer gdb's commands until it resumes, detaches or kills. Returns 0 with *resume
 * filled in, or -1 when the connection is gone (the caller then forgets the debugger, as after a detach).
 */
int gdb_rsp_serve(GdbServer *s, const GdbStop *stop, GdbResume *resume);

/* Report that the process ended (W or X) without waiting for an answer. */
void gdb_rsp_report_exit(GdbServer *s, const GdbStop *stop);

/* The action for thread tid in a resume. */
GdbResumeKind gdb_resume_for(const GdbResume *r, int tid, int *signal);

/* Signal numbers: GDB's own numbering on the wire, the host's everywhere else. */
int gdb_signal_from_host(int sig);
int gdb_signal_to_host(int gsig);

/* The x86-64 target description (x87, SSE, AVX, fs_base/gs_base, orig_rax) and its register numbers. */
const char *gdb_x86_64_tdesc(void *opaque, const char *annex);
enum {
    GDB_X86_RAX = 0, GDB_X86_RIP = 16, GDB_X86_EFLAGS = 17, GDB_X86_CS = 18, GDB_X86_ST0 = 24,
    GDB_X86_FCTRL = 32, GDB_X86_FOP = 39, GDB_X86_XMM0 = 40, GDB_X86_MXCSR = 56, GDB_X86_ORIG_RAX = 57,
    GDB_X86_FS_BASE = 58, GDB_X86_GS_BASE = 59, GDB_X86_YMM0H = 60, GDB_X86_NUM_REGS = 76,
};

#endif
