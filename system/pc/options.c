/*
 * ember-system-x86_64's command line. One table row per option (name, whether it takes a value, its
 * handler, its help line); the handlers validate as they go so that every mistake is reported as one line
 * naming the option and the value. QEMU's syntax is kept where the options overlap: single-dash long
 * names (a double dash works too), "key=value,key=value" lists whose commas are escaped by doubling them,
 * and sizes in MiB unless suffixed.
 */
#include "system/pc/options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "system/pc/machine.h"
#include "system/pc/options-internal.h"

typedef bool (*OptionHandler)(PcOptions *o, const char *opt, const char *arg, char **error);

typedef struct OptionDef {
    const char *name;        /* without the dash */
    const char *arg_name;    /* NULL: a flag */
    OptionHandler handle;
    const char *help;
} OptionDef;

static bool opt_accel(PcOptions *o, const char *opt, const char *arg, char **error)
{
    GArray *kv = opt_kv_split(arg);
    const char *name = g_array_index(kv, KvPair, 0).key;
    bool ok = true;
    if (g_array_index(kv, KvPair, 0).value && strcmp(name, "accel") == 0) {
        name = g_array_index(kv, KvPair, 0).value;
    }
    if (strcmp(name, "tcg") == 0) {
        o->accel = PC_ACCEL_TCG;
    } else if (strcmp(name, "kvm") == 0) {
        o->accel = PC_ACCEL_KVM;
    } else if (strcmp(name, "kvm:tcg") == 0) {
        o->accel = PC_ACCEL_KVM_OR_TCG;
    } else {
        ok = opt_fail(error, opt, arg, "unknown accelerator (use tcg, kvm or kvm:tcg)");
    }
    /* thread=single|multi and tb-size= are QEMU's TCG tuning knobs; the rest is unknown to us. */
    for (guint i = 1; ok && i < kv->len; i++) {
        const char *key = g_array_index(kv, KvPair, i).key;
        if (strcmp(key, "thread") != 0 && strcmp(key, "tb-size") != 0) {
            ok = opt_fail(error, opt, arg, "unknown parameter '%s'", key);
        }
    }
    opt_kv_free(kv);
    return ok;
}

static bool opt_enable_kvm(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt, (void)arg, (void)error;
    o->accel = PC_ACCEL_KVM;
    return true;
}

static bool opt_m(PcOptions *o, const char *opt, const char *arg, char **error)
{
    const char *size = arg;
    if (g_str_has_prefix(arg, "size=")) {
        size = arg + 5;
    }
    uint64_t bytes;
    if (!opt_parse_size(size, &bytes)) {
        return opt_fail(error, opt, arg, "not a size (use e.g. 512M or 2G)");
    }
    if (bytes < PC_RAM_MIN) {
        return opt_fail(error, opt, arg, "too little RAM (at least 32 MiB)");
    }
    if (bytes > PC_RAM_MAX) {
        return opt_fail(error, opt, arg, "too much RAM (at most 1 TiB)");
    }
    o->ram_size = bytes;
    opt_set_string(&o->ram_arg, arg);
    return true;
}

static bool opt_smp(PcOptions *o, const char *opt, const char *arg, char **error)
{
    GArray *kv = opt_kv_split(arg);
    bool ok = true;
    long n = -1;
    for (guint i = 0; ok && i < kv->len; i++) {
        KvPair *p = &g_array_index(kv, KvPair, i);
        long v;
        if (i == 0 && !p->value) {
            ok = opt_parse_int(p->key, 1, PC_SMP_MAX, &n);
        } else if (p->value && (strcmp(p->key, "cpus") == 0 || strcmp(p->key, "maxcpus") == 0)) {
            ok = opt_parse_int(p->value, 1, PC_SMP_MAX, &v);
            if (strcmp(p->key, "cpus") == 0) {
                n = v;
            }
        } else if (p->value && (strcmp(p->key, "sockets") == 0 || strcmp(p->key, "cores") == 0 ||
                                strcmp(p->key, "threads") == 0)) {
            ok = opt_parse_int(p->value, 1, PC_SMP_MAX, &v);   /* topology: accepted, every CPU is a socket */
        } else {
            opt_fail(error, opt, arg, "unknown parameter '%s'", p->key);
            opt_kv_free(kv);
            return false;
        }
    }
    opt_kv_free(kv);
    if (!ok || n < 1) {
        return opt_fail(error, opt, arg, "the number of CPUs must be 1 to %d", PC_SMP_MAX);
    }
    o->smp = (int)n;
    return true;
}

