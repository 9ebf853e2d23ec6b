/*
 * The KVM accelerator's VM: /dev/kvm, the VM with its in-kernel irqchip (PIC, I/O APIC, local APICs) and
 * PIT, and guest RAM as memory slots. Interrupts, irqfd and ioeventfd are kvm-irq.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "system/kvm/kvm-internal.h"

static bool kvm_fail(GError **err, const char *what)
{
    int saved = errno;
    g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(saved), "kvm: %s: %s", what, g_strerror(saved));
    return false;
}

static bool kvm_add_slot(KvmVm *vm, uint64_t gpa, uint64_t size, void *host, GError **err)
{
    if (size == 0) {
        return true;
    }
    struct kvm_userspace_memory_region r = {
        .slot = (uint32_t)vm->next_slot++, .guest_phys_addr = gpa, .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)host,
    };
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
        return kvm_fail(err, "KVM_SET_USER_MEMORY_REGION");
    }
    return true;
}

const char *kvm_device_path = "/dev/kvm";

/* Why opening the device failed, in the user's terms. */
static const char *kvm_open_hint(int err)
{
    switch (err) {
    case ENOENT: case ENODEV: case ENXIO:
        return " (no KVM on this host: is the kvm_intel or kvm_amd module loaded, is virtualization enabled"
               " in the firmware?)";
    case EACCES: case EPERM:
        return " (no permission: is this user in the kvm group?)";
    default:
        return "";
    }
}

/* Open /dev/kvm and check it speaks the stable API: the one error users see when KVM is not usable. */
static int kvm_open(GError **err)
{
    const char *path = kvm_device_path;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(saved), "kvm: cannot open %s: %s%s", path,
                    g_strerror(saved), kvm_open_hint(saved));
        return -1;
    }
    int version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version < 0) {
        int saved = errno;
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "kvm: %s is not a KVM device (KVM_GET_API_VERSION: %s)", path, g_strerror(saved));
        close(fd);
        return -1;
    }
    if (version != KVM_API_VERSION) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "kvm: %s speaks API version %d, not %d", path,
                    version, KVM_API_VERSION);
        close(fd);
        return -1;
    }
    static const struct { int cap; const char *name; } needed[] = {
        { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },         { KVM_CAP_PIT2, "KVM_CAP_PIT2" },
        { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" }, { KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
        { KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },     { KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
        { KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
    };
    for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
        if (ioctl(fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0) {
            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "kvm: %s lacks %s", path, needed[i].name);
            close(fd);
            return -1;
        }
    }
    return fd;
}

static bool kvm_machine_init(Machine *m, GError **err)
{
    KvmVm *vm = calloc(1, sizeof(*vm));
    vm->sys_fd = vm->vm_fd = -1;
    m->accel->state = vm;
    m->accel->irqchip_in_kernel = true;
    if ((vm->sys_fd = kvm_open(err)) < 0) {
        return false;
    }
    vm->pvm = kvm_is_pvm();
    if (vm->pvm) {
        fprintf(stderr, "kvm: note: /dev/kvm is served by the PVM hypervisor (kvm_pvm): a guest not built for"
                        " PVM runs in KVM's instruction emulator, slowly, and a stock Linux kernel does not"
                        " boot; -accel tcg runs it\n");
    }
    vm->run_size = ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->run_size <= 0) {
        return kvm_fail(err, "KVM_GET_VCPU_MMAP_SIZE");
    }
    if ((vm->vm_fd = ioctl(vm->sys_fd, KVM_CREATE_VM, 0)) < 0) {
        return kvm_fail(err, "KVM_CREATE_VM");
    }
    /* Intel VMX needs these two for real mode; other hypervisors accept and ignore them. */
    if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
        return kvm_fail(err, "KVM_SET_TSS_ADDR");
    }
    uint64_t identity = KVM_IDENTITY_MAP_ADDR;
    if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identity) < 0) {
        return kvm_fail(err, "KVM_SET_IDENTITY_MAP_ADDR");
    }
    if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
        return kvm_fail(err, "KVM_CREATE_IRQCHIP");
    }
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
        return kvm_fail(err, "KVM_CREATE_PIT2");
    }
    if (!kvm_irq_init(vm, err)) {
        return false;
    }
    if (!kvm_add_slot(vm, 0, m->ram_low, m->ram, err) ||
        !kvm_add_slot(vm, PC_HIGH_RAM_BASE, m->ram_high, m->ram + m->ram_low, err)) {
        return false;
    }
    vm->cpuid = kvm_cpuid_build(vm->sys_fd, m->nr_vcpus, err);
    return vm->cpuid != NULL;
}

static void kvm_machine_destroy(Machine *m)
{
    KvmVm *vm = m->accel ? m->accel->state : NULL;
    if (!vm) {
        return;
    }
    if (vm->vm_fd >= 0) {
        close(vm->vm_fd);
    }
    if (vm->sys_fd >= 0) {
        close(vm->sys_fd);
    }
    kvm_irq_destroy(vm);
    free(vm->cpuid);
    free(vm);
    m->accel->state = NULL;
}

/* kvm-run.c */
bool kvm_vcpu_init(Vcpu *v, GError **err);
void kvm_vcpu_destroy(Vcpu *v);
bool kvm_vcpu_set_state(Vcpu *v, const X86VcpuState *s, GError **err);
bool kvm_vcpu_get_state(Vcpu *v, X86VcpuState *s, GError **err);
void kvm_vcpu_run(Vcpu *v, AccelExit *exit);
void kvm_vcpu_kick(Vcpu *v);

const AccelOps accel_kvm_ops = {
    .name = "kvm",
    .machine_init = kvm_machine_init,
    .machine_destroy = kvm_machine_destroy,
    .vcpu_init = kvm_vcpu_init,
    .vcpu_destroy = kvm_vcpu_destroy,
    .vcpu_set_state = kvm_vcpu_set_state,
    .vcpu_get_state = kvm_vcpu_get_state,
    .vcpu_run = kvm_vcpu_run,
    .vcpu_kick = kvm_vcpu_kick,
    .set_gsi = kvm_set_gsi,
    .send_msi = kvm_send_msi,
    .add_ioeventfd = kvm_add_ioeventfd,
    .add_irqfd = kvm_add_irqfd,
    .del_ioeventfd = kvm_del_ioeventfd,
    .del_irqfd = kvm_del_irqfd,
    .add_msi_route = kvm_add_msi_route,
    .set_msi_route = kvm_set_msi_route,
    .del_msi_route = kvm_del_msi_route,
};
