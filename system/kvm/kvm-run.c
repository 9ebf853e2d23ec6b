/*
 * A KVM vCPU: creation (CPUID, FPU defaults), register state in and out, the KVM_RUN loop and its exits,
 * and kicks. A kick sets kvm_run.immediate_exit and signals the vCPU's thread, so KVM_RUN returns EINTR
 * whether the signal arrives before or during the call.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "system/kvm/kvm-internal.h"

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MISC_ENABLE_FAST_STRINGS 1u

static int kvm_kick_signal(void) { return SIGRTMIN; }

static void kvm_kick_handler(int sig) { (void)sig; }

static void kvm_install_kick_handler_once(void)
{
    struct sigaction sa = { .sa_handler = kvm_kick_handler };   /* no SA_RESTART: KVM_RUN returns */
    sigemptyset(&sa.sa_mask);
    sigaction(kvm_kick_signal(), &sa, NULL);
}

static void kvm_install_kick_handler(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, kvm_install_kick_handler_once);
}

static bool kvm_vcpu_fail(GError **err, Vcpu *v, const char *what)
{
    int saved = errno;
    g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(saved), "kvm: vCPU %d: %s: %s", v->index, what,
                g_strerror(saved));
    return false;
}

bool kvm_vcpu_init(Vcpu *v, GError **err)
{
    KvmVm *vm = kvm_vm(v->machine);
    KvmVcpu *k = calloc(1, sizeof(*k));
    v->accel_state = k;
    kvm_install_kick_handler();
    if ((k->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->index)) < 0) {
        return kvm_vcpu_fail(err, v, "KVM_CREATE_VCPU");
    }
    k->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, 0);
    if (k->run == MAP_FAILED) {
        k->run = NULL;
        return kvm_vcpu_fail(err, v, "mmap of kvm_run");
    }
    size_t cpuid_size = sizeof(*vm->cpuid) + vm->cpuid->nent * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *cpuid = g_memdup2(vm->cpuid, cpuid_size);
    kvm_cpuid_for_vcpu(cpuid, v->index);
    int r = ioctl(k->fd, KVM_SET_CPUID2, cpuid);
    g_free(cpuid);
    if (r < 0) {
        return kvm_vcpu_fail(err, v, "KVM_SET_CPUID2");
    }
    struct {
        struct kvm_msrs head;
        struct kvm_msr_entry entries[1];
    } msrs = { .head.nmsrs = 1, .entries = { { .index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRINGS } } };
    if (ioctl(k->fd, KVM_SET_MSRS, &msrs) != 1) {
        return kvm_vcpu_fail(err, v, "KVM_SET_MSRS");
    }
    struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };   /* FNINIT / reset values */
    if (ioctl(k->fd, KVM_SET_FPU, &fpu) < 0) {
        return kvm_vcpu_fail(err, v, "KVM_SET_FPU");
    }
    return true;
}

void kvm_vcpu_destroy(Vcpu *v)
{
    KvmVcpu *k = v->accel_state;
    if (!k) {
        return;
    }
    if (k->run) {
        munmap(k->run, (size_t)kvm_vm(v->machine)->run_size);
    }
    if (k->fd >= 0) {
        close(k->fd);
    }
    free(k);
    v->accel_state = NULL;
}

bool kvm_vcpu_set_state(Vcpu *v, const X86VcpuState *s, GError **err)
{
    KvmVcpu *k = v->accel_state;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(k->fd, KVM_GET_SREGS, &sregs) < 0) {
        return kvm_vcpu_fail(err, v, "KVM_GET_SREGS");
    }
    kvm_state_to_kvm(s, &regs, &sregs);
    if (ioctl(k->fd, KVM_SET_SREGS, &sregs) < 0) {
        return kvm_vcpu_fail(err, v, "KVM_SET_SREGS");
    }
    if (ioctl(k->fd, KVM_SET_REGS, &regs) < 0) {
        return kvm_vcpu_fail(err, v, "KVM_SET_REGS");
    }
    /* The in-kernel local APIC runs the INIT/SIPI protocol: an AP given its reset state (after a machine
       reset, or at creation) must wait there for a start-up IPI, not run from the reset vector. */
    bool reset_state = s->rip == 0xfff0 && s->cs.base == 0xffff0000;
    struct kvm_mp_state mp = { .mp_state = v->index != 0 && reset_state ? KVM_MP_STATE_INIT_RECEIVED
                                                                         : KVM_MP_STATE_RUNNABLE };
    if (ioctl(k->fd, KVM_SET_MP_STATE, &mp) < 0) {
        return kvm_vcpu_fail(err, v, "KVM_SET_MP_STATE");
    }
    return true;
}

bool kvm_vcpu_get_state(Vcpu *v, X86VcpuState *s, GError **err)
{
    KvmVcpu *k = v->accel_state;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(k->fd, KVM_GET_REGS, &regs) < 0) {
        return kvm_vcpu_fail(err, v, "KVM_GET_REGS");
    }
    if (ioctl(k->fd, KVM_GET_SREGS, &sregs) < 0) {
        return kvm_vcpu_fail(err, v, "KVM_GET_SREGS");
    }
    kvm_state_from_kvm(s, &regs, &sregs);
    return true;
}

