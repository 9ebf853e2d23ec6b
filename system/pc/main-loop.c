/*
 * The main loop (see main-loop.h). A signal becomes a shutdown request like any other, so that the
 * SHUTDOWN event goes out, the vCPUs park and the disks are flushed before the process ends.
 */
#include "system/pc/main-loop.h"

#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "system/pc/chardev.h"
#include "system/pc/runstate.h"

static char *pc_pidfile;

static gboolean pc_signal_cb(gpointer opaque)
{
    Machine *m = opaque;
    machine_lock(m);
    machine_request_shutdown(m, SHUTDOWN_CAUSE_HOST_SIGNAL);
    machine_unlock(m);
    return G_SOURCE_CONTINUE;
}

static void pc_remove_pidfile(void)
{
    if (pc_pidfile) {
        unlink(pc_pidfile);
        g_free(pc_pidfile);
        pc_pidfile = NULL;
    }
}

bool pc_main_loop_prepare(Machine *m, const char *pidfile, GError **err)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };   /* SIGHUP: the terminal went away */
    for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++) {
        GSource *s = g_unix_signal_source_new(sigs[i]);
        g_source_set_callback(s, pc_signal_cb, m, NULL);
        g_source_attach(s, m->main_context);
        g_source_unref(s);
    }
    signal(SIGPIPE, SIG_IGN);   /* a console or socket reader that went away is not fatal */
    if (pidfile) {
        char *text = g_strdup_printf("%d\n", (int)getpid());
        bool ok = g_file_set_contents(pidfile, text, -1, err);
        g_free(text);
        if (!ok) {
            return false;
        }
        pc_pidfile = g_strdup(pidfile);
        atexit(pc_remove_pidfile);
    }
    return true;
}

int pc_main_loop_run(Machine *m)
{
    g_main_loop_run(pc_run_loop(m));
    pc_vcpus_stop_and_join(m);
    const PcHooks *h = pc_run_hooks(m);
    if (h->flush_disks) {
        h->flush_disks(m);
    }
    pc_remove_pidfile();
    pc_console_restore();
    return pc_run_exit_code(m);
}
