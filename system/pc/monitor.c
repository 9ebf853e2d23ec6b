/*
 * The human monitor: a line editor on the raw console and a small command table. The commands share
 * their effects with QMP's (runstate.h); only the presentation differs.
 */
#include "system/pc/monitor.h"

#include <string.h>

#include "system/pc/runstate.h"

#define PC_MONITOR_PROMPT "(ember) "

struct PcMonitor {
    Machine *m;
    PcMonitorWrite write;
    void *opaque;
    GString *line;
};

typedef void (*PcMonitorCmd)(Machine *m, const char *args, GString *out);

static void mon_info_status(Machine *m, GString *out)
{
    const char *status = pc_vm_status(m);
    g_string_append_printf(out, "VM status: %s\n", strcmp(status, "prelaunch") == 0 ? "paused (prelaunch)" : status);
}

static void mon_info_cpus(Machine *m, GString *out)
{
    for (int i = 0; i < m->nr_vcpus; i++) {
        g_string_append_printf(out, "%c CPU #%d: thread_id=%d%s\n", i == 0 ? '*' : ' ', i,
                               (int)pc_vcpu_thread_id(m, i),
                               m->vcpus[i].wait_for_sipi ? " (waiting for SIPI)" : m->vcpus[i].halted ? " (halted)" : "");
    }
}

static void mon_info_block(Machine *m, GString *out)
{
    const PcHooks *h = pc_run_hooks(m);
    GPtrArray *disks = h->block_list ? h->block_list(m) : NULL;
    if (!disks || disks->len == 0) {
        g_string_append(out, "no block devices\n");
    }
    for (guint i = 0; disks && i < disks->len; i++) {
        PcBlockInfo *b = disks->pdata[i];
        g_string_append_printf(out, "%s: %s (raw%s, %" G_GUINT64_FORMAT " bytes)\n", b->id, b->path,
                               b->readonly ? ", read-only" : "", b->size);
    }
    if (disks) {
        g_ptr_array_free(disks, TRUE);
    }
}

static void mon_info(Machine *m, const char *args, GString *out)
{
    static const struct {
        const char *name;
        void (*fn)(Machine *m, GString *out);
        const char *help;
    } items[] = {
        { "status", mon_info_status, "whether the CPUs run" },
        { "cpus", mon_info_cpus, "the CPUs and their threads" },
        { "block", mon_info_block, "the disks" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(items); i++) {
        if (strcmp(args, items[i].name) == 0) {
            items[i].fn(m, out);
            return;
        }
    }
    if (*args) {
        g_string_append_printf(out, "info: unknown item '%s'\n", args);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(items); i++) {
        g_string_append_printf(out, "info %-8s -- %s\n", items[i].name, items[i].help);
    }
}

static void mon_stop(Machine *m, const char *args, GString *out)
{
    (void)args, (void)out;
    pc_vm_stop(m);
}

static void mon_cont(Machine *m, const char *args, GString *out)
{
    (void)args, (void)out;
    pc_vm_cont(m);
}

static void mon_system_reset(Machine *m, const char *args, GString *out)
{
    (void)args, (void)out;
    machine_request_reset(m, SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
}

static void mon_system_powerdown(Machine *m, const char *args, GString *out)
{
    (void)args, (void)out;
    machine_request_powerdown(m);
}

static void mon_quit(Machine *m, const char *args, GString *out)
{
    (void)args, (void)out;
    machine_request_shutdown(m, SHUTDOWN_CAUSE_HOST_QMP_QUIT);
}

static void mon_help(Machine *m, const char *args, GString *out);

static const struct {
    const char *name;
    PcMonitorCmd fn;
    const char *help;
} mon_commands[] = {
    { "info", mon_info, "info status|cpus|block -- show the machine's state" },
    { "stop", mon_stop, "stop -- pause the CPUs" },
    { "cont", mon_cont, "cont -- resume the CPUs" },
    { "c", mon_cont, NULL },
    { "system_reset", mon_system_reset, "system_reset -- reset the machine" },
    { "system_powerdown", mon_system_powerdown, "system_powerdown -- press the power button" },
    { "quit", mon_quit, "quit -- end the emulator" },
    { "q", mon_quit, NULL },
    { "help", mon_help, "help -- this list" },
    { "?", mon_help, NULL },
};

static void mon_help(Machine *m, const char *args, GString *out)
{
    (void)m, (void)args;
    for (size_t i = 0; i < G_N_ELEMENTS(mon_commands); i++) {
        if (mon_commands[i].help) {
            g_string_append_printf(out, "%s\n", mon_commands[i].help);
        }
    }
}

char *pc_monitor_command(Machine *m, const char *line)
{
    GString *out = g_string_new(NULL);
    char *copy = g_strstrip(g_strdup(line));
    char *args = copy + strcspn(copy, " \t");
    if (*args) {
        *args++ = '\0';
        args = g_strstrip(args);
    }
    if (*copy) {
        size_t i;
        for (i = 0; i < G_N_ELEMENTS(mon_commands) && strcmp(mon_commands[i].name, copy) != 0; i++) {
        }
        if (i < G_N_ELEMENTS(mon_commands)) {
            mon_commands[i].fn(m, args, out);
        } else {
            g_string_append_printf(out, "unknown command: '%s' (try help)\n", copy);
        }
    }
    g_free(copy);
    return g_string_free(out, FALSE);
}

PcMonitor *pc_monitor_new(Machine *m, PcMonitorWrite write, void *opaque)
{
    PcMonitor *mon = g_new0(PcMonitor, 1);
    mon->m = m;
    mon->write = write;
    mon->opaque = opaque;
    mon->line = g_string_new(NULL);
    return mon;
}

void pc_monitor_free(PcMonitor *mon)
{
    if (mon) {
        g_string_free(mon->line, TRUE);
        g_free(mon);
    }
}

void pc_monitor_enter(PcMonitor *mon)
{
    mon->write(mon->opaque, "\r\nember monitor - type 'help' for more information\r\n" PC_MONITOR_PROMPT);
    mon->write(mon->opaque, mon->line->str);
}

/* The raw terminal does not translate our \n on input; output gets \r\n so lines start at the left. */
static void mon_write_lines(PcMonitor *mon, const char *text)
{
    char **lines = g_strsplit(text, "\n", -1);
    char *joined = g_strjoinv("\r\n", lines);
    mon->write(mon->opaque, joined);
    g_free(joined);
    g_strfreev(lines);
}

void pc_monitor_input(PcMonitor *mon, uint8_t byte)
{
    if (byte == '\r' || byte == '\n') {
        mon->write(mon->opaque, "\r\n");
        machine_lock(mon->m);
        char *out = pc_monitor_command(mon->m, mon->line->str);
        machine_unlock(mon->m);
        mon_write_lines(mon, out);
        g_free(out);
        g_string_truncate(mon->line, 0);
        mon->write(mon->opaque, PC_MONITOR_PROMPT);
    } else if (byte == 0x7f || byte == 0x08) {
        if (mon->line->len > 0) {
            g_string_truncate(mon->line, mon->line->len - 1);
            mon->write(mon->opaque, "\b \b");
        }
    } else if (byte == 0x15) {   /* Ctrl-U: kill the line */
        for (gsize i = 0; i < mon->line->len; i++) {
            mon->write(mon->opaque, "\b \b");
        }
        g_string_truncate(mon->line, 0);
    } else if (byte >= 0x20 && byte < 0x7f) {
        char s[2] = { (char)byte, 0 };
        g_string_append_c(mon->line, (char)byte);
        mon->write(mon->opaque, s);
    }
}