static bool opt_kernel(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt, (void)error;
    opt_set_string(&o->kernel, arg);
    return true;
}

static bool opt_initrd(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt, (void)error;
    opt_set_string(&o->initrd, arg);
    return true;
}

static bool opt_append(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt, (void)error;
    opt_set_string(&o->append, arg);
    return true;
}

static bool opt_nographic(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt, (void)arg, (void)error;
    o->nographic = true;
    return true;
}

/* A character device: stdio, mon:stdio, file:PATH, unix:PATH,server=on[,wait=off], none, null. */
static bool opt_no_reboot(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt, (void)arg, (void)error;
    o->no_reboot = true;
    return true;
}

static bool opt_name(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt, (void)error;
    const char *name = g_str_has_prefix(arg, "guest=") ? arg + 6 : arg;
    char *comma = strchr(name, ',');
    g_free(o->name);
    o->name = comma ? g_strndup(name, (gsize)(comma - name)) : g_strdup(name);
    return true;
}

static bool opt_pidfile(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt, (void)error;
    opt_set_string(&o->pidfile, arg);
    return true;
}

static const struct {
    const char *name;
    unsigned bit;
    const char *help;
} log_items[] = {
    { "int", MACHINE_LOG_INT, "interrupts and exceptions" },
    { "cpu_reset", MACHINE_LOG_CPU_RESET, "CPU state at each reset" },
    { "guest_errors", MACHINE_LOG_GUEST_ERRORS, "the guest misprogramming a device" },
    { "unimp", MACHINE_LOG_UNIMP, "the guest using something not modelled" },
    { "ioport", MACHINE_LOG_IOPORT, "port I/O" },
    { "in_asm", MACHINE_LOG_IN_ASM, "guest code of each translated block (TCG)" },
    { "op", MACHINE_LOG_OP, "the IR of each block (TCG)" },
    { "op_opt", MACHINE_LOG_OP_OPT, "the optimized IR of each block (TCG)" },
    { "exec", MACHINE_LOG_EXEC, "each block executed (TCG)" },
    { "cpu", MACHINE_LOG_CPU, "the CPU state before each block (TCG)" },
};

long pc_log_mask_parse(const char *items, char **error)
{
    long mask = 0;
    gchar **parts = g_strsplit(items, ",", -1);
    for (gchar **p = parts; *p; p++) {
        size_t i;
        for (i = 0; i < G_N_ELEMENTS(log_items) && strcmp(*p, log_items[i].name) != 0; i++) {
        }
        if (i == G_N_ELEMENTS(log_items)) {
            *error = g_strdup_printf("-d %s: unknown item '%s' (-d help lists them)", items, *p);
            g_strfreev(parts);
            return -1;
        }
        mask |= log_items[i].bit;
    }
    g_strfreev(parts);
    return mask;
}

const char *pc_log_items_help(void)
{
    static char *text;
    if (!text) {
        GString *s = g_string_new("Log items (comma separated):\n");
        for (size_t i = 0; i < G_N_ELEMENTS(log_items); i++) {
            g_string_append_printf(s, "%-14s %s\n", log_items[i].name, log_items[i].help);
        }
        text = g_string_free(s, FALSE);
    }
    return text;
}

static bool opt_d(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt;
    if (strcmp(arg, "help") == 0) {
        o->action = PC_OPTIONS_LOG_HELP;
        return true;
    }
    long mask = pc_log_mask_parse(arg, error);
    if (mask < 0) {
        return false;
    }
    o->log_mask |= (unsigned)mask;
    return true;
}

static bool opt_D(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt, (void)error;
    opt_set_string(&o->logfile, arg);
    return true;
}

static bool opt_S(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt, (void)arg, (void)error;
    o->start_paused = true;
    return true;
}

