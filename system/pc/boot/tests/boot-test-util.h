// Shared pieces of the boot tests: a machine with plain RAM (no accelerator, no devices), temporary
// files, and little-endian reads of guest memory.
#ifndef EMBER_PC_BOOT_TEST_UTIL_H
#define EMBER_PC_BOOT_TEST_UTIL_H

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <unistd.h>

extern "C" {
#include "system/pc/boot/boot.h"
}

class TestMachine {
public:
    explicit TestMachine(uint64_t ram_mib, int cpus = 2)
    {
        memset(static_cast<void *>(&m), 0, sizeof(m));
        m.ram_size = m.ram_low = ram_mib << 20;
        m.ram = static_cast<uint8_t *>(calloc(1, m.ram_size));
        m.nr_vcpus = cpus;
        m.vcpus = static_cast<Vcpu *>(calloc(cpus, sizeof(Vcpu)));
        for (int i = 0; i < cpus; i++) {
            m.vcpus[i].machine = &m;
            m.vcpus[i].index = i;
            x86_state_reset(&m.vcpus[i].boot_state, i, i == 0);
        }
    }
    ~TestMachine()
    {
        free(m.ram);
        free(m.vcpus);
    }
    TestMachine(const TestMachine &) = delete;
    TestMachine &operator=(const TestMachine &) = delete;

    const uint8_t *at(uint64_t gpa, uint64_t len = 1)
    {
        const uint8_t *p = static_cast<const uint8_t *>(machine_ram_ptr(&m, gpa, len));
        EXPECT_NE(p, nullptr) << "0x" << std::hex << gpa << " is not RAM";
        return p;
    }
    uint8_t r8(uint64_t gpa) { return *at(gpa); }
    uint16_t r16(uint64_t gpa) { const uint8_t *p = at(gpa, 2); return (uint16_t)(p[0] | p[1] << 8); }
    uint32_t r32(uint64_t gpa) { return r16(gpa) | (uint32_t)r16(gpa + 2) << 16; }
    uint64_t r64(uint64_t gpa) { return r32(gpa) | (uint64_t)r32(gpa + 4) << 32; }
    std::string str(uint64_t gpa) { return std::string(reinterpret_cast<const char *>(at(gpa))); }
    const X86VcpuState &bsp() { return m.vcpus[0].boot_state; }

    Machine m;
};

// A file in the test's temporary folder, deleted at the end.
class TempFile {
public:
    explicit TempFile(const std::vector<uint8_t> &content, const char *name = "file")
    {
        const char *dir = getenv("TEST_TMPDIR");
        path = std::string(dir ? dir : "/tmp") + "/boot-test-" + std::to_string(getpid()) + "-" +
               std::to_string(counter++) + "-" + name;
        FILE *f = fopen(path.c_str(), "wb");
        EXPECT_NE(f, nullptr);
        if (!content.empty()) {
            fwrite(content.data(), 1, content.size(), f);
        }
        fclose(f);
    }
    // A sparse file of the given size.
    TempFile(uint64_t size, const char *name) : TempFile(std::vector<uint8_t>(), name)
    {
        EXPECT_EQ(truncate(path.c_str(), (off_t)size), 0);
    }
    ~TempFile() { unlink(path.c_str()); }
    const char *c_str() const { return path.c_str(); }

    std::string path;
    static inline int counter = 0;
};

static inline void put16(std::vector<uint8_t> &b, size_t off, uint16_t v)
{
    b[off] = (uint8_t)v;
    b[off + 1] = (uint8_t)(v >> 8);
}
static inline void put32(std::vector<uint8_t> &b, size_t off, uint32_t v)
{
    put16(b, off, (uint16_t)v);
    put16(b, off + 2, (uint16_t)(v >> 16));
}
static inline void put64(std::vector<uint8_t> &b, size_t off, uint64_t v)
{
    put32(b, off, (uint32_t)v);
    put32(b, off + 4, (uint32_t)(v >> 32));
}

// The error message of a failed boot (and the boot must fail).
static inline std::string boot_error(Machine *m, const PcBootConfig &cfg)
{
    GError *err = nullptr;
    bool ok = pc_boot_load(m, &cfg, &err);
    EXPECT_FALSE(ok);
    std::string msg = err ? err->message : "(no error)";
    if (err) {
        g_error_free(err);
    }
    return msg;
}

static inline void boot_ok(Machine *m, const PcBootConfig &cfg)
{
    GError *err = nullptr;
    bool ok = pc_boot_load(m, &cfg, &err);
    ASSERT_TRUE(ok) << (err ? err->message : "");
}

#endif
