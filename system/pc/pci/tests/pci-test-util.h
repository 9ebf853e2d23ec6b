// A machine built by hand for device tests: plain RAM, the two buses, a main context of its own, GSI
// levels captured, and port I/O / MMIO performed the way a vCPU does it (machine lock held).
#ifndef EMBER_PC_PCI_TEST_UTIL_H
#define EMBER_PC_PCI_TEST_UTIL_H

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>

// machine.h uses C11's atomic_uint, which C++17 lacks; C++'s lock-free atomic of the same size stands in.
#include <atomic>
typedef std::atomic<unsigned> atomic_uint;

extern "C" {
#include "system/pc/accel.h"
#include "system/pc/pci/pci.h"
#include "system/pc/pci/tests/pci-test-stubs.h"
}

class TestMachine {
public:
    explicit TestMachine(uint64_t ram_mib = 16)
    {
        memset(&m, 0, sizeof(m));
        m.ram_size = m.ram_low = ram_mib << 20;
        m.ram = static_cast<uint8_t *>(calloc(1, m.ram_size));
        iobus_init(&m.pio, "pio");
        iobus_init(&m.mmio, "mmio");
        g_mutex_init(&m.lock);
        g_cond_init(&m.vcpu_wake);
        m.main_context = g_main_context_new();
        for (int i = 0; i < PC_NUM_GSI; i++) {
            m.ioapic_in[i] = IrqLine{ GsiCapture, this, i };
        }
    }
    // Deliberately leaked: reset hooks and GLib sources registered by devices keep pointing at us.
    ~TestMachine() = default;
    TestMachine(const TestMachine &) = delete;
    TestMachine &operator=(const TestMachine &) = delete;

    uint32_t in(uint16_t port, unsigned size)
    {
        machine_lock(&m);
        uint32_t v = (uint32_t)iobus_read(&m.pio, port, size);
        machine_unlock(&m);
        return v;
    }
    void out(uint16_t port, uint32_t value, unsigned size)
    {
        machine_lock(&m);
        iobus_write(&m.pio, port, value, size);
        machine_unlock(&m);
    }
    uint64_t rd(uint64_t addr, unsigned size)
    {
        machine_lock(&m);
        uint64_t v = iobus_read(&m.mmio, addr, size);
        machine_unlock(&m);
        return v;
    }
    void wr(uint64_t addr, uint64_t value, unsigned size)
    {
        machine_lock(&m);
        iobus_write(&m.mmio, addr, value, size);
        machine_unlock(&m);
    }
    // Configuration mechanism 1, as Linux's pci_conf1_read/write do it.
    uint32_t cfg_read(unsigned bus, unsigned slot, unsigned off, unsigned size)
    {
        out(0xCF8, 0x80000000u | bus << 16 | slot << 11 | (off & 0xFC), 4);
        return in((uint16_t)(0xCFC + (off & 3)), size);
    }
    uint32_t cfg_read(unsigned slot, unsigned off, unsigned size) { return cfg_read(0, slot, off, size); }
    void cfg_write(unsigned slot, unsigned off, uint32_t value, unsigned size)
    {
        out(0xCF8, 0x80000000u | slot << 11 | (off & 0xFC), 4);
        out((uint16_t)(0xCFC + (off & 3)), value, size);
    }
    // Iterate the main context until cond holds or timeout_ms passes.
    bool run_until(const std::function<bool()> &cond, int timeout_ms = 5000)
    {
        auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        GSource *tick = g_timeout_source_new(5);
        g_source_set_callback(tick, [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
        g_source_attach(tick, m.main_context);
        bool ok;
        while (!(ok = cond()) && std::chrono::steady_clock::now() < end) {
            g_main_context_iteration(m.main_context, TRUE);
        }
        g_source_destroy(tick);
        g_source_unref(tick);
        return ok;
    }

    Machine m;
    int gsi_level[PC_NUM_GSI] = {};

private:
    static void GsiCapture(void *opaque, int n, int level) { static_cast<TestMachine *>(opaque)->gsi_level[n] = level; }
};

#endif
