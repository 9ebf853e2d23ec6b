/*
 * The backend contract: the few functions a backend provides. A backend is chosen at run time
 * (-backend interp|jit); the translation-block cache and the execution loop only call these.
 */
#ifndef EMBER_TCG_BACKEND_H
#define EMBER_TCG_BACKEND_H

#include "core/tcg/tcg.h"

struct TranslationBlock;
struct TCGCPU;

/* How a run of blocks ended. */
typedef struct TCGExit {
    struct TranslationBlock *last;   /* the block that exited */
    int slot;                        /* >= 0: it left through goto_tb slot `slot`, which is not chained yet;
                                        TCG_SLOT_HOT: a cold block asks to be translated again */
    TCGExitReason reason;
} TCGExit;

/* TCGExit.slot of a block translated without the optimizer (TranslationBlock.cold) that has run
   tcg_hot_runs times (TCG_HOT_RUNS by default): the loop translates it again, optimized, in its place. */
#define TCG_SLOT_HOT (-2)
#define TCG_HOT_RUNS 2048

typedef struct TCGBackend {
    const char *name;
    /* Whether it compiles cold blocks with the run count that leaves through TCG_SLOT_HOT. */
    bool counts_runs;
    /* Turn the optimized IR of s into tb's executable form (tb->code). 0, or a negative errno. */
    int (*compile)(TCGContext *s, struct TranslationBlock *tb);
    /* Run tb and the blocks chained to it until one exits to the loop. While cpu->log_mask has
       TCG_LOG_EXEC or TCG_LOG_CPU, goto_ptr returns to the loop (so that every block is logged). */
    TCGExit (*exec)(struct TCGCPU *cpu, struct TranslationBlock *tb);
    /* Make goto_tb slot `slot` of `from` continue straight into `to`; undo that. */
    void (*chain)(struct TranslationBlock *from, int slot, struct TranslationBlock *to);
    void (*unchain)(struct TranslationBlock *from, int slot);
    /* Release tb->code. Called only when no thread can be running it. */
    void (*free_code)(struct TranslationBlock *tb);
    /* Optional: the exception path (tcg_cpu_loop_exit) has just left this thread's generated code. */
    void (*left)(struct TCGCPU *cpu);
    /* Optional: a host fault at host_pc in this backend's code: bring the CPU state up to date from the host
       registers at the fault (by encoding number). False if host_pc is not a guest access of its code (the
       state is then already exact). */
    bool (*restore_state)(struct TCGCPU *cpu, uintptr_t host_pc, const uint64_t regs[16]);
    /* Optional, for translations kept across runs (tb-persist.h): append tb's code, which this thread has
       just compiled, to out as an image that thaw can place anywhere (false: it cannot move); and place
       such an image as tb's code (tb's other fields set). 0, or a negative errno. */
    bool (*freeze)(const struct TranslationBlock *tb, GByteArray *out);
    int (*thaw)(struct TranslationBlock *tb, const void *image, size_t bytes);
} TCGBackend;

extern const TCGBackend tcg_backend_interp;

/* Find a backend by name ("interp", "jit"); NULL if there is none by that name. */
const TCGBackend *tcg_backend_find(const char *name);

#endif
