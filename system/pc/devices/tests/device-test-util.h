// Shared pieces of the device tests: a RAM-less machine with two vCPUs and no accelerator, every device
// of pc-devices.h created on it, port and MMIO access as a guest does it, recorders for interrupt lines
// and for the UARTs' output, and a bounded run of the machine's main context for timers.
#ifndef EMBER_PC_DEVICES_TEST_UTIL_H
#define EMBER_PC_DEVICES_TEST_UTIL_H

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>

#include <glib.h>

// machine.h uses C11's atomic_uint, which C++17's <stdatomic.h> does not provide: C++'s lock-free
// atomic of the same size and representation stands in for it.
#include <atomic>
typedef std::atomic<unsigned> atomic_uint;

extern "C" {
#include "system/pc/accel.h"
#include "system/pc/devices/pc-devices.h"
#include "system/pc/timer.h"

// Test doubles for the run-control requests (system/pc's front end owns the real ones): tests/doubles.c.
extern int test_reset_requests, test_shutdown_requests;
extern MachineShutdownCause test_last_cause;
}

// What a device drove on an interrupt line we took over from the interrupt controllers.
struct LineRecorder {
    int level = 0;
    int rising = 0;
    static void handler(void *opaque, int n, int level)
    {
        (void)n;
        auto *r = static_cast<LineRecorder *>(opaque);
        if (level && !r->level) {
            r->rising++;
        }
        r->level = level;
    }
};

class DeviceTest : public ::testing::Test {
protected:
    Machine m;
    Vcpu vcpus[2];
    PcDevices *d = nullptr;
    std::string com_out[2];

    static void com_write(void *opaque, const uint8_t *buf, size_t len)
    {
        static_cast<std::string *>(opaque)->append(reinterpret_cast<const char *>(buf), len);
    }

    void SetUp() override
    {
        memset(static_cast<void *>(&m), 0, sizeof(m));
        memset(static_cast<void *>(vcpus), 0, sizeof(vcpus));
        iobus_init(&m.pio, "pio");
        iobus_init(&m.mmio, "mmio");
        g_mutex_init(&m.lock);
        g_cond_init(&m.vcpu_wake);
        m.ram_size = m.ram_low = 512ull << 20;
        m.vcpus = vcpus;
        m.nr_vcpus = 2;
        for (int i = 0; i < 2; i++) {
            vcpus[i].machine = &m;
            vcpus[i].index = i;
        }
        m.main_context = g_main_context_new();
        PcDevicesConfig cfg = {};
        cfg.uart_out[0] = CharOut{ com_write, &com_out[0] };
        cfg.uart_out[1] = CharOut{ com_write, &com_out[1] };
        GError *err = nullptr;
        d = pc_devices_create(&m, &cfg, &err);
        ASSERT_NE(d, nullptr) << (err ? err->message : "");
        vcpu_current = &vcpus[0];
        test_reset_requests = test_shutdown_requests = 0;
        test_last_cause = SHUTDOWN_CAUSE_NONE;
    }

    void TearDown() override
    {
        vcpu_current = nullptr;
        // Devices are not freed (their reset hooks stay registered process-wide); the context goes, and
        // with it their timers, so nothing fires for a dead machine.
        g_main_context_unref(m.main_context);
        iobus_destroy(&m.pio);
        iobus_destroy(&m.mmio);
    }

    uint8_t inb(uint16_t port) { return (uint8_t)iobus_read(&m.pio, port, 1); }
    uint16_t inw(uint16_t port) { return (uint16_t)iobus_read(&m.pio, port, 2); }
    uint32_t inl(uint16_t port) { return (uint32_t)iobus_read(&m.pio, port, 4); }
    void outb(uint16_t port, uint8_t v) { iobus_write(&m.pio, port, v, 1); }
    void outw(uint16_t port, uint16_t v) { iobus_write(&m.pio, port, v, 2); }

    // The local APIC's registers as CPU `cpu` sees them.
    uint32_t apic_read(int cpu, unsigned reg)
    {
        vcpu_current = &vcpus[cpu];
        return (uint32_t)iobus_read(&m.mmio, PC_LAPIC_BASE + reg, 4);
    }
    void apic_write(int cpu, unsigned reg, uint32_t v)
    {
        vcpu_current = &vcpus[cpu];
        iobus_write(&m.mmio, PC_LAPIC_BASE + reg, v, 4);
    }
    bool apic_bit(int cpu, unsigned base, unsigned vector)
    {
        return apic_read(cpu, base + (vector / 32) * 0x10) & (1u << (vector % 32));
    }
    bool irr(int cpu, unsigned vector) { return apic_bit(cpu, 0x200, vector); }
    bool isr(int cpu, unsigned vector) { return apic_bit(cpu, 0x100, vector); }

    uint32_t ioapic_read(unsigned reg)
    {
        iobus_write(&m.mmio, PC_IOAPIC_BASE, reg, 1);
        return (uint32_t)iobus_read(&m.mmio, PC_IOAPIC_BASE + 0x10, 4);
    }
    void ioapic_write(unsigned reg, uint32_t v)
    {
        iobus_write(&m.mmio, PC_IOAPIC_BASE, reg, 1);
        iobus_write(&m.mmio, PC_IOAPIC_BASE + 0x10, v, 4);
    }

    unsigned take_requests(int cpu)
    {
        unsigned v = vcpus[cpu].requests;
        vcpus[cpu].requests = 0;
        return v;
    }

    // Take ISA IRQ `irq` away from the PIC and the I/O APIC to watch what the device drives on it.
    void record_gsi(int irq, LineRecorder *r)
    {
        IrqLine line = { LineRecorder::handler, r, irq };
        m.pic_in[irq] = line;
        m.ioapic_in[irq] = IrqLine{};
    }

    // Run the machine's main context (its timers) until pred holds or timeout_ms passes.
    bool run_until(const std::function<bool()> &pred, int timeout_ms)
    {
        int64_t end = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
        while (!pred()) {
            if (g_get_monotonic_time() > end) {
                return false;
            }
            g_main_context_iteration(m.main_context, FALSE);
            g_usleep(50);
        }
        return true;
    }

    // The standard PC initialization of the 8259 pair: vectors 0x20 and 0x28, cascade on IR2, 8086 mode.
    void pic_init(uint8_t icw4 = 0x01)
    {
        outb(0x20, 0x11);
        outb(0x21, 0x20);
        outb(0x21, 0x04);
        outb(0x21, icw4);
        outb(0xA0, 0x11);
        outb(0xA1, 0x28);
        outb(0xA1, 0x02);
        outb(0xA1, icw4);
        outb(0x21, 0x00);
        outb(0xA1, 0x00);
    }
};

#endif
