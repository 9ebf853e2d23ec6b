// The fake machine and accelerator of fake-machine.h.
#include "system/pc/tests/fake-machine.h"

namespace {

FakeMachine *current;

bool FakeMachineInit(Machine *, GError **) { return true; }
void FakeMachineDestroy(Machine *) {}
bool FakeVcpuInit(Vcpu *, GError **) { return true; }
void FakeVcpuDestroy(Vcpu *) {}

bool FakeSetState(Vcpu *v, const X86VcpuState *s, GError **)
{
    FakeCpu &c = current->cpus[v->index];
    std::lock_guard<std::mutex> lk(c.mu);
    c.loaded.push_back(*s);
    return true;
}

bool FakeGetState(Vcpu *v, X86VcpuState *s, GError **)
{
    FakeCpu &c = current->cpus[v->index];
    std::lock_guard<std::mutex> lk(c.mu);
    memset(s, 0, sizeof(*s));
    s->rflags = c.rflags;
    return true;
}

void FakeRun(Vcpu *v, AccelExit *e)
{
    FakeCpu &c = current->cpus[v->index];
    std::unique_lock<std::mutex> lk(c.mu);
    // What the loop did with the previous exit is visible now.
    if (c.current.reason == ACCEL_EXIT_IO) {
        c.completed_io = c.io_data;
    } else if (c.current.reason == ACCEL_EXIT_MMIO) {
        memcpy(c.completed_mmio, e->mmio.data, 8);
    }
    c.current = AccelExit{};
    c.current.reason = ACCEL_EXIT_REQUEST;
    c.runs++;
    c.cv.notify_all();
    c.cv.wait(lk, [&] { return !c.script.empty() || c.kicked || (__atomic_load_n(&v->requests, __ATOMIC_SEQ_CST) & VCPU_REQ_STOP); });
    if (c.script.empty() || c.kicked || (__atomic_load_n(&v->requests, __ATOMIC_SEQ_CST) & VCPU_REQ_STOP)) {
        c.kicked = false;
        e->reason = ACCEL_EXIT_REQUEST;
        return;
    }
    *e = c.script.front().first;
    c.io_data = c.script.front().second;
    c.script.pop_front();
    if (e->reason == ACCEL_EXIT_IO) {
        e->io.data = c.io_data.data();
    }
    c.current = *e;
}

void FakeKick(Vcpu *v)
{
    FakeCpu &c = current->cpus[v->index];
    std::lock_guard<std::mutex> lk(c.mu);
    c.kicked = true;
    c.cv.notify_all();
}

// Filled field by field, so that fields the interface gains later stay NULL.
const AccelOps *FakeOps()
{
    static AccelOps ops;
    memset(&ops, 0, sizeof(ops));
    ops.name = "fake";
    ops.machine_init = FakeMachineInit;
    ops.machine_destroy = FakeMachineDestroy;
    ops.vcpu_init = FakeVcpuInit;
    ops.vcpu_destroy = FakeVcpuDestroy;
    ops.vcpu_set_state = FakeSetState;
    ops.vcpu_get_state = FakeGetState;
    ops.vcpu_run = FakeRun;
    ops.vcpu_kick = FakeKick;
    return &ops;
}

void EventCb(void *opaque, const char *name, const char *data, int64_t)
{
    static_cast<FakeMachine *>(opaque)->events.push_back({ name, data ? data : "" });
}

void PowerButton(Machine *) { current->power_button_presses++; }

// Reset hooks are process-wide (machine.c): registered once, counting for whichever machine is current.
void ResetHook(void *)
{
    if (current) {
        current->resets++;
    }
}

GPtrArray *BlockList(Machine *)
{
    GPtrArray *a = g_ptr_array_new_with_free_func(pc_block_info_free);
    PcBlockInfo *b = g_new0(PcBlockInfo, 1);
    b->id = g_strdup("disk0");
    b->path = g_strdup("/images/disk0.raw");
    b->readonly = true;
    b->size = 1 << 20;
    g_ptr_array_add(a, b);
    return a;
}

}  // namespace

