/*
 * The execution loop, shared by every target and both front ends. A target's CPU state begins with a
 * TCGCPU; the loop finds or translates the block at the state's pc, runs it, chains it to the next one,
 * and returns to the front end with a reason when something needs the front end (a syscall, an
 * exception, an interrupt request).
 */
#ifndef EMBER_TCG_CPU_EXEC_H
#define EMBER_TCG_CPU_EXEC_H

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>

#include "core/tcg/backend.h"
#include "core/tcg/tb.h"
#include "core/tcg/tcg.h"

#define TB_JMP_CACHE_BITS 12
#define TB_JMP_CACHE_SIZE (1u << TB_JMP_CACHE_BITS)

struct TCGCPU;

/* What a target provides to the loop. */
typedef struct TCGTargetOps {
    /* The key of the next block: its pc and the mode flags that change how it is translated. */
    void (*tb_key)(struct TCGCPU *cpu, uint64_t *pc, uint32_t *flags);
    /* Emit the IR of the block at pc into s; fill tb->size, tb->icount. 0, or a negative errno. */
    int (*translate)(struct TCGCPU *cpu, TCGContext *s, TranslationBlock *tb);
    /* Register the target's globals in a fresh context. */
    void (*init_globals)(TCGContext *s);
    /* Write the target's registers for -d cpu. */
    void (*dump_state)(struct TCGCPU *cpu, FILE *out);
    /* Write the guest disassembly of a block for -d in_asm. */
    void (*dump_code)(struct TCGCPU *cpu, const TranslationBlock *tb, FILE *out);
    /* Nonzero when tb_key is exactly (TCGCPU.pc, the uint32_t at this offset of the CPU state), and only
       tb_key writes that field in user mode: then a backend may do the jump-cache lookup of goto_ptr
       inline (see tcg_jmp_hash, tcg_jmp_cache_follow_flags). */
    uint32_t tb_flags_offset;
    /* Optional. Generated code may leave guest state in the host's floating-point status (x86: MXCSR's
       sticky exception flags; see x86_mxcsr_fold): fold moves it into the CPU state, from the interrupted
       context when ucontext is given (a fault), else from the host; clear drops what the emulator's own
       code may have left there before generated code runs again. */
    void (*fold_host_state)(struct TCGCPU *cpu, const void *ucontext);
    void (*clear_host_state)(struct TCGCPU *cpu);
    /* Optional. Offsets in the CPU state of guest registers used by most blocks (the stack pointer, say),
       most valuable first: a backend may keep some in host registers across blocks (user mode only). */
    const uint32_t *pinned;
    int npinned;
} TCGTargetOps;

/* -d items */
enum {
    TCG_LOG_IN_ASM = 1 << 0,
    TCG_LOG_OP = 1 << 1,
    TCG_LOG_OP_OPT = 1 << 2,
    TCG_LOG_EXEC = 1 << 3,
    TCG_LOG_CPU = 1 << 4,
    TCG_LOG_INT = 1 << 5,
    TCG_LOG_TB_CACHE = 1 << 6,   /* user mode: what the translation cache file gave (tb-persist.h) */
};

/*
 * The one hook for system mode's soft-MMU: when TCGCPU.mem is NULL (user mode), guest addresses are host
 * addresses and backends access them directly; otherwise every guest_ld/guest_st goes through these.
 * Loads return the value extended as `mo` says (to 64 bits).
 */
typedef struct TCGMemOps {
    uint64_t (*load)(struct TCGCPU *cpu, uint64_t addr, TCGMemOp mo);
    void (*store)(struct TCGCPU *cpu, uint64_t addr, uint64_t value, TCGMemOp mo);
    void (*load128)(struct TCGCPU *cpu, uint64_t addr, void *dst);
    void (*store128)(struct TCGCPU *cpu, uint64_t addr, const void *src);
} TCGMemOps;

/* What a jump-cache slot holds besides its key and entry point (TCGCPU.jmp_key, jmp_code): the block and
   the flags it was filled under, for the lookups done in C. */
typedef struct TBJmpEntry {
    TranslationBlock *tb;
    uint32_t flags;
} TBJmpEntry;
/* Slots filled since the flags last changed that tcg_jmp_cache_follow_flags empties one by one (more:
   the whole cache). */
#define TB_JMP_FILL_LOG 32

