/*
 * The execution loop: find (jump cache, then the global cache) or translate the block at the CPU's key,
 * chain the previous block's exit to it, run it, and return to the front end when a block exits with a
 * reason. Guest faults and helpers unwind to here through tcg_cpu_loop_exit.
 */
#define _GNU_SOURCE   /* REG_RIP and friends in ucontext.h */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <ucontext.h>

#include <glib.h>

#include "core/tcg/cpu-exec.h"
#include "core/tcg/jit.h"
#include "core/tcg/tb-persist.h"

__thread TCGCPU *tcg_current_cpu;
bool (*tcg_debug_breakpoint)(uint64_t pc);

/* Attempts at a block whose IR overflows: unlimited, then at most 64, 32, ... 1 instructions. */
#define TCG_RETRY_LIMIT 8

void tcg_cpu_init(TCGCPU *cpu, const TCGTargetOps *target, const TCGBackend *backend)
{
    cpu->target = target;
    cpu->backend = backend ? backend : &tcg_backend_interp;
    if (!cpu->ctx) {
        cpu->ctx = g_new0(TCGContext, 1);
    }
    tcg_context_init(cpu->ctx);
    if (target && target->init_globals) {
        target->init_globals(cpu->ctx);
    }
    tcg_jmp_cache_register(cpu);
    cpu->exit_request = 0;
    cpu->exit_reason = TCG_EXIT_NONE;
    tb_cache_init(cpu->backend);
}

void tcg_cpu_destroy(TCGCPU *cpu)
{
    tcg_jmp_cache_unregister(cpu);
    g_free(cpu->ctx);
    cpu->ctx = NULL;
    if (tcg_current_cpu == cpu) {
        tcg_current_cpu = NULL;
    }
}

/* The key of the block at the CPU's pc; the jump cache follows its flags. */
static void tcg_cpu_key(TCGCPU *cpu, uint64_t *pc, uint32_t *flags)
{
    cpu->target->tb_key(cpu, pc, flags);
    tcg_jmp_cache_follow_flags(cpu, *flags);
}

/* The block for (pc, flags) from this CPU's jump cache or the global cache; NULL on a miss. */
static TranslationBlock *tcg_find_tb(TCGCPU *cpu, uint64_t pc, uint32_t flags)
{
    TranslationBlock *tb = tcg_jmp_cache_get(cpu, pc, flags);
    if (tb) {
        return tb;
    }
    tb = tb_lookup(pc, flags);
    if (tb && tb->backend != cpu->backend) {
        tb = NULL;   /* another backend's code: translate again, which replaces it */
    }
    if (tb) {
        tcg_jmp_cache_set(cpu, tb);
    }
    return tb;
}

TranslationBlock *tcg_cpu_find_tb(TCGCPU *cpu)
{
    uint64_t pc;
    uint32_t flags;
    tcg_cpu_key(cpu, &pc, &flags);
    return tcg_find_tb(cpu, pc, flags);
}

static void tcg_log_block(TCGCPU *cpu, const char *title, TranslationBlock *tb)
{
    fprintf(cpu->log, "%s 0x%" PRIx64 " [%08x]:\n", title, tb->pc, tb->flags);
    tcg_dump_ops(cpu->ctx, cpu->log);
    fputc('\n', cpu->log);
}

/* Build the IR of one block and compile it. 0, or a negative errno; the IR must fit the buffers. */
static int tcg_translate_once(TCGCPU *cpu, TranslationBlock *tb)
{
    TCGContext *s = cpu->ctx;
    tcg_func_start(s);
    tb->size = tb->icount = 0;
    int err = cpu->target->translate(cpu, s, tb);
    if (err < 0) {
        return err;
    }
    if (s->overflow) {
        return -E2BIG;
    }
    if (tb->icount == 0) {
        return -EINVAL;
    }
    if (cpu->log && (cpu->log_mask & TCG_LOG_IN_ASM) && cpu->target->dump_code) {
        cpu->target->dump_code(cpu, tb, cpu->log);
    }
    if (cpu->log && (cpu->log_mask & TCG_LOG_OP)) {
        tcg_log_block(cpu, "OP", tb);
    }
    if (!tb->cold) {
        tcg_optimize(s);
    }
    if (cpu->log && (cpu->log_mask & TCG_LOG_OP_OPT)) {
        tcg_log_block(cpu, tb->cold ? "OP (first tier: not optimized)" : "OP after optimization", tb);
    }
    return cpu->backend->compile(s, tb);
}

