// A tiny fake target for the core's unit tests: a CPU state of TCGCPU plus eight 64-bit registers
// (globals r0..r7), whose "guest code" is a map from pc to a C++ function that emits the block's IR.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

extern "C" {
#include "core/tcg/cpu-exec.h"
#include "core/tcg/tb.h"
#include "core/tcg/tcg-gen.h"
}

struct FakeCPU {
    TCGCPU tcg;
    uint64_t r[8];
    uint64_t scratch[4];   // CPU-state memory for ld/st and 128-bit guest loads/stores
    uint32_t key_flags;    // the flags half of the block key (0 unless a test sets it)
};

#define FAKE_OFF(field) ((uint32_t)offsetof(FakeCPU, field))

extern TCGTemp fake_r[8];
extern TCGTemp fake_pc;
extern const TCGTargetOps fake_target_ops;
extern std::atomic<int> fake_translations;   // blocks translated since fake_reset (any thread)
extern thread_local uint32_t fake_translating_flags;   // the flags of the block being translated

using FakeBody = std::function<void(TCGContext *s)>;

// The IR of the block at pc (after its insn_start); replaces an earlier one.
void fake_set_block(uint64_t pc, FakeBody body, uint32_t size = 4);
// Forget every block body and drop the global block cache.
void fake_reset();

// The backend under test: EMBER_TEST_BACKEND names it (default "interp"). When the named backend is not
// linked in, every test of the binary is skipped.
const TCGBackend *fake_backend();

FakeCPU *fake_cpu_new(const TCGBackend *backend = fake_backend());
void fake_cpu_free(FakeCPU *cpu);

// Build IR with body in the CPU's context, optionally optimize it, compile and run it once outside the
// cache. Returns the exit; *dump (if given) gets the op list that ran.
TCGExit fake_run_ir(FakeCPU *cpu, const FakeBody &body, bool optimize, std::string *dump = nullptr);

// The op list of a context as text.
std::string fake_dump(const TCGContext *s);

// pc = next; goto_tb slot (chainable).
void fake_gen_goto(TCGContext *s, uint64_t next, int slot);

// A counting loop: block 0x1000 adds 1 to r0 and jumps to itself until r0 == r1, then to 0x2000, which
// halts (exit HALT, pc 0x2004).
void fake_setup_counting_loop();
