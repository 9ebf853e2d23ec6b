/* The KVM accelerator's own state, shared by its files (not for other users). */
#ifndef EMBER_KVM_INTERNAL_H
#define EMBER_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

#include "system/pc/accel.h"

/* Fixed addresses KVM needs on Intel hosts: three pages for the real-mode TSS and one for the identity
   map, placed in the reserved top of the 4 GiB space (below the BIOS ROM alias, above the LAPIC). */
#define KVM_TSS_ADDR          0xfffbd000ull
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ull

typedef struct KvmVm {
    int sys_fd;              /* /dev/kvm */
    int vm_fd;
    int run_size;            /* mmap size of a vCPU's kvm_run */
    bool pvm;                /* the kvm_pvm module serves /dev/kvm: only simple guest code runs */
    struct kvm_cpuid2 *cpuid;/* what vCPUs get: KVM_GET_SUPPORTED_CPUID filtered to the machine */
    int next_slot;
} KvmVm;

typedef struct KvmVcpu {
    int fd;
    struct kvm_run *run;
    pthread_t thread;        /* the thread in KVM_RUN, for kicks */
    bool thread_known;
} KvmVcpu;

static inline KvmVm *kvm_vm(Machine *m) { return (KvmVm *)m->accel->state; }

/* kvm-state.c: X86VcpuState <-> kvm_regs/kvm_sregs */
void kvm_state_to_kvm(const X86VcpuState *s, struct kvm_regs *regs, struct kvm_sregs *sregs);
void kvm_state_from_kvm(X86VcpuState *s, const struct kvm_regs *regs, const struct kvm_sregs *sregs);

/* kvm-cpuid.c: the CPUID table given to every vCPU (NULL and err set on failure). */
struct kvm_cpuid2 *kvm_cpuid_build(int sys_fd, int nr_vcpus, GError **err);
/* Fill the per-vCPU parts (APIC id) of a copy of the table. */
void kvm_cpuid_for_vcpu(struct kvm_cpuid2 *c, int apic_id);

/* kvm-pvm.c: is /dev/kvm served by the PVM hypervisor module? */
bool kvm_is_pvm(void);

/* kvm-run.c: an exit's description with the guest's registers, for ACCEL_EXIT_ERROR. */
void kvm_describe_error(Vcpu *v, const char *what, char *buf, size_t size);

#endif
