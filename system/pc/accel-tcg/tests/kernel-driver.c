/*
 * A minimal machine for the test kernels of testsuite/kernels/: RAM, the PC devices (UARTs, PIC, PIT,
 * APICs, ACPI PM), one vCPU on the TCG accelerator in a thread, the device timers on this thread's GLib
 * context. The kernel is a multiboot image with the a.out kludge (flat binary); it starts as multiboot
 * says: 32-bit protected mode, flat CS/DS, paging off, EAX = 0x2BADB002, EBX = an info structure.
 *
 * Until the system front end runs these kernels itself, this stands in for it (and for its run control:
 * machine_request_shutdown & co. are defined here).
 */
#include "system/pc/accel-tcg/tests/kernel-driver.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "system/pc/accel-tcg/accel-tcg.h"
#include "system/pc/accel.h"
#include "system/pc/boot/boot.h"
#include "system/pc/devices/pc-devices.h"
#include "system/pc/machine.h"

typedef struct KdRun {
    Machine m;
    Accel accel;
    Vcpu vcpu;
    GString *out;
    volatile int done;          /* the vCPU thread has finished */
    int result;                 /* KD_* */
    bool halt_if;
    bool echo;                  /* copy COM1 to stdout as well */
    const char *stop_at;        /* end the run when COM1 has printed this */
} KdRun;

static KdRun *kd_current;

static int kd_run_machine(KdRun *r, int timeout_ms, char *out, size_t out_len);

/* --- run control (the front end's part of machine.h) --- */

static void kd_stop_all(Machine *m)
{
    for (int i = 0; i < m->nr_vcpus; i++) {
        vcpu_request(&m->vcpus[i], VCPU_REQ_STOP);
    }
}

void machine_request_shutdown(Machine *m, MachineShutdownCause cause)
{
    m->pending_shutdown = cause;
    m->run_state = MACHINE_SHUTDOWN;
    kd_stop_all(m);
}

void machine_request_reset(Machine *m, MachineShutdownCause cause)
{
    m->pending_reset = cause;
    m->run_state = MACHINE_SHUTDOWN;
    kd_stop_all(m);
}

void machine_request_powerdown(Machine *m) { (void)m; }


/* --- console --- */

static void kd_uart_write(void *opaque, const uint8_t *buf, size_t len)
{
    KdRun *r = opaque;
    g_string_append_len(r->out, (const char *)buf, (gssize)len);
    if (r->echo) {
        fwrite(buf, 1, len, stdout);
        fflush(stdout);
    }
    /* Called with the machine lock held (device context). */
    if (r->stop_at && r->result != KD_STOPPED && strstr(r->out->str, r->stop_at)) {
        r->result = KD_STOPPED;
        machine_request_shutdown(&r->m, SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    }
}

/* --- loading: the multiboot header with the a.out kludge (flags bit 16) --- */

static bool kd_load(KdRun *r, const char *path, uint32_t *entry, char *err, size_t errlen)
{
    gchar *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &data, &len, NULL)) {
        snprintf(err, errlen, "cannot read %s", path);
        return false;
    }
    bool ok = false;
    for (gsize off = 0; off + 32 <= len && off < 8192; off += 4) {
        uint32_t h[8];
        memcpy(h, data + off, sizeof(h));
        if (h[0] != 0x1BADB002u || h[0] + h[1] + h[2] != 0) {
            continue;
        }
        if (!(h[1] & (1u << 16))) {
            snprintf(err, errlen, "%s: no a.out kludge addresses", path);
            break;
        }
        uint32_t header_addr = h[3], load_addr = h[4], entry_addr = h[7];
        gsize file_start = off - (header_addr - load_addr);
        gsize n = len - file_start;
        if (!machine_ram_write(&r->m, load_addr, data + file_start, n)) {
            snprintf(err, errlen, "%s: does not fit in RAM", path);
            break;
        }
        *entry = entry_addr;
        ok = true;
        break;
    }
    if (!ok && !err[0]) {
        snprintf(err, errlen, "%s: no multiboot header", path);
    }
    g_free(data);
    return ok;
}

