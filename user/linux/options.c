/* ember-x86_64's option table and parser. */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tcg/cpu-exec.h"
#include "user/linux/options.h"

#define EMBER_VERSION "0.1.0"

typedef int (*OptionFn)(LinuxOptions *o, const char *arg);

typedef struct OptionDef {
    const char *name;            /* without the leading dash */
    const char *env;             /* EMBER_* variable, or NULL */
    const char *arg_name;        /* NULL for a flag */
    OptionFn handle;
    const char *help;
} OptionDef;

static GPtrArray *option_set_env, *option_unset_env;

static int opt_help(LinuxOptions *o, const char *arg);
static int opt_version(LinuxOptions *o, const char *arg) { (void)o; (void)arg; return 1; }
static int opt_sysroot(LinuxOptions *o, const char *arg) { o->sysroot = arg; return 0; }
static int opt_argv0(LinuxOptions *o, const char *arg) { o->argv0 = arg; return 0; }
static int opt_strace(LinuxOptions *o, const char *arg) { (void)arg; o->strace = true; return 0; }
static int opt_perfmap(LinuxOptions *o, const char *arg) { (void)arg; o->perfmap = true; return 0; }
static int opt_log_file(LinuxOptions *o, const char *arg) { o->log_file = arg; return 0; }
static int opt_cpu(LinuxOptions *o, const char *arg) { o->cpu_model = arg; return 0; }
static int opt_tb_cache(LinuxOptions *o, const char *arg) { o->tb_cache = arg; return 0; }

static int opt_set_env(LinuxOptions *o, const char *arg)
{
    (void)o;
    if (!strchr(arg, '=')) {
        fprintf(stderr, "ember-x86_64: -E needs VAR=VALUE, not '%s'\n", arg);
        return -1;
    }
    g_ptr_array_add(option_set_env, (gpointer)arg);
    return 0;
}

static int opt_unset_env(LinuxOptions *o, const char *arg)
{
    (void)o;
    g_ptr_array_add(option_unset_env, (gpointer)arg);
    return 0;
}

static int opt_stack_size(LinuxOptions *o, const char *arg)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 0);
    unsigned long long scale = 1;
    switch (*end) {
    case 'k': case 'K': scale = 1ULL << 10; end++; break;
    case 'm': case 'M': scale = 1ULL << 20; end++; break;
    case 'g': case 'G': scale = 1ULL << 30; end++; break;
    default: break;
    }
    if (errno || *end || end == arg || v == 0 || v > (1ULL << 40) / scale) {
        fprintf(stderr, "ember-x86_64: invalid stack size '%s'\n", arg);
        return -1;
    }
    o->stack_size = v * scale;
    return 0;
}

static int opt_log(LinuxOptions *o, const char *arg)
{
    if (linux_log_mask_parse(arg) < 0) {
        return -1;
    }
    o->log_items = arg;
    return 0;
}

static int opt_backend(LinuxOptions *o, const char *arg)
{
    if (strcmp(arg, "interp") != 0 && strcmp(arg, "jit") != 0) {
        fprintf(stderr, "ember-x86_64: unknown backend '%s' (use interp or jit)\n", arg);
        return -1;
    }
    o->backend = arg;
    return 0;
}

static int opt_gdb(LinuxOptions *o, const char *arg)
{
    char *end;
    long port = strtol(arg, &end, 10);
    if (*end || end == arg || port < 0 || port > 65535) {
        fprintf(stderr, "ember-x86_64: invalid gdb port '%s'\n", arg);
        return -1;
    }
    o->gdb_port = port ? (int)port : -1;   /* 0: any free port (printed), kept as -1 since 0 means off */
    return 0;
}

static const OptionDef option_defs[] = {
    {"h", NULL, NULL, opt_help, "print this help"},
    {"help", NULL, NULL, opt_help, "print this help"},
    {"version", NULL, NULL, opt_version, "print the version"},
    {"L", "EMBER_LD_PREFIX", "path", opt_sysroot, "look for the ELF interpreter under this sysroot"},
    {"E", "EMBER_SET_ENV", "var=value", opt_set_env, "set a variable in the guest environment"},
    {"U", "EMBER_UNSET_ENV", "var", opt_unset_env, "remove a variable from the guest environment"},
    {"0", "EMBER_ARGV0", "argv0", opt_argv0, "the guest's argv[0]"},
    {"s", "EMBER_STACK_SIZE", "size", opt_stack_size, "guest stack size (default 8M)"},
    {"strace", "EMBER_STRACE", NULL, opt_strace, "print each system call"},
    {"d", "EMBER_LOG", "item[,...]", opt_log, "log in_asm, op, op_opt, exec, cpu, int, tbcache"},
    {"D", "EMBER_LOG_FILENAME", "file", opt_log_file, "write the log to this file"},
    {"cpu", "EMBER_CPU", "model", opt_cpu, "CPU model: max, x86-64-v1, x86-64-v2, x86-64-v3"},
    {"backend", "EMBER_BACKEND", "name", opt_backend, "translator backend: interp or jit"},
    {"g", "EMBER_GDB", "port", opt_gdb, "wait for gdb on this TCP port (0: any free one, printed)"},
    {"perfmap", "EMBER_PERFMAP", NULL, opt_perfmap, "name generated code for perf in /tmp/perf-PID.map (jit)"},
    {"tbcache", "EMBER_TB_CACHE", "dir|off", opt_tb_cache,
     "keep the program's translations across runs here (default ~/.cache/ember/tb)"},
};

