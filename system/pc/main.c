/*
 * ember-system-x86_64: parse the command line, build the PC (RAM, accelerator, vCPUs, legacy devices,
 * PCI and virtio, the kernel), connect the console, the monitor and QMP, start the vCPU threads and run the
 * main loop until the machine shuts down. The only place in system mode that exits the process.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "system/pc/accel.h"
#include "system/pc/board.h"
#include "system/pc/boot/boot.h"
#include "system/pc/chardev.h"
#include "system/pc/gdbstub.h"
#include "system/pc/main-loop.h"
#include "system/pc/monitor.h"
#include "system/pc/options.h"
#include "system/pc/pci/pci.h"
#include "system/pc/qmp.h"
#include "system/pc/runstate.h"
#include "system/pc/virtio/virtio-devices.h"

static void G_GNUC_NORETURN pc_die(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void pc_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    pc_console_restore();
    fprintf(stderr, PC_PROGRAM_NAME ": %s\n", msg);
    exit(1);
}

static void pc_die_gerror(GError *err) { pc_die("%s", err ? err->message : "failed"); }

/* Guest RAM: one anonymous mapping, reserved lazily (MAP_NORESERVE) as the guest touches it. */
static void pc_ram_alloc(Machine *m, uint64_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        pc_die("-m %" G_GUINT64_FORMAT "M: cannot allocate guest RAM: %s", size >> 20, g_strerror(errno));
    }
    madvise(p, size, MADV_MERGEABLE);   /* best effort: identical guest pages may be shared (KSM) */
    m->ram = p;
    m->ram_size = size;
    m->ram_low = MIN(size, PC_LOW_RAM_MAX);
    m->ram_high = size - m->ram_low;
}

/* -accel: KVM when asked (and when it works, for kvm:tcg), else the translator. */
static void pc_init_accel(Machine *m, PcAccelChoice choice)
{
    GError *err = NULL;
    Accel *accel = g_new0(Accel, 1);
    m->accel = accel;
    const AccelOps *kvm = accel_find("kvm");
    if (choice != PC_ACCEL_TCG) {
        if (!kvm) {
            if (choice == PC_ACCEL_KVM) {
                pc_die("-accel kvm: the KVM accelerator is not built in");
            }
        } else {
            accel->ops = kvm;
            if (kvm->machine_init(m, &err)) {
                return;
            }
            if (choice == PC_ACCEL_KVM) {
                pc_die("-accel kvm: %s", err->message);
            }
            fprintf(stderr, PC_PROGRAM_NAME ": KVM is not usable (%s), falling back to TCG\n", err->message);
            g_clear_error(&err);
            kvm->machine_destroy(m);
            memset(accel, 0, sizeof(*accel));
        }
    }
    accel->ops = accel_find("tcg");
    if (!accel->ops->machine_init(m, &err)) {
        pc_die("-accel tcg: %s", err->message);
    }
}

static void pc_log_unassigned(void *opaque, const char *bus, bool write, uint64_t addr, unsigned size,
                              uint64_t value)
{
    machine_log(opaque, MACHINE_LOG_GUEST_ERRORS, "%s: unassigned %s at %#" G_GINT64_MODIFIER "x size %u value %#"
                G_GINT64_MODIFIER "x", bus, write ? "write" : "read", (guint64)addr, size, (guint64)value);
}

static Machine *pc_machine_new(const PcOptions *o)
{
    Machine *m = g_new0(Machine, 1);
    g_mutex_init(&m->lock);
    g_cond_init(&m->vcpu_wake);
    iobus_init(&m->pio, "pio");
    iobus_init(&m->mmio, "mmio");
    m->pio.log_unassigned = m->mmio.log_unassigned = pc_log_unassigned;
    m->pio.log_opaque = m->mmio.log_opaque = m;
    m->run_state = MACHINE_RUNNING;
    m->no_reboot = o->no_reboot;
    m->log_mask = o->log_mask;
    m->main_context = g_main_context_default();
    pc_ram_alloc(m, o->ram_size);
    return m;
}

/* The vCPUs exist (index, boot state) before the accelerator starts: KVM sizes its CPUID by them. */
static void pc_alloc_vcpus(Machine *m, int n)
{
    m->nr_vcpus = n;
    m->vcpus = g_new0(Vcpu, n);
    for (int i = 0; i < n; i++) {
        Vcpu *v = &m->vcpus[i];
        v->machine = m;
        v->index = i;
        x86_state_reset(&v->boot_state, i, i == 0);
    }
}