static X86Segment kd_flat(uint16_t sel, uint8_t type)
{
    return (X86Segment){.base = 0, .limit = 0xffffffffu, .selector = sel, .type = type, .present = 1, .s = 1,
                        .db = 1, .g = 1};
}

/* --- the vCPU thread --- */

static gpointer kd_vcpu_thread(gpointer opaque)
{
    KdRun *r = opaque;
    Machine *m = &r->m;
    Vcpu *v = &r->vcpu;
    AccelExit *e = g_new0(AccelExit, 1);
    vcpu_current = v;
    for (;;) {
        machine_lock(m);
        if (m->run_state == MACHINE_SHUTDOWN) {
            machine_unlock(m);
            break;
        }
        if (v->halted) {
            unsigned req = atomic_load(&v->requests);
            bool wake = (req & VCPU_REQ_NMI) || (r->halt_if && pc_cpu_interrupt_pending(v));
            if (!wake) {
                g_cond_wait_until(&m->vcpu_wake, &m->lock, g_get_monotonic_time() + 5000);
                machine_unlock(m);
                continue;
            }
            v->halted = false;
        }
        atomic_fetch_and(&v->requests, ~(unsigned)VCPU_REQ_STOP);
        machine_unlock(m);
        accel_tcg_ops.vcpu_run(v, e);
        machine_lock(m);
        switch (e->reason) {
        case ACCEL_EXIT_HALT:
            v->halted = true;
            r->halt_if = (accel_tcg_env(v)->eflags & X86_IF) != 0;
            if (!r->halt_if && !(atomic_load(&v->requests) & VCPU_REQ_NMI)) {
                /* HLT with interrupts off: the kernel is finished (or stuck). */
                r->result = KD_HALTED;
                m->run_state = MACHINE_SHUTDOWN;
            }
            break;
        case ACCEL_EXIT_SHUTDOWN:
            r->result = KD_TRIPLE_FAULT;
            m->run_state = MACHINE_SHUTDOWN;
            break;
        case ACCEL_EXIT_ERROR:
            r->result = KD_ERROR;
            m->run_state = MACHINE_SHUTDOWN;
            break;
        default:
            break;
        }
        machine_unlock(m);
    }
    g_free(e);
    __atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
    g_main_context_wakeup(m->main_context);
    return NULL;
}

static gboolean kd_timeout(gpointer opaque)
{
    KdRun *r = opaque;
    machine_lock(&r->m);
    if (r->m.run_state != MACHINE_SHUTDOWN) {
        r->result = KD_TIMEOUT;
        machine_request_shutdown(&r->m, SHUTDOWN_CAUSE_HOST_SIGNAL);
    }
    machine_unlock(&r->m);
    return G_SOURCE_REMOVE;
}

static int kd_run(const char *path, const char *initrd, const char *append, bool use_boot, bool echo,
                  uint64_t ram_size, int timeout_ms, char *out, size_t out_len, char *err, size_t err_len);

int kd_run_kernel(const char *path, uint64_t ram_size, int timeout_ms, char *out, size_t out_len, char *err,
                  size_t err_len)
{
    return kd_run(path, NULL, NULL, false, false, ram_size, timeout_ms, out, out_len, err, err_len);
}

static const char *kd_stop_at;

int kd_run_linux(const char *kernel, const char *initrd, const char *append, const char *stop_at, uint64_t ram_size,
                 int timeout_ms, char *out, size_t out_len, char *err, size_t err_len)
{
    kd_stop_at = stop_at;
    int r = kd_run(kernel, initrd, append, true, true, ram_size, timeout_ms, out, out_len, err, err_len);
    kd_stop_at = NULL;
    return r;
}

