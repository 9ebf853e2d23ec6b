/*
 * ember-x86_64: run an x86-64 Linux program through Ember's translator.
 *
 *   options -> load the ELF (and its interpreter) -> build the initial stack -> run the CPU loop
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/target-x86/cpuid.h"
#include "core/target-x86/translate.h"
#include "core/tcg/jit.h"
#include "user/linux/afl/afl.h"
#include "user/linux/elf-load.h"
#include "user/linux/exec.h"
#include "user/linux/guest-mem.h"
#include "user/linux/options.h"
#include "user/linux/stack.h"
#include "user/linux/syscall.h"
#include "user/linux/tb-cache.h"
#include "user/linux/thread.h"

extern char **environ;

static FILE *open_log(const char *path)
{
    if (!path) {
        return stderr;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "ember-x86_64: cannot open log file %s: %s\n", path, strerror(errno));
    }
    return f;
}

/* A #! script runs its interpreter with the script's path, as the kernel would arrange. */
static void run_shebang_interpreter(LinuxOptions *o, gchar **program)
{
    char head[LINUX_SHEBANG_MAX];
    int fd = open(*program, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;   /* the loader reports the problem */
    }
    ssize_t n = read(fd, head, sizeof(head) - 1);
    close(fd);
    char *interp, *arg;
    if (n <= 0 || !linux_shebang_parse(head, n, &interp, &arg)) {
        return;
    }
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, g_strdup(interp));
    if (arg) {
        g_ptr_array_add(argv, g_strdup(arg));
    }
    g_ptr_array_add(argv, *program);
    for (int i = 1; i < o->guest_argc; i++) {
        g_ptr_array_add(argv, o->guest_argv[i]);
    }
    o->guest_argc = (int)argv->len;
    g_ptr_array_add(argv, NULL);
    o->guest_argv = (char **)g_ptr_array_free(argv, FALSE);
    *program = g_strdup(interp);
}

int main(int argc, char **argv)
{
    LinuxOptions opts;
    int r = linux_options_parse(&opts, argc, argv);
    if (r != 0) {
        return r > 0 ? 0 : 1;
    }

    static char ember_path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", ember_path, sizeof(ember_path) - 1);
    if (n <= 0) {
        fprintf(stderr, "ember-x86_64: cannot find its own binary: %s\n", strerror(errno));
        return 1;
    }
    ember_path[n] = '\0';

    const X86CPUModel *model = x86_cpu_model_find(opts.cpu_model ? opts.cpu_model : "max");
    if (!model) {
        fprintf(stderr, "ember-x86_64: unknown CPU model '%s'\n", opts.cpu_model);
        return 1;
    }
    const TCGBackend *backend = tcg_backend_find(opts.backend);
    if (!backend) {
        fprintf(stderr, "ember-x86_64: backend '%s' is not available\n", opts.backend);
        return 1;
    }
    FILE *log = open_log(opts.log_file);
    if (!log) {
        return 1;
    }

    static LinuxElfImage image;
    char err[512];
    /* A bare name is looked up in PATH, as a shell would (the guest's argv[0] stays as given). */
    gchar *program = strchr(opts.guest_argv[0], '/') ? g_strdup(opts.guest_argv[0])
                                                     : g_find_program_in_path(opts.guest_argv[0]);
    if (!program) {
        fprintf(stderr, "ember-x86_64: %s: not found in PATH\n", opts.guest_argv[0]);
        return 1;
    }
    run_shebang_interpreter(&opts, &program);
    if (linux_elf_load(program, opts.sysroot, &image, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);   /* the loader's message names ember-x86_64 and the file */
        return 1;
    }

    linux_process.options = &opts;
    linux_process.ember_path = ember_path;
    linux_process.exe_path = image.exe_path;
    linux_process.backend = backend;
    linux_process.log_mask = opts.log_items ? (unsigned)linux_log_mask_parse(opts.log_items) : 0;
    linux_process.log = log;

    tb_cache_init(backend);
    tb_enable_reclaim();   /* no soft-MMU jump caches here: dropped blocks can be freed (tb.c) */
    if (linux_afl_init(&image) < 0) {   /* AFL++ qemu mode, when run by afl-fuzz (user/linux/afl/) */
        return 1;
    }
    /* Not under a debugger or afl-fuzz: their code changes with breakpoints and instrumentation. Blocks
       that are kept are translated optimized at once (one tier, core/tcg/cpu-exec.c): the translation is
       paid for once, the code runs on every run. Measured on python3: the first run's start-up 0.18 ->
       0.23 s, every later run's 0.056 -> 0.051 s and its 1M-iteration loop 3% faster. */
    if (!opts.gdb_port && !afl.map && !afl.forkserver && linux_tb_cache_open(&opts, &image, ember_path, backend)) {
        tcg_hot_runs = 0;
    }
    tb_set_page_hooks(guest_mem_page_hooks());
    linux_syscalls_init();
    if (opts.perfmap && !jit_perfmap_open()) {
        fprintf(stderr, "ember-x86_64: cannot create /tmp/perf-%d.map: %s\n", (int)getpid(), strerror(errno));
        return 1;
    }
    if (opts.strace) {
        linux_strace_enable(log == stderr ? 2 : fileno(log));
    }
    linux_signals_init();

    LinuxThread *t = linux_thread_new_main();
    t->env.model = model;
    /* The guest inherits our signal mask, as a program inherits its parent's across execve. */
    sigset_t host_mask;
    pthread_sigmask(SIG_SETMASK, NULL, &host_mask);
    for (int sig = 1; sig < LINUX_NSIG; sig++) {
        if (sigismember(&host_mask, sig) == 1) {
            t->sigmask |= 1ULL << (sig - 1);
        }
    }

    char **guest_argv = opts.guest_argv;
    if (opts.argv0) {
        guest_argv = g_memdup2(opts.guest_argv, sizeof(char *) * (size_t)(opts.guest_argc + 1));
        guest_argv[0] = (char *)opts.argv0;
    }
    char **guest_env = linux_guest_environ(&opts, environ);
    uint32_t leaf1[4];
    x86_cpuid(model, 1, 0, leaf1);   /* AT_HWCAP is CPUID.1:EDX on x86 */
    uint64_t sp;
    if (linux_stack_setup(&image, guest_argv, guest_env, opts.stack_size, leaf1[3], &sp, err,
                          sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    t->env.regs[R_ESP] = sp;
    t->env.tcg.pc = image.entry;
    /* What the kernel leaves in RDX at entry: a function for atexit, none here. */
    t->env.regs[R_EDX] = 0;
    linux_cpu_loop(t);
    g_assert_not_reached();   /* the first thread's exit call ends its host thread in the call itself */
}