/* -gdb tcp:[HOST]:PORT (QEMU's chardev spelling; "none" turns the stub off) and -s, short for tcp::1234. */
static bool opt_gdb(PcOptions *o, const char *opt, const char *arg, char **error)
{
    if (strcmp(opt, "s") == 0) {
        arg = "tcp::1234";
    }
    if (strcmp(arg, "none") == 0) {
        o->gdb_port = -1;
        return true;
    }
    const char *colon = g_str_has_prefix(arg, "tcp:") ? strrchr(arg + 4, ':') : NULL;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || !colon[1] || *end || port < 0 || port > 65535) {
        return opt_fail(error, opt, arg, "expected tcp:[HOST]:PORT (PORT 0: any free port, printed)");
    }
    g_free(o->gdb_host);
    o->gdb_host = colon > arg + 4 ? g_strndup(arg + 4, (gsize)(colon - arg - 4)) : NULL;
    o->gdb_port = (int)port;
    return true;
}

static bool opt_help(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt, (void)arg, (void)error;
    o->action = PC_OPTIONS_HELP;
    return true;
}

static bool opt_version(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)opt, (void)arg, (void)error;
    o->action = PC_OPTIONS_VERSION;
    return true;
}

/* Options that only make sense with a display or defaults we do not have: "none" is what we do anyway. */
static bool opt_display(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)o;
    if (strcmp(arg, "none") != 0) {
        return opt_fail(error, opt, arg, "there is no display (use none, or -nographic)");
    }
    return true;
}

static bool opt_ignored_flag(PcOptions *o, const char *opt, const char *arg, char **error)
{
    (void)o, (void)opt, (void)arg, (void)error;
    return true;
}

static const OptionDef option_defs[] = {
    { "accel", "tcg|kvm|kvm:tcg", opt_accel, "the accelerator that runs the CPUs (default tcg)" },
    { "enable-kvm", NULL, opt_enable_kvm, "same as -accel kvm" },
    { "m", "SIZE", opt_m, "guest RAM, in MiB or with a K/M/G/T suffix (default 128M)" },
    { "smp", "N", opt_smp, "number of CPUs, 1 to 64 (default 1)" },
    { "kernel", "FILE", opt_kernel, "a Linux bzImage or multiboot kernel" },
    { "initrd", "FILE", opt_initrd, "the initial ramdisk (or multiboot modules, comma separated)" },
    { "append", "CMDLINE", opt_append, "the kernel command line" },
    { "drive", "file=F,format=raw,if=virtio[,readonly=on][,id=ID]", opt_drive, "a virtio disk" },
    { "netdev", "user,id=ID[,hostfwd=tcp::HP-:GP]", opt_netdev, "user networking (libslirp)" },
    { "device", "virtio-net-pci,netdev=ID|virtio-blk-pci,drive=ID|virtio-rng-pci", opt_device,
      "a PCI device" },
    { "nographic", NULL, opt_nographic, "no display: the serial port and monitor on the console" },
    { "serial", "stdio|file:PATH|unix:PATH,server=on[,wait=off]|none", opt_serial,
      "COM1 (first), COM2 (second)" },
    { "qmp", "unix:PATH,server=on,wait=off", opt_qmp, "the QMP socket" },
    { "monitor", "stdio|none", opt_monitor, "the human monitor (Ctrl-A c on the console)" },
    { "no-reboot", NULL, opt_no_reboot, "exit instead of rebooting when the guest resets" },
    { "name", "NAME", opt_name, "the guest's name" },
    { "pidfile", "FILE", opt_pidfile, "write the process id to FILE (removed at exit)" },
    { "d", "ITEM,...", opt_d, "log items (-d help lists them)" },
    { "D", "FILE", opt_D, "write the log to FILE instead of stderr" },
    { "S", NULL, opt_S, "start with the CPUs stopped (QMP cont or gdb's continue starts them)" },
    { "gdb", "tcp:[HOST]:PORT", opt_gdb, "serve gdb on this TCP port (tcp::0: any free one, printed)" },
    { "s", NULL, opt_gdb, "same as -gdb tcp::1234" },
    { "display", "none", opt_display, "accepted for compatibility: there is no display" },
    { "nodefaults", NULL, opt_ignored_flag, "accepted for compatibility" },
    { "h", NULL, opt_help, "this text" },
    { "help", NULL, opt_help, NULL },
    { "version", NULL, opt_version, "the version" },
};

