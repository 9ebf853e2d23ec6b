/*
 * The PC machine: guest RAM and the memory map, the two device buses, interrupt routing, the vCPUs and
 * the accelerator that runs them, and the machine-wide requests (reset, power-off, pause). Devices,
 * boot code and the main loop all see the machine through this header; none of them knows which
 * accelerator runs the CPUs (see accel.h).
 *
 * Locking: one machine lock (like QEMU's big lock) serializes every device entry point. vCPU threads take
 * it around port I/O and MMIO dispatch; the main thread holds it while it runs timers, character input,
 * block completions and QMP commands.
 */
#ifndef EMBER_PC_MACHINE_H
#define EMBER_PC_MACHINE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "system/pc/iobus.h"
#include "system/pc/irq.h"
#include "system/pc/x86-state.h"

struct Accel;
struct LocalApic;

/* The memory map (see DESIGN.md and README's system section). */
#define PC_LOW_RAM_MAX      0xC0000000ull   /* RAM below 4 GiB ends here at most; the PCI hole follows */
#define PC_HIGH_RAM_BASE    0x100000000ull  /* RAM beyond PC_LOW_RAM_MAX continues at 4 GiB */
#define PC_PCI_MMIO_BASE    0xC0000000ull   /* 32-bit PCI BARs are placed from here */
#define PC_PCI_MMIO_END     0xFEC00000ull
#define PC_IOAPIC_BASE      0xFEC00000ull
#define PC_LAPIC_BASE       0xFEE00000ull
#define PC_NUM_GSI          24              /* I/O APIC inputs; 0..15 also reach the 8259 pair */

/* Ports and IRQs of the legacy devices */
#define PC_ACPI_PM_BASE     0x600           /* PM1a_EVT 0x600, PM1a_CNT 0x604, PM_TMR 0x608 */
#define PC_ACPI_SCI_IRQ     9
#define PC_COM1_PORT        0x3F8
#define PC_COM1_IRQ         4
#define PC_COM2_PORT        0x2F8
#define PC_COM2_IRQ         3

/* Requests a vCPU thread picks up at its next exit (Vcpu.requests). */
enum {
    VCPU_REQ_INTERRUPT = 1u << 0,   /* the local APIC (or PIC) has an interrupt for this CPU */
    VCPU_REQ_NMI       = 1u << 1,
    VCPU_REQ_INIT      = 1u << 2,   /* INIT IPI: go to the wait-for-SIPI state */
    VCPU_REQ_SIPI      = 1u << 3,   /* start-up IPI: start in real mode at sipi_vector << 12 */
    VCPU_REQ_STOP      = 1u << 4,   /* pause (QMP stop), reset or quit: come back to the vCPU loop */
};

typedef struct Vcpu {
    struct Machine *machine;
    int index;                      /* also its APIC id */
    GThread *thread;
    void *accel_state;              /* the accelerator's per-vCPU data */
    struct LocalApic *apic;         /* user-space local APIC; NULL when the irqchip is in the kernel */
    unsigned requests;              /* VCPU_REQ_*; set under the machine lock, cleared by the vCPU;
                                       always accessed atomically (C11 atomic_* or __atomic builtins) */
    uint8_t sipi_vector;
    bool halted;                    /* in HLT or waiting for SIPI: sleeps on Machine.vcpu_wake */
    bool wait_for_sipi;
    X86VcpuState boot_state;        /* what reset loads (boot code fills the BSP's) */
} Vcpu;

typedef enum MachineRunState {
    MACHINE_RUNNING,
    MACHINE_PAUSED,                 /* QMP stop / -S */
    MACHINE_SHUTDOWN,               /* powered off, quitting */
} MachineRunState;

/* Why the machine stops or resets: the SHUTDOWN/RESET events' "reason" */
typedef enum MachineShutdownCause {
    SHUTDOWN_CAUSE_NONE,
    SHUTDOWN_CAUSE_HOST_QMP_QUIT,
    SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET,
    SHUTDOWN_CAUSE_HOST_SIGNAL,
    SHUTDOWN_CAUSE_HOST_UI,         /* Ctrl-A x */
    SHUTDOWN_CAUSE_GUEST_SHUTDOWN,  /* ACPI power-off */
    SHUTDOWN_CAUSE_GUEST_RESET,     /* i8042 / 0xCF9 / triple fault */
    SHUTDOWN_CAUSE_GUEST_PANIC,
} MachineShutdownCause;

typedef struct Machine {
    /* RAM: one host mapping; guest physical [0, low) maps to host + 0, [4 GiB, 4 GiB + high) to host + low */
    uint8_t *ram;
    uint64_t ram_size;              /* total */
    uint64_t ram_low;               /* bytes below PC_LOW_RAM_MAX */
    uint64_t ram_high;              /* bytes from PC_HIGH_RAM_BASE */

    IoBus pio, mmio;
    GMutex lock;
    GCond vcpu_wake;                /* halted / paused vCPUs sleep here (with lock) */

    struct Accel *accel;
    Vcpu *vcpus;
    int nr_vcpus;

    /* Interrupt routing: GSI n goes to the 8259 pair (n < 16) and the I/O APIC, or to the in-kernel
       irqchip. Devices get their line from machine_gsi(). */
    IrqLine gsi_in[PC_NUM_GSI];     /* set by the interrupt controllers that exist */
    IrqLine pic_in[16];
    IrqLine ioapic_in[PC_NUM_GSI];

    MachineRunState run_state;
    MachineShutdownCause pending_shutdown, pending_reset;
    bool no_reboot;                 /* -no-reboot: a guest reset ends the process */
    unsigned log_mask;              /* -d items: MACHINE_LOG_* */
    GMainContext *main_context;     /* the main thread's */
    void *main_loop;                /* the main loop's own state (system/pc/main-loop.c) */
} Machine;