FakeMachine::FakeMachine(int nr_vcpus, bool no_reboot) : cpus(nr_vcpus)
{
    current = this;
    memset(&m, 0, sizeof(m));
    memset(&accel, 0, sizeof(accel));
    accel.ops = FakeOps();
    m.accel = &accel;
    g_mutex_init(&m.lock);
    g_cond_init(&m.vcpu_wake);
    iobus_init(&m.pio, "pio");
    iobus_init(&m.mmio, "mmio");
    m.main_context = g_main_context_new();
    m.run_state = MACHINE_RUNNING;
    m.no_reboot = no_reboot;
    m.nr_vcpus = nr_vcpus;
    m.vcpus = g_new0(Vcpu, nr_vcpus);
    for (int i = 0; i < nr_vcpus; i++) {
        m.vcpus[i].machine = &m;
        m.vcpus[i].index = i;
        x86_state_reset(&m.vcpus[i].boot_state, i, i == 0);
        m.vcpus[i].boot_state.rip = 0x100000;   // a "kernel entry" the BSP loads at start and reset
    }
    PcHooks hooks = {};
    hooks.power_button = PowerButton;
    hooks.block_list = BlockList;
    pc_run_new(&m, &hooks);
    pc_run_add_listener(&m, EventCb, this);
    static bool hook_registered;
    if (!hook_registered) {
        machine_register_reset(&m, ResetHook, nullptr);
        hook_registered = true;
    }
}

FakeMachine::~FakeMachine()
{
    pc_vcpus_stop_and_join(&m);
    // The run control, its sources and the reset hook stay (one machine per process in the product).
    machine_lock(&m);
    m.main_loop = nullptr;
    machine_unlock(&m);
    current = nullptr;
}

void FakeMachine::Start(bool paused)
{
    GError *err = nullptr;
    ASSERT_TRUE(pc_vcpus_start(&m, paused, &err));
}

void FakeMachine::Script(int cpu, const AccelExit &e)
{
    FakeCpu &c = cpus[cpu];
    std::lock_guard<std::mutex> lk(c.mu);
    std::vector<uint8_t> data;
    if (e.reason == ACCEL_EXIT_IO) {
        data.assign(e.io.data, e.io.data + (size_t)e.io.size * (e.io.count ? e.io.count : 1));
    }
    c.script.emplace_back(e, data);
    c.cv.notify_all();
}

bool FakeMachine::RunUntil(const std::function<bool()> &pred, int timeout_ms)
{
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end) {
            return false;
        }
        while (g_main_context_iteration(m.main_context, FALSE)) {
        }
        g_usleep(1000);
    }
    return true;
}

int FakeMachine::Runs(int cpu)
{
    std::lock_guard<std::mutex> lk(cpus[cpu].mu);
    return cpus[cpu].runs;
}

size_t FakeMachine::Loaded(int cpu)
{
    std::lock_guard<std::mutex> lk(cpus[cpu].mu);
    return cpus[cpu].loaded.size();
}

X86VcpuState FakeMachine::LastLoaded(int cpu)
{
    std::lock_guard<std::mutex> lk(cpus[cpu].mu);
    return cpus[cpu].loaded.empty() ? X86VcpuState{} : cpus[cpu].loaded.back();
}

bool FakeMachine::HasEvent(const std::string &name)
{
    for (const auto &e : events) {
        if (e.name == name) {
            return true;
        }
    }
    return false;
}

void FakeMachine::Request(int cpu, unsigned req)
{
    machine_lock(&m);
    vcpu_request(&m.vcpus[cpu], req);
    machine_unlock(&m);
}

AccelExit FakeMachine::Io(uint16_t port, uint8_t size, bool write, uint32_t count, const void *data)
{
    static uint8_t scratch[256];   // Script() copies the data before the next Io() reuses this
    AccelExit e{};
    e.reason = ACCEL_EXIT_IO;
    e.io.port = port;
    e.io.size = size;
    e.io.is_write = write;
    e.io.count = count;
    memset(scratch, 0, sizeof(scratch));
    if (data) {
        memcpy(scratch, data, (size_t)size * (count ? count : 1));
    }
    e.io.data = scratch;
    return e;
}

AccelExit FakeMachine::Mmio(uint64_t gpa, uint8_t size, bool write, uint64_t value)
{
    AccelExit e{};
    e.reason = ACCEL_EXIT_MMIO;
    e.mmio.gpa = gpa;
    e.mmio.size = size;
    e.mmio.is_write = write;
    memcpy(e.mmio.data, &value, 8);
    return e;
}

AccelExit FakeMachine::Simple(AccelExitReason reason)
{
    AccelExit e{};
    e.reason = reason;
    return e;
}