static int kd_run(const char *path, const char *initrd, const char *append, bool use_boot, bool echo,
                  uint64_t ram_size, int timeout_ms, char *out, size_t out_len, char *err, size_t err_len)
{
    KdRun *r = g_new0(KdRun, 1);
    kd_current = r;
    err[0] = 0;
    Machine *m = &r->m;
    m->ram_size = m->ram_low = ram_size;
    m->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m->ram == MAP_FAILED) {
        snprintf(err, err_len, "no RAM");
        return KD_ERROR;
    }
    iobus_init(&m->pio, "pio");
    iobus_init(&m->mmio, "mmio");
    g_mutex_init(&m->lock);
    g_cond_init(&m->vcpu_wake);
    m->main_context = g_main_context_new();
    m->log_mask = getenv("KD_LOG") ? (unsigned)strtoul(getenv("KD_LOG"), NULL, 0) : 0;
    r->accel.ops = &accel_tcg_ops;
    m->accel = &r->accel;
    m->vcpus = &r->vcpu;
    m->nr_vcpus = 1;
    m->ram_size = m->ram_low = ram_size;
    r->vcpu.machine = m;
    r->vcpu.index = 0;
    r->out = g_string_new(NULL);
    r->result = KD_POWEROFF;

    GError *gerr = NULL;
    if (!accel_tcg_ops.machine_init(m, &gerr) || !accel_tcg_ops.vcpu_init(&r->vcpu, &gerr)) {
        snprintf(err, err_len, "accelerator: %s", gerr ? gerr->message : "?");
        return KD_ERROR;
    }
    PcDevicesConfig cfg = {0};
    cfg.uart_out[0] = (CharOut){.write = kd_uart_write, .opaque = r};
    machine_lock(m);
    PcDevices *devs = pc_devices_create(m, &cfg, &gerr);
    machine_unlock(m);
    if (!devs) {
        snprintf(err, err_len, "devices: %s", gerr ? gerr->message : "?");
        return KD_ERROR;
    }

    r->echo = echo;
    r->stop_at = kd_stop_at;
    if (use_boot) {
        PcBootConfig bc = {.kernel = path, .initrd = initrd, .append = append};
        if (!pc_boot_load(m, &bc, &gerr)) {
            snprintf(err, err_len, "boot: %s", gerr ? gerr->message : "?");
            return KD_ERROR;
        }
        accel_tcg_ops.vcpu_set_state(&r->vcpu, &r->vcpu.boot_state, &gerr);
        return kd_run_machine(r, timeout_ms, out, out_len);
    }
    uint32_t entry = 0;
    if (!kd_load(r, path, &entry, err, err_len)) {
        return KD_ERROR;
    }
    /* The multiboot information: flags with mem_lower/mem_upper only. */
    uint32_t mbi[2 + 1] = {1u << 0, 640, (uint32_t)(ram_size / 1024 - 1024)};
    machine_ram_write(m, 0x9000, mbi, sizeof(mbi));

    X86VcpuState s;
    x86_state_reset(&s, 0, true);
    s.cs = kd_flat(0x10, 0xb);
    s.ds = s.es = s.ss = s.fs = s.gs = kd_flat(0x18, 0x3);
    s.cr0 = X86_CR0_PE | X86_CR0_ET;
    s.rip = entry;
    s.rflags = 0x2;
    s.gpr[X86_RAX] = 0x2BADB002u;
    s.gpr[X86_RBX] = 0x9000;
    r->vcpu.boot_state = s;
    accel_tcg_ops.vcpu_set_state(&r->vcpu, &s, &gerr);
    return kd_run_machine(r, timeout_ms, out, out_len);
}

static int kd_run_machine(KdRun *r, int timeout_ms, char *out, size_t out_len)
{
    Machine *m = &r->m;
    GSource *to = g_timeout_source_new((guint)timeout_ms);
    g_source_set_callback(to, kd_timeout, r, NULL);
    g_source_attach(to, m->main_context);

    GThread *t = g_thread_new("vcpu0", kd_vcpu_thread, r);
    while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
        g_main_context_iteration(m->main_context, TRUE);
    }
    g_thread_join(t);
    g_source_destroy(to);
    g_source_unref(to);

    if (r->result == KD_POWEROFF && m->pending_shutdown != SHUTDOWN_CAUSE_GUEST_SHUTDOWN) {
        r->result = m->pending_reset ? KD_RESET : KD_ERROR;
    }
    snprintf(out, out_len, "%s", r->out->str);
    /* The machine is left behind (devices have no destroy call); one run per test is the rule. */
    return r->result;
}