/* The front of every target's CPU state. Generated code reaches these at fixed offsets from env. */
typedef struct TCGCPU {
    uint64_t pc;                     /* guest pc (x86: rip) */
    uint64_t insn_pc;                /* pc of the instruction being executed (set by insn_start) */
    volatile int32_t exit_request;   /* set from signal handlers or other threads; checked per block */
    int32_t exit_reason;             /* TCGExitReason of the last exit_tb */
    /* The block cache's epoch when this CPU's thread entered tcg_cpu_exec, 0 outside it (read by other
       threads: __atomic): blocks dropped since may still be in its hands, see tb.c. */
    uint64_t tb_epoch;
    /* Per-CPU jump cache for indirect branches: pc hash -> block (jmp-cache.c). A slot's key (its pc; an
       empty slot's is tcg_jmp_empty_key) and entry point (tb->entry) are in arrays of their own, so that
       generated code compares and jumps with one scaled index and without loading the block. */
    uint64_t jmp_key[TB_JMP_CACHE_SIZE];
    const void *jmp_code[TB_JMP_CACHE_SIZE];
    TBJmpEntry jmp_cache[TB_JMP_CACHE_SIZE];
    /* User mode: every entry was filled under these flags (see tcg_jmp_cache_follow_flags), and the slots
       filled since they were set (the first TB_JMP_FILL_LOG of jmp_fills). */
    uint32_t jmp_flags;
    uint32_t jmp_fills;
    uint16_t jmp_fill_log[TB_JMP_FILL_LOG];
    /* where the exception path lands: the loop's sigsetjmp */
    sigjmp_buf jmp_env;
    const TCGTargetOps *target;
    const TCGBackend *backend;
    TCGContext *ctx;                 /* this thread's builder */
    /*
     * Run the next block as one instruction, translated but never cached (so its page is not
     * write-protected again): how an instruction that wrote to its own translated code completes.
     */
    bool next_block_uncached;
    /* Debugger single-step (gdbstub): every block is one instruction run that way, and the loop returns
       TCG_EXIT_INTERRUPT after each one. */
    bool singlestep;
    unsigned log_mask;               /* TCG_LOG_* */
    FILE *log;
    const TCGMemOps *mem;            /* NULL: direct host access (user mode); see TCGMemOps */
    /* With mem: the soft-MMU TLB table of the current MMU index (softmmu.h), for the JIT's inline lookup. */
    void *mem_tlb;
    /* Frame for the interpreter's block-local temps: one per CPU, so threads never share one. */
    uint64_t frame[TCG_MAX_TEMPS];
} TCGCPU;

/* Prepare a CPU (its builder, its jump cache). */
void tcg_cpu_init(TCGCPU *cpu, const TCGTargetOps *target, const TCGBackend *backend);

/* Release what tcg_cpu_init allocated (the builder); the CPU must not be running. */
void tcg_cpu_destroy(TCGCPU *cpu);

/*
 * Run guest code until an exit the front end must handle. The exception path (tcg_cpu_loop_exit) lands
 * here, so it never returns TCG_EXIT_NONE.
 */
TCGExitReason tcg_cpu_exec(TCGCPU *cpu);

/* Leave the running block for the loop, now, with `reason` (helpers and fault handlers call this). */
__attribute__((noreturn)) void tcg_cpu_loop_exit(TCGCPU *cpu, TCGExitReason reason);
/*
 * A host fault (SIGSEGV, SIGBUS) hit while cpu runs guest code: first call this with the signal handler's
 * ucontext_t (the host's). It makes the guest registers and insn_pc exact if the backend kept them in host
 * registers at the faulting access (TCGBackend.restore_state); otherwise they already are.
 */
void tcg_cpu_restore_from_signal(TCGCPU *cpu, const void *ucontext);

/*
 * A front end that forks while other threads may be translating: tcg_fork_lock(true) right before fork,
 * then tcg_fork_lock(false) in the parent and tcg_fork_child() in the child, so that the child never
 * inherits a lock held by a thread it does not have (the code buffer's, then the block cache's).
 */
void tcg_fork_lock(bool lock);
void tcg_fork_child(void);

/* Ask a running CPU to come back to the loop at the next block boundary (signal-safe). */
static inline void tcg_cpu_request_exit(TCGCPU *cpu) { cpu->exit_request = 1; }

/*
 * Debugger breakpoints (gdbstub), NULL without a debugger: a translator asks it before each instruction and,
 * for one with a breakpoint, ends the block there with an exit to the loop (TCG_EXIT_INTERRUPT at that pc)
 * instead of patching guest memory. Not asked for the first instruction of a one-instruction block
 * (max_insns == 1: single steps and SMC re-runs, which start on the instruction the stop was reported at).
 * The debugger drops the page's translations whenever it adds or removes one.
 */
extern bool (*tcg_debug_breakpoint)(uint64_t pc);

/* The CPU this thread is running, if any (for fault handlers). */
extern __thread TCGCPU *tcg_current_cpu;