#define N_OPTIONS (sizeof(option_defs) / sizeof(option_defs[0]))

static int opt_help(LinuxOptions *o, const char *arg)
{
    (void)o;
    (void)arg;
    printf("usage: ember-x86_64 [options] program [arguments...]\n"
           "Runs an x86-64 Linux program through Ember's translator.\n\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        char left[40];
        snprintf(left, sizeof(left), "-%s%s%s", option_defs[i].name, option_defs[i].arg_name ? " " : "",
                 option_defs[i].arg_name ? option_defs[i].arg_name : "");
        printf("  %-22s %-20s %s\n", left, option_defs[i].env ? option_defs[i].env : "", option_defs[i].help);
    }
    printf("\nEach option can also be set through the environment variable beside it.\n");
    return 1;
}

static const OptionDef *option_find(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (strcmp(option_defs[i].name, name) == 0) {
            return &option_defs[i];
        }
    }
    return NULL;
}

int linux_log_mask_parse(const char *items)
{
    static const struct { const char *name; int bit; } log_items[] = {
        {"in_asm", TCG_LOG_IN_ASM}, {"op", TCG_LOG_OP}, {"op_opt", TCG_LOG_OP_OPT},
        {"exec", TCG_LOG_EXEC}, {"cpu", TCG_LOG_CPU}, {"int", TCG_LOG_INT}, {"tbcache", TCG_LOG_TB_CACHE},
    };
    int mask = 0;
    gchar **parts = g_strsplit(items, ",", -1);
    for (gchar **p = parts; *p; p++) {
        size_t i;
        for (i = 0; i < sizeof(log_items) / sizeof(log_items[0]); i++) {
            if (strcmp(*p, log_items[i].name) == 0) {
                mask |= log_items[i].bit;
                break;
            }
        }
        if (i == sizeof(log_items) / sizeof(log_items[0])) {
            fprintf(stderr, "ember-x86_64: unknown -d item '%s' (use in_asm, op, op_opt, exec, cpu, int)\n", *p);
            g_strfreev(parts);
            return -1;
        }
    }
    g_strfreev(parts);
    return mask;
}

/* Environment variables first, so that the command line overrides them. */
static int options_from_environment(LinuxOptions *o)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const char *v = option_defs[i].env ? getenv(option_defs[i].env) : NULL;
        if (!v || (!option_defs[i].arg_name && strcmp(v, "0") == 0)) {
            continue;
        }
        if (option_defs[i].handle(o, v) < 0) {
            return -1;
        }
    }
    return 0;
}

int linux_options_parse(LinuxOptions *o, int argc, char **argv)
{
    memset(o, 0, sizeof(*o));
    o->stack_size = 8u << 20;
    o->backend = "jit";   /* the interpreter stays as the reference: -backend interp */
    option_set_env = g_ptr_array_new();
    option_unset_env = g_ptr_array_new();
    if (options_from_environment(o) < 0) {
        return -1;
    }
    int i = 1;
    bool dashdash = false;
    while (i < argc && argv[i][0] == '-') {
        const char *name = argv[i] + 1;
        if (name[0] == '-') {
            if (name[1] == '\0') {      /* "--" ends the options */
                dashdash = true;
                i++;
                break;
            }
            name++;                     /* accept --option as well */
        }
        const OptionDef *def = option_find(name);
        if (!def) {
            fprintf(stderr, "ember-x86_64: unknown option '%s' (try -h)\n", argv[i]);
            return -1;
        }
        const char *arg = NULL;
        if (def->arg_name) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ember-x86_64: option '%s' needs an argument (%s)\n", argv[i], def->arg_name);
                return -1;
            }
            arg = argv[++i];
        }
        int r = def->handle(o, arg);
        if (r != 0) {
            if (r > 0 && def->handle == opt_version) {
                printf("ember-x86_64 version " EMBER_VERSION "\n");
            }
            return r;
        }
        i++;
    }
    o->option_argc = i - 1 - (dashdash ? 1 : 0);   /* the options themselves, without "--" */
    o->option_argv = argv + 1;
    if (i >= argc) {
        fprintf(stderr, "ember-x86_64: no program to run (usage: ember-x86_64 [options] program [args...])\n");
        return -1;
    }
    o->guest_argc = argc - i;
    o->guest_argv = argv + i;
    g_ptr_array_add(option_set_env, NULL);
    g_ptr_array_add(option_unset_env, NULL);
    o->set_env = (char **)option_set_env->pdata;
    o->unset_env = (char **)option_unset_env->pdata;
    return 0;
}

static bool env_name_matches(const char *entry, const char *name, size_t len)
{
    return strncmp(entry, name, len) == 0 && entry[len] == '=';
}

char **linux_guest_environ(const LinuxOptions *o, char **host_env)
{
    GPtrArray *env = g_ptr_array_new();
    for (char **e = host_env; *e; e++) {
        bool drop = false;
        for (char **u = o->unset_env; u && *u && !drop; u++) {
            drop = env_name_matches(*e, *u, strlen(*u));
        }
        for (char **s = o->set_env; s && *s && !drop; s++) {
            drop = env_name_matches(*e, *s, (size_t)(strchr(*s, '=') - *s));
        }
        if (!drop) {
            g_ptr_array_add(env, *e);
        }
    }
    for (char **s = o->set_env; s && *s; s++) {
        g_ptr_array_add(env, *s);
    }
    g_ptr_array_add(env, NULL);
    return (char **)g_ptr_array_free(env, FALSE);
}