/*
 * The block being translated by this thread. A translator may leave through the exception path (a
 * guest fault while reading code); the allocation then stays here for the next translation instead
 * of leaking (or is freed when the thread ends).
 */
static GPrivate tcg_spare_tb = G_PRIVATE_INIT(g_free);

/* A block of (pc, flags) with nothing in it yet. */
static void tcg_tb_start(TranslationBlock *tb, const TCGCPU *cpu, uint64_t pc, uint32_t flags, bool cold)
{
    memset(tb, 0, sizeof(*tb));
    tb->pc = pc;
    tb->flags = flags;
    tb->backend = cpu->backend;
    tb->cold = cold;
    tb->runs_left = (int32_t)tcg_hot_runs;
}

/* The block at (pc, flags): a translation an earlier run kept (tb-persist.h), or a new one, retried shorter
   when its IR outgrows the buffers; `cold`: a first translation (TranslationBlock.cold). Not yet published:
   see tb_insert. */
static TranslationBlock *tcg_translate_new(TCGCPU *cpu, uint64_t pc, uint32_t flags, bool cold, int *errp)
{
    TranslationBlock *tb = tcg_thread_scratch(&tcg_spare_tb, sizeof(TranslationBlock));
    int err = 0;
    /* A translation kept by an earlier run, unless the translations are being logged. */
    bool logged = cpu->log && (cpu->log_mask & (TCG_LOG_IN_ASM | TCG_LOG_OP | TCG_LOG_OP_OPT));
    tcg_tb_start(tb, cpu, pc, flags, cold);
    bool kept = !logged && tb_persist_load(cpu, tb, cold);
    for (int attempt = 0; attempt < TCG_RETRY_LIMIT && !kept; attempt++) {
        tcg_tb_start(tb, cpu, pc, flags, cold);
        tb->max_insns = attempt == 0 ? 0 : 1u << (TCG_RETRY_LIMIT - 1 - attempt);
        err = tcg_translate_once(cpu, tb);
        if (err != -E2BIG) {
            break;
        }
    }
    if (err < 0) {
        if (tb->code && cpu->backend->free_code) {
            cpu->backend->free_code(tb);
        }
        *errp = err;
        return NULL;
    }
    if (!kept && !logged) {
        tb_persist_keep(cpu, tb);
    }
    g_private_set(&tcg_spare_tb, NULL);   /* it is the cache's now */
    tb->max_insns = 0;
    uint64_t last = pc + (tb->size ? tb->size - 1 : 0);
    tb->page[0] = pc & TB_PAGE_MASK;
    tb->page[1] = (last & TB_PAGE_MASK) != tb->page[0] ? last & TB_PAGE_MASK : ~0ULL;
    return tb;
}

/*
 * Two tiers. Most guest code runs a few times only (a program's start-up, its libraries' init), and there
 * translation is the cost, a fifth of it the optimizer's. So the loop translates a block first without the
 * optimizer (cold) where the backend can count the block's runs (the JIT, in user mode); one that runs
 * tcg_hot_runs times is translated again, optimized, and takes the first one's place. Measured on
 * bench/'s workloads: python's start-up -15%, the python run -9%, perl -3%, the rest unchanged; a count of
 * 64 made the start-up slower than one tier (much of it runs a few hundred times), 1024-4096 all did well.
 */
unsigned tcg_hot_runs = TCG_HOT_RUNS;

static bool tcg_first_tier(const TCGCPU *cpu)
{
    return tcg_hot_runs > 0 && cpu->backend->counts_runs && !cpu->mem;
}

/* Translate the block at (pc, flags) and publish it (or the one another thread published first). */
static TranslationBlock *tcg_translate(TCGCPU *cpu, uint64_t pc, uint32_t flags, bool cold, int *errp)
{
    TranslationBlock *tb = tcg_translate_new(cpu, pc, flags, cold, errp);
    return tb ? tb_insert(tb) : NULL;
}