/* The jump cache's slot for a pc (generated code that inlines the lookup computes the same). */
static inline unsigned tcg_jmp_hash(uint64_t pc)
{
    return (unsigned)((pc ^ (pc >> TB_JMP_CACHE_BITS)) & (TB_JMP_CACHE_SIZE - 1));
}

/* An empty slot's key: a pc that hashes to another slot, so that no lookup, inline or not, ever matches an
   empty entry (whose code field may point at a dropped block's). */
static inline uint64_t tcg_jmp_empty_key(unsigned slot) { return slot ^ 1u; }

/* The block for (pc, flags) in this CPU's jump cache alone (no lock), or NULL. Dropped blocks are never
   freed, so a stale entry is safe to inspect. */
static inline TranslationBlock *tcg_jmp_cache_get(const TCGCPU *cpu, uint64_t pc, uint32_t flags)
{
    unsigned slot = tcg_jmp_hash(pc);
    const TBJmpEntry *e = &cpu->jmp_cache[slot];
    if (__atomic_load_n(&cpu->jmp_key[slot], __ATOMIC_ACQUIRE) != pc) {
        return NULL;
    }
    /* The key matched, so the entry is filled and the rest of it is this block's. */
    TranslationBlock *tb = __atomic_load_n(&e->tb, __ATOMIC_RELAXED);
    if (tb && e->flags == flags && tb->backend == cpu->backend && !__atomic_load_n(&tb->invalid, __ATOMIC_ACQUIRE)) {
        return tb;
    }
    return NULL;
}

void tcg_jmp_cache_new_flags(TCGCPU *cpu, uint32_t flags);
/*
 * User mode (no TCGCPU.mem): the loop calls this with the flags of every key it computes, and the cache
 * holds only blocks filled under the current flags: a change empties what was filled before. The
 * target's flags (TCGTargetOps.tb_flags_offset) change only in its tb_key, so every entry generated code
 * can reach was filled under the flags it runs with, and the JIT's inline lookup compares the pc alone.
 */
static inline void tcg_jmp_cache_follow_flags(TCGCPU *cpu, uint32_t flags)
{
    if (__builtin_expect(flags != cpu->jmp_flags, 0) && !cpu->mem) {
        tcg_jmp_cache_new_flags(cpu, flags);
    }
}

/* Put tb in this CPU's jump cache (only the CPU's own thread fills it). */
void tcg_jmp_cache_set(TCGCPU *cpu, TranslationBlock *tb);
/* Every CPU's jump cache, from any thread: forget the dropped (invalid) tb, or (clear) every block. */
void tcg_jmp_caches_drop(const TranslationBlock *tb);
void tcg_jmp_caches_clear(void);
/* tcg_cpu_init and tcg_cpu_destroy: the CPU's cache starts empty and joins the ones drops reach. */
void tcg_jmp_cache_register(TCGCPU *cpu);
void tcg_jmp_cache_unregister(TCGCPU *cpu);
/* The oldest TCGCPU.tb_epoch of the registered CPUs inside tcg_cpu_exec (UINT64_MAX: none is). */
uint64_t tcg_cpus_oldest_epoch(void);
/* Ask every registered CPU that entered tcg_cpu_exec before `epoch` to leave it (exit_request): one that
   runs chained blocks without end (a spin-wait) would otherwise hold on to every block dropped since. */
void tcg_cpus_kick_older_than(uint64_t epoch);
/* In a forked child: the other CPUs' threads are gone, and with them whatever blocks they held. */
void tcg_cpus_fork_child(const TCGCPU *self);
/* Around a host fork: the registry's lock (taken after the block cache's, as drops do). */
void tcg_cpus_fork_lock(bool lock);

/* Jump-cache lookup used by backends for goto_ptr: the block for the CPU's current key, or NULL. */
TranslationBlock *tcg_cpu_find_tb(TCGCPU *cpu);

/*
 * Translate the block at (pc, flags) into the cache now, without running it (or find it there): how a
 * fork server warms its cache with blocks its children translated. NULL when it cannot be translated.
 */
TranslationBlock *tcg_cpu_translate_block(TCGCPU *cpu, uint64_t pc, uint32_t flags);
/* Called after the loop chained `from`'s slot to `to` (NULL: nobody): how a fork server learns the chains
   its children make, to make them too. */
extern void (*tcg_chain_observer)(TranslationBlock *from, int slot, TranslationBlock *to);

/* Runs of a cold block (TranslationBlock.cold) before it is translated again with the optimizer; 0: every
   block is translated optimized at once (the instruction-level tests set it to check each tier alone). */
extern unsigned tcg_hot_runs;

#endif
