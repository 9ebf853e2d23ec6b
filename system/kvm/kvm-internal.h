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

/* An MSI route: GSI PC_NUM_GSI + its index in KvmVm.msi. */
typedef struct KvmMsiRoute {
    bool used;
    uint64_t address;
    uint32_t data;
} KvmMsiRoute;

typedef struct KvmVm {
    int sys_fd;              /* /dev/kvm */
    int vm_fd;
    int run_size;            /* mmap size of a vCPU's kvm_run */
    bool pvm;                /* the kvm_pvm module serves /dev/kvm: only simple guest code runs */
    struct kvm_cpuid2 *cpuid;/* what vCPUs get: KVM_GET_SUPPORTED_CPUID filtered to the machine */
    int next_slot;
    GMutex irq_lock;         /* the GSI routing table below */
    bool irq_lock_init;
    KvmMsiRoute *msi;
    unsigned msi_nr;
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

/* The device node machine_init opens: "/dev/kvm" (tests point it elsewhere to see the errors). */
extern const char *kvm_device_path;

/* kvm-irq.c: the routing table (pins, then MSI routes), interrupt lines, MSIs, irqfd and ioeventfd. */
bool kvm_irq_init(KvmVm *vm, GError **err);
void kvm_irq_destroy(KvmVm *vm);
void kvm_set_gsi(Machine *m, int gsi, int level);
void kvm_send_msi(Machine *m, uint64_t address, uint32_t data);
int kvm_add_msi_route(Machine *m, uint64_t address, uint32_t data);
bool kvm_set_msi_route(Machine *m, int gsi, uint64_t address, uint32_t data);
void kvm_del_msi_route(Machine *m, int gsi);
bool kvm_add_ioeventfd(Machine *m, uint64_t addr, unsigned len, bool pio, int fd);
bool kvm_del_ioeventfd(Machine *m, uint64_t addr, unsigned len, bool pio, int fd);
bool kvm_add_irqfd(Machine *m, int gsi, int fd);
bool kvm_del_irqfd(Machine *m, int gsi, int fd);

/* kvm-debug.c: a KVM_EXIT_DEBUG (the gdb stub's stop, or the guest's own #DB/#BP given back). */
void kvm_debug_exit(Vcpu *v, AccelExit *exit);

/* kvm-run.c: an exit's description with the guest's registers, for ACCEL_EXIT_ERROR. */
void kvm_describe_error(Vcpu *v, const char *what, char *buf, size_t size);

#endif
