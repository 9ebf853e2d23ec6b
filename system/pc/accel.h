/*
 * The accelerator interface: what runs the vCPUs. TCG (the translator, system/pc/accel-tcg.c) and KVM
 * (system/kvm/) implement it; the machine, its devices and its boot code only use this header.
 *
 * One thread per vCPU loops on vcpu_run (system/pc/vcpu.c), which returns an exit much as KVM_RUN does.
 * Port I/O and MMIO exits are completed by the vCPU loop through the machine's buses; an accelerator may
 * also dispatch them itself without exiting (TCG does: its helpers call iobus_read/iobus_write with the
 * machine lock held), since both reach the same device code.
 */
#ifndef EMBER_PC_ACCEL_H
#define EMBER_PC_ACCEL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "system/pc/machine.h"
#include "system/pc/x86-state.h"

typedef enum AccelExitReason {
    ACCEL_EXIT_IO,           /* exit.io: the loop performs it, then runs again */
    ACCEL_EXIT_MMIO,         /* exit.mmio: the loop performs it (a read fills data), then runs again */
    ACCEL_EXIT_HALT,         /* HLT: the loop sleeps until a request (interrupt, NMI, INIT/SIPI, stop) */
    ACCEL_EXIT_SHUTDOWN,     /* triple fault: the machine resets (or quits with -no-reboot) */
    ACCEL_EXIT_RESET,        /* the guest asked for a reset through the CPU (KVM system event) */
    ACCEL_EXIT_POWEROFF,     /* the guest powered off through the CPU (KVM system event) */
    ACCEL_EXIT_REQUEST,      /* vcpu_kick or a pending request: the loop looks at Vcpu.requests */
    ACCEL_EXIT_ERROR,        /* the accelerator cannot go on: exit.error says why (with registers) */
} AccelExitReason;

typedef struct AccelExit {
    AccelExitReason reason;
    union {
        struct {
            uint16_t port;
            uint8_t size;        /* 1, 2 or 4 */
            bool is_write;
            uint32_t count;      /* string I/O repeats: data holds count * size bytes */
            uint8_t *data;
        } io;
        struct {
            uint64_t gpa;
            uint8_t size;        /* 1, 2, 4 or 8 */
            bool is_write;
            uint8_t data[8];
        } mmio;
    };
    char error[512];
} AccelExit;

typedef struct AccelOps {
    const char *name;        /* "tcg", "kvm" */
    /* Create the VM for a machine whose RAM is allocated; register RAM with the accelerator. */
    bool (*machine_init)(Machine *m, GError **err);
    void (*machine_destroy)(Machine *m);
    bool (*vcpu_init)(Vcpu *v, GError **err);
    void (*vcpu_destroy)(Vcpu *v);
    /* Load / read a vCPU's architectural state (called on the vCPU's own thread, or before it starts). */
    bool (*vcpu_set_state)(Vcpu *v, const X86VcpuState *s, GError **err);
    bool (*vcpu_get_state)(Vcpu *v, X86VcpuState *s, GError **err);
    /* Run until an exit (on the vCPU's thread, without the machine lock). The loop passes the same
       AccelExit again after completing an exit (a read's value in exit->mmio.data / exit->io.data). */
    void (*vcpu_run)(Vcpu *v, AccelExit *exit);
    /* Make a running vcpu_run return ACCEL_EXIT_REQUEST soon (any thread, signal-safe not needed). */
    void (*vcpu_kick)(Vcpu *v);
    /* Set an interrupt line of the in-kernel irqchip (only when irqchip_in_kernel). */
    void (*set_gsi)(Machine *m, int gsi, int level);
    /* Deliver an MSI (a write of data to address 0xFEExxxxx) through the in-kernel irqchip. */
    void (*send_msi)(Machine *m, uint64_t address, uint32_t data);
    /* Guest RAM changed behind the CPUs' back (DMA, boot code): drop translations of it. May be NULL. */
    void (*ram_written)(Machine *m, uint64_t gpa, uint64_t len);
    /*
     * Optional fast paths for virtio (NULL or false: the device keeps its trapped path). ioeventfd: a guest
     * write of len bytes to addr (port if pio) signals fd instead of exiting. irqfd: a write to fd raises
     * the in-kernel irqchip's GSI (edge).
     */
    bool (*add_ioeventfd)(Machine *m, uint64_t addr, unsigned len, bool pio, int fd);
    bool (*add_irqfd)(Machine *m, int gsi, int fd);
    /* Undo add_ioeventfd / add_irqfd (the same arguments). May be NULL when the adds are. */
    bool (*del_ioeventfd)(Machine *m, uint64_t addr, unsigned len, bool pio, int fd);
    bool (*del_irqfd)(Machine *m, int gsi, int fd);
    /*
     * MSI routes for irqfd (NULL: none): a GSI beyond the interrupt controllers' pins whose interrupt is
     * the message (address, data); add returns it or -errno, set changes its message. Lock held.
     */
    int (*add_msi_route)(Machine *m, uint64_t address, uint32_t data);
    bool (*set_msi_route)(Machine *m, int gsi, uint64_t address, uint32_t data);
    void (*del_msi_route)(Machine *m, int gsi);
} AccelOps;