static void pc_init_vcpus(Machine *m)
{
    GError *err = NULL;
    for (int i = 0; i < m->nr_vcpus; i++) {
        if (!m->accel->ops->vcpu_init(&m->vcpus[i], &err)) {
            pc_die("vCPU %d: %s", i, err->message);
        }
    }
}

/* ---- hooks for run control ---- */

static void pc_hook_flush(Machine *m)
{
    (void)m;
    virtio_blk_flush_all();
}

static GPtrArray *pc_hook_block_list(Machine *m)
{
    (void)m;
    GPtrArray *disks = virtio_blk_list();
    GPtrArray *out = g_ptr_array_new_with_free_func(pc_block_info_free);
    for (guint i = 0; i < disks->len; i++) {
        const VirtioBlkInfo *d = disks->pdata[i];
        PcBlockInfo *b = g_new0(PcBlockInfo, 1);
        b->id = g_strdup(d->id);
        b->path = g_strdup(d->path);
        b->readonly = d->readonly;
        b->size = d->size;
        g_ptr_array_add(out, b);
    }
    g_ptr_array_unref(disks);
    return out;
}

static const PcHooks pc_hooks = {
    .power_button = pc_board_power_button,
    .flush_disks = pc_hook_flush,
    .block_list = pc_hook_block_list,
};

/* ---- the kernel, reloaded at every reset (the guest may have overwritten it) ---- */

static PcBootConfig pc_boot_cfg;
static Machine *pc_boot_machine;

static void pc_boot_reload(void *opaque)
{
    (void)opaque;
    GError *err = NULL;
    if (!pc_boot_load(pc_boot_machine, &pc_boot_cfg, &err)) {
        fprintf(stderr, PC_PROGRAM_NAME ": reloading the kernel at reset: %s\n", err->message);
        g_error_free(err);
        machine_request_shutdown(pc_boot_machine, SHUTDOWN_CAUSE_GUEST_PANIC);
        pc_run_set_exit_code(pc_boot_machine, 1);
    }
}

/* ---- devices ---- */

static void pc_create_pci(Machine *m, const PcOptions *o)
{
    GError *err = NULL;
    PciBus *bus = pci_host_create(m);
    if (!bus) {
        pc_die("cannot create the PCI host bridge");
    }
    for (guint i = 0; i < o->drives->len; i++) {
        const PcDriveSpec *d = o->drives->pdata[i];
        if (!virtio_blk_create(m, bus, d->id, d->file, d->readonly, &err)) {
            pc_die("-drive file=%s: %s", d->file, err->message);
        }
    }
    for (guint i = 0; i < o->netdevs->len; i++) {
        const PcNetdevSpec *n = o->netdevs->pdata[i];
        if (!virtio_net_create(m, bus, n->id, (const char *const *)n->hostfwd->pdata, &err)) {
            pc_die("-netdev %s: %s", n->id, err->message);
        }
    }
    if (o->rng && !virtio_rng_create(m, bus, &err)) {
        pc_die("-device virtio-rng-pci: %s", err->message);
    }
}

/* A UART has room for input again (lock held, any thread). */
static void pc_main_uart_rx_ready(void *opaque, int index)
{
    PcChardev **com = opaque;
    if (index >= 0 && index < PC_SERIAL_MAX) {
        pc_chardev_rx_ready(com[index]);
    }
}

/* The monitor shares the console with COM1's output. */
static void pc_monitor_write_console(void *opaque, const char *text)
{
    pc_chardev_write(opaque, (const uint8_t *)text, strlen(text));
}

