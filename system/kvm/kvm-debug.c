/*
 * Guest debugging under KVM for the gdb stub (accel.h's AccelKvmDebug): the whole register state of a
 * parked vCPU (KVM_GET/SET_REGS, SREGS and XSAVE), KVM_SET_GUEST_DEBUG, and the KVM_EXIT_DEBUG exits, which
 * kvm-run.c passes here. A #DB or #BP the debugger does not claim belongs to the guest and is re-injected.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "system/kvm/kvm-internal.h"

static bool kvm_debug_get(Vcpu *v, X86VcpuState *s, uint8_t *xsave)
{
    KvmVcpu *k = v->accel_state;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_xsave xs;
    if (ioctl(k->fd, KVM_GET_REGS, &regs) < 0 || ioctl(k->fd, KVM_GET_SREGS, &sregs) < 0 ||
        ioctl(k->fd, KVM_GET_XSAVE, &xs) < 0) {
        return false;
    }
    kvm_state_from_kvm(s, &regs, &sregs);
    memcpy(xsave, xs.region, sizeof(xs.region));
    return true;
}

static bool kvm_debug_set(Vcpu *v, const X86VcpuState *s, const uint8_t *xsave)
{
    KvmVcpu *k = v->accel_state;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_xsave xs;
    if (ioctl(k->fd, KVM_GET_SREGS, &sregs) < 0) {
        return false;
    }
    kvm_state_to_kvm(s, &regs, &sregs);
    memcpy(xs.region, xsave, sizeof(xs.region));
    return ioctl(k->fd, KVM_SET_SREGS, &sregs) == 0 && ioctl(k->fd, KVM_SET_REGS, &regs) == 0 &&
           ioctl(k->fd, KVM_SET_XSAVE, &xs) == 0;
}

static bool kvm_debug_set_guest_debug(Vcpu *v, uint32_t control, const uint64_t dr[8])
{
    KvmVcpu *k = v->accel_state;
    struct kvm_guest_debug dbg = {.control = control};
    memcpy(dbg.arch.debugreg, dr, sizeof(dbg.arch.debugreg));
    if (ioctl(k->fd, KVM_SET_GUEST_DEBUG, &dbg) == 0) {
        return true;
    }
    if (control & KVM_GUESTDBG_BLOCKIRQ) {
        /* Older kernels do not know BLOCKIRQ: step with interrupts then. */
        dbg.control &= ~(uint32_t)KVM_GUESTDBG_BLOCKIRQ;
        return ioctl(k->fd, KVM_SET_GUEST_DEBUG, &dbg) == 0;
    }
    return false;
}

AccelKvmDebug accel_kvm_debug = {
    .get = kvm_debug_get,
    .set = kvm_debug_set,
    .set_guest_debug = kvm_debug_set_guest_debug,
};

void kvm_debug_exit(Vcpu *v, AccelExit *exit)
{
    KvmVcpu *k = v->accel_state;
    const struct kvm_debug_exit_arch *d = &k->run->debug.arch;
    exit->reason = ACCEL_EXIT_REQUEST;
    if (accel_kvm_debug.on_debug_exit && accel_kvm_debug.on_debug_exit(v, d->exception, d->pc, d->dr6) != 0) {
        return;
    }
    /* Not the debugger's: the guest gets its exception back (the next KVM_RUN injects it). */
    struct kvm_vcpu_events ev;
    if (ioctl(k->fd, KVM_GET_VCPU_EVENTS, &ev) == 0) {
        ev.exception.injected = 1;
        ev.exception.nr = (uint8_t)d->exception;
        ev.exception.has_error_code = 0;
        ev.flags = 0;
        if (ioctl(k->fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
            kvm_describe_error(v, "cannot re-inject a debug exception", exit->error, sizeof(exit->error));
            exit->reason = ACCEL_EXIT_ERROR;
        }
    }
}