/* A cold block ran often: its optimized translation replaces it (it stays as it is if that fails). */
static void tcg_translate_hot(TCGCPU *cpu, TranslationBlock *cold)
{
    int err = 0;
    TranslationBlock *tb = tcg_translate_new(cpu, cold->pc, cold->flags, false, &err);
    if (tb) {
        tb = tb_replace(cold, tb);
        tcg_jmp_cache_set(cpu, tb);
    }
}

void (*tcg_chain_observer)(TranslationBlock *from, int slot, TranslationBlock *to);

TranslationBlock *tcg_cpu_translate_block(TCGCPU *cpu, uint64_t pc, uint32_t flags)
{
    TranslationBlock *tb = tcg_find_tb(cpu, pc, flags);
    int err = 0;
    /* Ahead of time (AFL's fork server): optimized at once. */
    return tb ? tb : tcg_translate(cpu, pc, flags, false, &err);
}

/* Run generated code, with the host state it may leave behind folded into the CPU state after. */
static TCGExit tcg_exec_block(TCGCPU *cpu, TranslationBlock *tb)
{
    if (cpu->target->clear_host_state) {
        cpu->target->clear_host_state(cpu);
    }
    TCGExit e = cpu->backend->exec(cpu, tb);
    if (cpu->target->fold_host_state) {
        cpu->target->fold_host_state(cpu, NULL);
    }
    return e;
}

/*
 * One instruction at the CPU's pc, run outside the cache: after a write to translated code faulted, the
 * writing instruction must complete without its page being write-protected again, or it would fault
 * forever (code that patches its own block).
 */
static TCGExitReason tcg_run_uncached(TCGCPU *cpu)
{
    uint64_t pc;
    uint32_t flags;
    tcg_cpu_key(cpu, &pc, &flags);
    TranslationBlock *tb = g_new0(TranslationBlock, 1);
    tb->pc = pc;
    tb->flags = flags;
    tb->max_insns = 1;
    tb->alone = true;
    tb->backend = cpu->backend;
    int err = tcg_translate_once(cpu, tb);
    if (err < 0) {
        g_free(tb);
        fprintf(cpu->log ? cpu->log : stderr, "ember: cannot translate the instruction at 0x%" PRIx64 ": %s\n", pc,
                strerror(-err));
        return TCG_EXIT_EXCEPTION;
    }
    /* If it faults, the exception path leaves this block behind: a small leak on a rare path. */
    TCGExit e = tcg_exec_block(cpu, tb);
    if (cpu->backend->free_code) {
        cpu->backend->free_code(tb);
    }
    g_free(tb);
    return e.reason;
}

/* The loop proper; tcg_cpu_exec wraps it with the landing point of tcg_cpu_loop_exit. */
static TCGExitReason tcg_cpu_run(TCGCPU *cpu)
{
    TranslationBlock *last = NULL;
    int last_slot = -1;
    for (;;) {
        if (cpu->exit_request) {
            cpu->exit_request = 0;
            cpu->exit_reason = TCG_EXIT_INTERRUPT;
            return TCG_EXIT_INTERRUPT;
        }
        if (cpu->next_block_uncached || cpu->singlestep) {
            cpu->next_block_uncached = false;
            TCGExitReason why = tcg_run_uncached(cpu);
            if (why == TCG_EXIT_NONE && cpu->singlestep) {
                why = TCG_EXIT_INTERRUPT;   /* one instruction done: back to the debugger */
            }
            if (why != TCG_EXIT_NONE) {
                cpu->exit_reason = why;
                return why;
            }
            last = NULL;
            continue;
        }
        uint64_t pc;
        uint32_t flags;
        tcg_cpu_key(cpu, &pc, &flags);
        TranslationBlock *tb = tcg_find_tb(cpu, pc, flags);
        if (!tb) {
            int err = 0;
            tb = tcg_translate(cpu, pc, flags, tcg_first_tier(cpu), &err);
            if (!tb) {
                /* The target raises guest-visible faults itself; this is an emulator limitation. */
                fprintf(cpu->log ? cpu->log : stderr, "ember: cannot translate the block at 0x%" PRIx64 ": %s\n", pc,
                        strerror(-err));
                cpu->exit_reason = TCG_EXIT_EXCEPTION;
                return TCG_EXIT_EXCEPTION;
            }
            tcg_jmp_cache_set(cpu, tb);
        }
        /* Per-block logging needs every block to pass through here, so it turns chaining off. */
        bool logging = cpu->log && (cpu->log_mask & (TCG_LOG_EXEC | TCG_LOG_CPU));
        if (last && last_slot >= 0 && !logging) {
            tb_chain(last, last_slot, tb);
            if (tcg_chain_observer) {
                tcg_chain_observer(last, last_slot, tb);
            }
        }
        if (logging) {
            if (cpu->log_mask & TCG_LOG_CPU && cpu->target->dump_state) {
                cpu->target->dump_state(cpu, cpu->log);
            }
            if (cpu->log_mask & TCG_LOG_EXEC) {
                fprintf(cpu->log, "Trace 0x%" PRIx64 " [%08x]\n", tb->pc, tb->flags);
            }
        }
        TCGExit e = tcg_exec_block(cpu, tb);
        if (e.reason == TCG_EXIT_NONE && e.slot == TCG_SLOT_HOT && e.last) {
            tcg_translate_hot(cpu, e.last);
            last = NULL;
            continue;
        }
        if (e.reason != TCG_EXIT_NONE) {
            cpu->exit_reason = e.reason;
            return e.reason;
        }
        last = e.last;
        last_slot = e.slot;
    }
}