void kvm_describe_error(Vcpu *v, const char *what, char *buf, size_t size)
{
    X86VcpuState s;
    int n = snprintf(buf, size, "kvm: vCPU %d: %s", v->index, what);
    if (kvm_vcpu_get_state(v, &s, NULL) && n >= 0 && (size_t)n < size) {
        n += snprintf(buf + n, size - (size_t)n,
                      " at rip=%#llx (cs=%#x base=%#llx) rsp=%#llx rflags=%#llx cr0=%#llx cr3=%#llx cr4=%#llx"
                      " efer=%#llx",
                      (unsigned long long)s.rip, s.cs.selector, (unsigned long long)s.cs.base,
                      (unsigned long long)s.gpr[X86_RSP], (unsigned long long)s.rflags,
                      (unsigned long long)s.cr0, (unsigned long long)s.cr3, (unsigned long long)s.cr4,
                      (unsigned long long)s.efer);
    }
    if (kvm_vm(v->machine)->pvm && n >= 0 && (size_t)n < size) {
        snprintf(buf + n, size - (size_t)n,
                 " [/dev/kvm is the PVM hypervisor (kvm_pvm): guests not built for PVM run in KVM's instruction"
                 " emulator, which cannot run all code]");
    }
}

static void kvm_exit_error(Vcpu *v, AccelExit *exit, const char *what)
{
    exit->reason = ACCEL_EXIT_ERROR;
    kvm_describe_error(v, what, exit->error, sizeof(exit->error));
}

/* Finish the previous exit: a completed MMIO read's value goes back into kvm_run before re-entry. */
static void kvm_complete_previous(KvmVcpu *k, const AccelExit *exit)
{
    struct kvm_run *run = k->run;
    if (run->exit_reason == KVM_EXIT_MMIO && !run->mmio.is_write && exit->reason == ACCEL_EXIT_MMIO) {
        memcpy(run->mmio.data, exit->mmio.data, run->mmio.len);
    }
}

static void kvm_translate_exit(Vcpu *v, KvmVcpu *k, AccelExit *exit)
{
    struct kvm_run *run = k->run;
    char what[128];
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        exit->reason = ACCEL_EXIT_IO;
        exit->io.port = run->io.port;
        exit->io.size = run->io.size;
        exit->io.is_write = run->io.direction == KVM_EXIT_IO_OUT;
        exit->io.count = run->io.count;
        exit->io.data = (uint8_t *)run + run->io.data_offset;
        return;
    case KVM_EXIT_MMIO:
        exit->reason = ACCEL_EXIT_MMIO;
        exit->mmio.gpa = run->mmio.phys_addr;
        exit->mmio.size = (uint8_t)run->mmio.len;
        exit->mmio.is_write = run->mmio.is_write;
        memcpy(exit->mmio.data, run->mmio.data, sizeof(exit->mmio.data));
        return;
    case KVM_EXIT_HLT:
        exit->reason = ACCEL_EXIT_HALT;
        return;
    case KVM_EXIT_SHUTDOWN:
        exit->reason = ACCEL_EXIT_SHUTDOWN;
        return;
    case KVM_EXIT_INTR:
        exit->reason = ACCEL_EXIT_REQUEST;
        return;
    case KVM_EXIT_DEBUG:
        kvm_debug_exit(v, exit);
        return;
    case KVM_EXIT_SYSTEM_EVENT:
        if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
            exit->reason = ACCEL_EXIT_POWEROFF;
        } else if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
            exit->reason = ACCEL_EXIT_RESET;
        } else {
            snprintf(what, sizeof(what), "system event %u", run->system_event.type);
            kvm_exit_error(v, exit, what);
        }
        return;
    case KVM_EXIT_INTERNAL_ERROR:
        snprintf(what, sizeof(what), "internal error%s (suberror %u)",
                 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? ": emulation failure" : "",
                 run->internal.suberror);
        kvm_exit_error(v, exit, what);
        return;
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(what, sizeof(what), "VM entry failed (hardware reason %#llx)",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        kvm_exit_error(v, exit, what);
        return;
    default:
        snprintf(what, sizeof(what), "unhandled exit reason %u", run->exit_reason);
        kvm_exit_error(v, exit, what);
        return;
    }
}

void kvm_vcpu_run(Vcpu *v, AccelExit *exit)
{
    KvmVcpu *k = v->accel_state;
    if (!k->thread_known) {
        k->thread = pthread_self();
        atomic_thread_fence(memory_order_release);
        k->thread_known = true;
    }
    kvm_complete_previous(k, exit);
    if (__atomic_load_n(&v->requests, __ATOMIC_SEQ_CST) & VCPU_REQ_STOP) {
        exit->reason = ACCEL_EXIT_REQUEST;
        return;
    }
    if (ioctl(k->fd, KVM_RUN, 0) < 0) {
        if (errno == EINTR || errno == EAGAIN) {
            k->run->immediate_exit = 0;
            k->run->exit_reason = KVM_EXIT_INTR;
            exit->reason = ACCEL_EXIT_REQUEST;
            return;
        }
        char what[96];
        snprintf(what, sizeof(what), "KVM_RUN: %s", g_strerror(errno));
        kvm_exit_error(v, exit, what);
        return;
    }
    kvm_translate_exit(v, k, exit);
}

void kvm_vcpu_kick(Vcpu *v)
{
    KvmVcpu *k = v->accel_state;
    if (!k || !k->run) {
        return;
    }
    k->run->immediate_exit = 1;
    if (k->thread_known && !pthread_equal(k->thread, pthread_self())) {
        pthread_kill(k->thread, kvm_kick_signal());
    }
}