int main(int argc, char **argv)
{
    PcOptions o;
    char *error = NULL;
    GError *err = NULL;
    if (!pc_options_parse(&o, argc, argv, pc_host_ram_bytes(), &error)) {
        fprintf(stderr, PC_PROGRAM_NAME ": %s\n", error);
        return 1;
    }
    switch (o.action) {
    case PC_OPTIONS_HELP:
        fputs(pc_options_usage(), stdout);
        return 0;
    case PC_OPTIONS_VERSION:
        printf(PC_PROGRAM_NAME " version " PC_VERSION " (Ember; command line compatible with QEMU's)\n");
        return 0;
    case PC_OPTIONS_LOG_HELP:
        fputs(pc_log_items_help(), stdout);
        return 0;
    case PC_OPTIONS_RUN:
        break;
    }
    if (!o.kernel) {
        pc_die("no -kernel given (./ember system without options boots the default guest)");
    }
    if (access(o.kernel, R_OK) < 0) {
        pc_die("-kernel %s: %s", o.kernel, g_strerror(errno));
    }
    if (o.initrd && !strchr(o.initrd, ',') && access(o.initrd, R_OK) < 0) {
        pc_die("-initrd %s: %s", o.initrd, g_strerror(errno));
    }

    int log_fd = -1;
    if (o.logfile && (log_fd = open(o.logfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        pc_die("-D %s: %s", o.logfile, g_strerror(errno));
    }

    Machine *m = pc_machine_new(&o);
    pc_alloc_vcpus(m, o.smp);
    pc_init_accel(m, o.accel);
    pc_init_vcpus(m);
    pc_run_new(m, &pc_hooks);

    /* Serial ports: COM1 is the console unless -serial says otherwise (there is no display). */
    PcCharSpec com_spec[PC_SERIAL_MAX] = { { .kind = PC_CHAR_STDIO }, { .kind = PC_CHAR_NONE } };
    for (int i = 0; i < o.nr_serial; i++) {
        com_spec[i] = o.serial[i];
    }
    PcChardev *com[PC_SERIAL_MAX] = { NULL };
    PcChardev *console = NULL;
    CharOut com_out[PC_SERIAL_MAX];
    for (int i = 0; i < PC_SERIAL_MAX; i++) {
        com[i] = pc_chardev_new(m, &com_spec[i], &err);
        if (!com[i]) {
            pc_die_gerror(err);
        }
        com_out[i] = (CharOut){ pc_chardev_write, com[i] };
        if (com_spec[i].kind == PC_CHAR_STDIO) {
            console = com[i];
        }
    }

    PcCharFrontend com_in[PC_SERIAL_MAX];
    if (!pc_board_create_devices(m, com_out, com_in, pc_main_uart_rx_ready, com, &err)) {
        pc_die_gerror(err);
    }
    for (int i = 0; i < PC_SERIAL_MAX; i++) {
        pc_chardev_set_frontend(com[i], &com_in[i]);
    }
    pc_create_pci(m, &o);

    pc_boot_cfg = (PcBootConfig){ .kernel = o.kernel, .initrd = o.initrd, .append = o.append };
    pc_boot_machine = m;
    if (!pc_boot_load(m, &pc_boot_cfg, &err)) {
        pc_die_gerror(err);
    }
    machine_register_reset(m, pc_boot_reload, NULL);

    PcChardev *monitor_console = NULL;
    if (!console && o.monitor_stdio) {
        /* -monitor stdio with the serial ports elsewhere: the console is the monitor's alone. */
        PcCharSpec stdio_spec = { .kind = PC_CHAR_STDIO };
        console = monitor_console = pc_chardev_new(m, &stdio_spec, &err);
        if (!console) {
            pc_die_gerror(err);
        }
    }
    PcMonitor *mon = NULL;
    if (console && !o.monitor_none) {
        mon = pc_monitor_new(m, pc_monitor_write_console, console);
        pc_console_set_monitor(console, mon, o.monitor_stdio);
    }
    QmpServer *qmp = NULL;
    qmp_set_vm_name(o.name);
    if (o.qmp_path) {
        qmp = qmp_server_new(m, o.qmp_path, &err);
        if (!qmp) {
            pc_die_gerror(err);
        }
    }
    if (!pc_main_loop_prepare(m, o.pidfile, &err)) {
        pc_die("-pidfile %s: %s", o.pidfile, err->message);
    }
    for (int i = 0; i < PC_SERIAL_MAX; i++) {
        if (com_spec[i].kind == PC_CHAR_UNIX_SERVER && com_spec[i].wait && !pc_chardev_wait_client(com[i], &err)) {
            pc_die_gerror(err);
        }
    }
    if (qmp && o.qmp_wait && !qmp_server_wait_client(qmp, &err)) {
        pc_die_gerror(err);
    }
    if (log_fd >= 0) {
        dup2(log_fd, STDERR_FILENO);   /* from here on machine_log and the translator's logs go to -D */
        close(log_fd);
    }
    if (o.gdb_port >= 0 && !pc_gdb_start(m, o.gdb_host, o.gdb_port, &err)) {
        pc_die_gerror(err);
    }
    if (!pc_vcpus_start(m, o.start_paused, &err)) {
        pc_die_gerror(err);
    }

    int code = pc_main_loop_run(m);
    pc_gdb_machine_exit(code);

    qmp_server_free(qmp);
    for (int i = 0; i < PC_SERIAL_MAX; i++) {
        pc_chardev_free(com[i]);
    }
    pc_chardev_free(monitor_console);
    pc_monitor_free(mon);
    pc_options_free(&o);
    /* The accelerator, devices and RAM go with the process. */
    return code;
}
