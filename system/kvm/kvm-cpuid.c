/*
 * The CPUID table of a KVM vCPU: what KVM_GET_SUPPORTED_CPUID offers (the host CPU as KVM can virtualize
 * it), less what this machine does not model, with each vCPU's APIC id filled in.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "system/kvm/kvm-internal.h"

#define CPUID1_ECX_MONITOR (1u << 3)     /* MONITOR/MWAIT: no idle states are modelled */
#define CPUID1_ECX_HYPERVISOR (1u << 31) /* tell the guest it is virtualized, as every VMM does */
#define CPUID1_EDX_HTT (1u << 28)

struct kvm_cpuid2 *kvm_cpuid_build(int sys_fd, int nr_vcpus, GError **err)
{
    for (int nent = 64; nent <= 4096; nent *= 2) {
        struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(struct kvm_cpuid_entry2));
        if (!c) {
            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOMEM, "kvm: out of memory for CPUID");
            return NULL;
        }
        c->nent = nent;
        if (ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
            for (unsigned i = 0; i < c->nent; i++) {
                struct kvm_cpuid_entry2 *e = &c->entries[i];
                if (e->function == 1) {
                    e->ecx &= ~CPUID1_ECX_MONITOR;
                    e->ecx |= CPUID1_ECX_HYPERVISOR;
                    e->edx |= CPUID1_EDX_HTT;
                    e->ebx = (e->ebx & 0xff00ffff) | ((uint32_t)nr_vcpus << 16);
                } else if (e->function == 5) {
                    e->eax = e->ebx = e->ecx = e->edx = 0;   /* MONITOR leaf, with the feature gone */
                }
            }
            return c;
        }
        int saved = errno;
        free(c);
        if (saved != E2BIG) {
            g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(saved),
                        "kvm: KVM_GET_SUPPORTED_CPUID: %s", g_strerror(saved));
            return NULL;
        }
    }
    g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "kvm: KVM_GET_SUPPORTED_CPUID: table too large");
    return NULL;
}

void kvm_cpuid_for_vcpu(struct kvm_cpuid2 *c, int apic_id)
{
    for (unsigned i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        if (e->function == 1) {
            e->ebx = (e->ebx & 0x00ffffff) | ((uint32_t)apic_id << 24);
        } else if (e->function == 0xb || e->function == 0x1f) {
            e->edx = (uint32_t)apic_id;              /* x2APIC id of this logical processor */
        }
    }
}
