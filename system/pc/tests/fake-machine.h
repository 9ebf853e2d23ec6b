// A machine for the front end's tests: RAM-less, the two buses, its own main context, run control, and
// a fake accelerator whose vcpu_run hands out scripted exits (one queue per vCPU) and otherwise blocks
// until kicked. It records what the vCPU loop did with each exit and which states it loaded.
#ifndef EMBER_PC_TESTS_FAKE_MACHINE_H
#define EMBER_PC_TESTS_FAKE_MACHINE_H

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include "system/pc/accel.h"
#include "system/pc/runstate.h"
}

struct FakeCpu {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::pair<AccelExit, std::vector<uint8_t>>> script;   // exit, IO data
    bool kicked = false;
    int runs = 0;                       // vcpu_run calls
    std::vector<uint8_t> io_data;       // the buffer handed out with the current IO exit
    std::vector<uint8_t> completed_io;  // what the loop left in it (for IN), seen at the next run
    uint8_t completed_mmio[8] = {};
    AccelExit current{};
    std::vector<X86VcpuState> loaded;   // every vcpu_set_state
    uint64_t rflags = 0x202;            // what vcpu_get_state reports (IF=1)
};

struct FakeEvent {
    std::string name, data;
};

class FakeMachine {
public:
    explicit FakeMachine(int nr_vcpus, bool no_reboot = false);
    ~FakeMachine();

    Machine m;
    Accel accel;
    std::vector<FakeCpu> cpus;          // never resized after construction
    std::vector<FakeEvent> events;
    int power_button_presses = 0;
    int resets = 0;                     // machine reset hook calls

    void Start(bool paused = false);
    void Script(int cpu, const AccelExit &e);
    // Iterate the main context until pred() holds or timeout_ms passes.
    bool RunUntil(const std::function<bool()> &pred, int timeout_ms = 3000);
    int Runs(int cpu);
    size_t Loaded(int cpu);
    X86VcpuState LastLoaded(int cpu);
    bool HasEvent(const std::string &name);
    void Request(int cpu, unsigned req);

    static AccelExit Io(uint16_t port, uint8_t size, bool write, uint32_t count, const void *data);
    static AccelExit Mmio(uint64_t gpa, uint8_t size, bool write, uint64_t value);
    static AccelExit Simple(AccelExitReason reason);
};

extern "C" {
// The fake interrupt controller's answers (tests/fake-irq.c).
extern bool fake_irq_pending[8];
}

#endif