static TCGExitReason tcg_cpu_exec_landing(TCGCPU *cpu)
{
    /* Saving the signal mask matters: the exception path may start in a signal handler. */
    if (sigsetjmp(cpu->jmp_env, 1) != 0) {
        if (cpu->target->fold_host_state) {
            cpu->target->fold_host_state(cpu, NULL);   /* left from a helper: the host still has it */
        }
        if (cpu->backend->left) {
            cpu->backend->left(cpu);
        }
        /* A jump with no reason means "restart at the pc in the state" (e.g. after SMC). */
        if (cpu->exit_reason != TCG_EXIT_NONE) {
            return (TCGExitReason)cpu->exit_reason;
        }
    }
    return tcg_cpu_run(cpu);
}

TCGExitReason tcg_cpu_exec(TCGCPU *cpu)
{
    tcg_current_cpu = cpu;
    /* Blocks dropped from now on are not freed before this returns (tb.c); a nested run keeps the outer
       epoch. Published before any block is looked up. */
    bool outermost = __atomic_load_n(&cpu->tb_epoch, __ATOMIC_RELAXED) == 0;
    if (outermost) {
        __atomic_store_n(&cpu->tb_epoch, tb_epoch_now(), __ATOMIC_SEQ_CST);
    }
    TCGExitReason why = tcg_cpu_exec_landing(cpu);
    if (outermost) {
        __atomic_store_n(&cpu->tb_epoch, 0, __ATOMIC_RELEASE);
    }
    return why;
}

void tcg_cpu_loop_exit(TCGCPU *cpu, TCGExitReason reason)
{
    cpu->exit_reason = reason;
    siglongjmp(cpu->jmp_env, 1);
}

void tcg_cpu_restore_from_signal(TCGCPU *cpu, const void *ucontext)
{
    if (cpu->target && cpu->target->fold_host_state) {
        cpu->target->fold_host_state(cpu, ucontext);   /* the handler runs with a fresh host FPU state */
    }
    if (!cpu->backend || !cpu->backend->restore_state) {
        return;
    }
    static const int by_encoding[16] = {
        REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
        REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
    };
    const ucontext_t *uc = ucontext;
    uint64_t regs[16];
    for (int i = 0; i < 16; i++) {
        regs[i] = (uint64_t)uc->uc_mcontext.gregs[by_encoding[i]];
    }
    cpu->backend->restore_state(cpu, (uintptr_t)uc->uc_mcontext.gregs[REG_RIP], regs);
}

void tcg_fork_lock(bool lock)
{
    /* The order of every other path: the code buffer's lock is held while a flush takes the cache's. */
    if (lock) {
        jit_buf_fork_lock(true);
        tb_fork_lock(true);
        tcg_cpus_fork_lock(true);
    } else {
        tcg_cpus_fork_lock(false);
        tb_fork_lock(false);
        jit_buf_fork_lock(false);
    }
}

void tcg_fork_child(void)
{
    tcg_fork_lock(false);
    tb_persist_fork_child();
    jit_fork_child();
    tcg_cpus_fork_child(tcg_current_cpu);
}