typedef struct Accel {
    const AccelOps *ops;
    bool irqchip_in_kernel;  /* PIC, I/O APIC, local APICs and PIT are the accelerator's */
    void *state;
} Accel;

/* The accelerators, by name: NULL if unknown. */
const AccelOps *accel_find(const char *name);
extern const AccelOps accel_tcg_ops;
extern const AccelOps accel_kvm_ops;   /* system/kvm */

/*
 * For accelerators whose interrupt controllers live in user space (TCG): the machine's local APIC and
 * 8259 model (system/pc/devices) answer these. Called with the machine lock held.
 */
bool pc_cpu_interrupt_pending(Vcpu *v);          /* a maskable interrupt is deliverable (if IF=1) */
int pc_cpu_interrupt_ack(Vcpu *v);               /* take it: the vector (the PIC's through ExtINT) */
uint64_t pc_cpu_apic_base(Vcpu *v);              /* IA32_APIC_BASE */
bool pc_cpu_set_apic_base(Vcpu *v, uint64_t value);   /* false: #GP */
uint8_t pc_cpu_get_tpr(Vcpu *v);                 /* CR8 */
void pc_cpu_set_tpr(Vcpu *v, uint8_t cr8);

/* MSI delivery from devices (virtio-pci MSI-X): to the user-space APICs or the accelerator's irqchip. */
void machine_send_msi(Machine *m, uint64_t address, uint32_t data);
/* The user-space local APICs' half of it (system/pc/devices; lock held). */
void pc_apic_deliver_msi(Machine *m, uint64_t address, uint32_t data);

/* The vCPU whose thread this is (NULL on other threads): the local APIC's MMIO is per CPU. */
extern __thread Vcpu *vcpu_current;

/*
 * Guest debugging under KVM, for the gdb stub (system/pc/gdbstub*.c). system/kvm/kvm-debug.c fills in the
 * first three (they stay NULL when KVM is not linked); the stub sets on_debug_exit. All but on_debug_exit
 * are called with the vCPU parked.
 */
typedef struct AccelKvmDebug {
    /* The registers (X86VcpuState) and the KVM_GET_XSAVE image (x87, SSE, AVX: 4096 bytes). */
    bool (*get)(Vcpu *v, X86VcpuState *s, uint8_t *xsave);
    bool (*set)(Vcpu *v, const X86VcpuState *s, const uint8_t *xsave);
    /* KVM_SET_GUEST_DEBUG: KVM_GUESTDBG_* control bits, debug registers 0-3 and 7 in dr[0..3], dr[7]. */
    bool (*set_guest_debug)(Vcpu *v, uint32_t control, const uint64_t dr[8]);
    /* On the vCPU's thread at KVM_EXIT_DEBUG: nonzero when the exception was the debugger's (a stop, after
       which the vCPU loop parks, or a step of its own); 0: the guest's own #DB/#BP, given back to it. */
    int (*on_debug_exit)(Vcpu *v, uint32_t exception, uint64_t pc, uint64_t dr6);
} AccelKvmDebug;

extern AccelKvmDebug accel_kvm_debug;

#endif