const char *pc_options_usage(void)
{
    static char *text;
    if (!text) {
        GString *s = g_string_new("usage: " PC_PROGRAM_NAME " [options]\n\n");
        for (size_t i = 0; i < G_N_ELEMENTS(option_defs); i++) {
            if (!option_defs[i].help) {
                continue;
            }
            char *left = g_strdup_printf("-%s %s", option_defs[i].name,
                                         option_defs[i].arg_name ? option_defs[i].arg_name : "");
            g_string_append_printf(s, "  %s\n      %s\n", left, option_defs[i].help);
            g_free(left);
        }
        g_string_append(s, "\nOn the console: Ctrl-A x quits, Ctrl-A c switches to the monitor, Ctrl-A h helps.\n");
        text = g_string_free(s, FALSE);
    }
    return text;
}

uint64_t pc_host_ram_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
}

/* -device references name a -drive (if=none) or a -netdev. */
bool pc_options_parse(PcOptions *o, int argc, char **argv, uint64_t host_ram, char **error)
{
    memset(o, 0, sizeof(*o));
    o->accel = PC_ACCEL_TCG;
    o->ram_size = 128ull << 20;   /* QEMU's default */
    o->smp = 1;
    o->gdb_port = -1;
    o->drives = g_ptr_array_new_with_free_func(opt_drive_free);
    o->netdevs = g_ptr_array_new_with_free_func(opt_netdev_free);
    o->device_refs = g_ptr_array_new_with_free_func(g_free);
    *error = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            *error = g_strdup_printf("'%s' is not an option (options start with '-')", a);
            return false;
        }
        const char *name = a + (a[1] == '-' ? 2 : 1);   /* --m works like -m, as in QEMU */
        const OptionDef *def = NULL;
        for (size_t k = 0; k < G_N_ELEMENTS(option_defs) && !def; k++) {
            if (strcmp(option_defs[k].name, name) == 0) {
                def = &option_defs[k];
            }
        }
        if (!def) {
            *error = g_strdup_printf("unknown option '%s'", a);
            return false;
        }
        const char *arg = NULL;
        if (def->arg_name) {
            if (i + 1 >= argc) {
                *error = g_strdup_printf("-%s needs a value (%s)", def->name, def->arg_name);
                return false;
            }
            arg = argv[++i];
        }
        if (!def->handle(o, def->name, arg, error)) {
            return false;
        }
        if (o->action == PC_OPTIONS_HELP || o->action == PC_OPTIONS_VERSION) {
            return true;   /* as in QEMU, -h and -version win over whatever follows */
        }
    }
    if (o->action != PC_OPTIONS_RUN) {
        return true;
    }
    if (o->ram_size > host_ram) {
        *error = g_strdup_printf("-m %s: more than the host's RAM (%" G_GUINT64_FORMAT " MiB)",
                                 o->ram_arg ? o->ram_arg : "128M", host_ram >> 20);
        return false;
    }
    if (!opt_resolve_devices(o, error)) {
        return false;
    }
    for (guint j = 0; j < o->netdevs->len; j++) {
        PcNetdevSpec *n = o->netdevs->pdata[j];
        if (!n->has_device) {
            /* QEMU only warns; a network nobody can reach is almost always a typo, so say so and stop. */
            return opt_fail(error, "netdev", n->id, "no -device virtio-net-pci,netdev=%s uses it", n->id);
        }
    }
    if ((o->initrd || o->append) && !o->kernel) {
        *error = g_strdup_printf("-%s needs -kernel", o->initrd ? "initrd" : "append");
        return false;
    }
    return true;
}

void pc_options_free(PcOptions *o)
{
    g_free(o->ram_arg);
    g_free(o->kernel);
    g_free(o->initrd);
    g_free(o->append);
    if (o->drives) {
        g_ptr_array_free(o->drives, TRUE);
    }
    if (o->netdevs) {
        g_ptr_array_free(o->netdevs, TRUE);
    }
    if (o->device_refs) {
        g_ptr_array_free(o->device_refs, TRUE);
    }
    for (int i = 0; i < PC_SERIAL_MAX; i++) {
        g_free(o->serial[i].path);
    }
    g_free(o->qmp_path);
    g_free(o->name);
    g_free(o->pidfile);
    g_free(o->logfile);
    g_free(o->gdb_host);
    memset(o, 0, sizeof(*o));
}