enum {
    MACHINE_LOG_INT = 1u << 0,          /* interrupts and exceptions */
    MACHINE_LOG_CPU_RESET = 1u << 1,
    MACHINE_LOG_GUEST_ERRORS = 1u << 2, /* the guest did something nonsensical to a device */
    MACHINE_LOG_UNIMP = 1u << 3,        /* the guest used something not modelled */
    MACHINE_LOG_IOPORT = 1u << 4,
    /* The translator's items, which the TCG accelerator maps to its own log flags (-d in_asm,op,...) */
    MACHINE_LOG_IN_ASM = 1u << 5,
    MACHINE_LOG_OP = 1u << 6,
    MACHINE_LOG_OP_OPT = 1u << 7,
    MACHINE_LOG_EXEC = 1u << 8,
    MACHINE_LOG_CPU = 1u << 9,
};

/* -d guest_errors etc.: print when the item is enabled. */
void machine_log(Machine *m, unsigned item, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static inline void machine_lock(Machine *m) { g_mutex_lock(&m->lock); }
static inline void machine_unlock(Machine *m) { g_mutex_unlock(&m->lock); }

/*
 * Guest-physical RAM access for devices (DMA) and boot code: the host address of [gpa, gpa+len) if it
 * lies wholly inside one RAM block, else NULL. A device must check for NULL: the guest controls gpa.
 */
void *machine_ram_ptr(Machine *m, uint64_t gpa, uint64_t len);
bool machine_ram_read(Machine *m, uint64_t gpa, void *buf, uint64_t len);    /* false: not all RAM */
bool machine_ram_write(Machine *m, uint64_t gpa, const void *buf, uint64_t len);
/*
 * A device wrote guest RAM through a pointer from machine_ram_ptr (DMA): the accelerator forgets
 * translations of code there (TCG). machine_ram_write calls it itself. Any thread.
 */
void machine_ram_written(Machine *m, uint64_t gpa, uint64_t len);

/* Set GSI n (0..PC_NUM_GSI-1) to level; routed to whatever interrupt controllers exist. */
void machine_set_gsi(Machine *m, int gsi, int level);
/* A device's line to GSI n. */
IrqLine machine_gsi(Machine *m, int gsi);

/*
 * Fast paths the accelerator may offer (KVM: ioeventfd, irqfd); devices use these and never ask which
 * accelerator runs (system/pc/machine.c).
 *
 * machine_ioeventfd: (de)register fd to be signalled by a guest write of len bytes to addr (a port if pio)
 * instead of the write reaching the bus. False: not offered or refused; the write keeps reaching the bus.
 *
 * MachineMsiRoute: one MSI source that sends repeatedly (an MSI-X vector). Under an accelerator with MSI
 * routes and irqfd, it owns a GSI routed to its message and an eventfd bound to that GSI, so sending is one
 * write(2); otherwise sending is machine_send_msi. update follows a message the guest rewrote; send
 * updates first if the message differs. Lock held.
 */
bool machine_ioeventfd(Machine *m, uint64_t addr, unsigned len, bool pio, int fd, bool assign);
bool machine_has_ioeventfd(Machine *m);
typedef struct MachineMsiRoute MachineMsiRoute;
MachineMsiRoute *machine_msi_route_new(Machine *m);
void machine_msi_route_update(MachineMsiRoute *r, uint64_t address, uint32_t data);
void machine_msi_route_send(MachineMsiRoute *r, uint64_t address, uint32_t data);
/* Whether sends go through an irqfd (for tests and -d). */
bool machine_msi_route_uses_irqfd(const MachineMsiRoute *r);

/* vCPU wake-ups (any thread, lock held): set the request bits and make the vCPU look at them. */
void vcpu_request(Vcpu *v, unsigned requests);

/*
 * Machine-wide requests (lock held). The vCPU threads and the main loop act on them: a reset stops every
 * vCPU, resets devices and CPUs and restarts; a shutdown ends the process after flushing the disks.
 */
void machine_request_reset(Machine *m, MachineShutdownCause cause);
void machine_request_shutdown(Machine *m, MachineShutdownCause cause);
void machine_request_powerdown(Machine *m);   /* ACPI power button (QMP system_powerdown) */

/* Devices that need to be reset with the machine register here (lock held while called). */
typedef void (*MachineResetFn)(void *opaque);
void machine_register_reset(Machine *m, MachineResetFn fn, void *opaque);
void machine_reset_devices(Machine *m);

#endif
