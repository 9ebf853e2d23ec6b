/*
 * ember-x86_64's command line: qemu-x86_64's options where they overlap, each also settable through an
 * EMBER_* environment variable (the command line wins).
 */
#ifndef EMBER_LINUX_OPTIONS_H
#define EMBER_LINUX_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct LinuxOptions {
    const char *sysroot;         /* -L */
    char **set_env;              /* -E, NULL-terminated (GPtrArray data) */
    char **unset_env;            /* -U */
    const char *argv0;           /* -0 */
    size_t stack_size;           /* -s */
    bool strace;                 /* -strace */
    bool perfmap;                /* -perfmap */
    const char *log_items;       /* -d */
    const char *log_file;        /* -D */
    const char *cpu_model;       /* -cpu */
    const char *backend;         /* -backend */
    int gdb_port;                /* -g: 0 off, -1 any free port, else the port */
    const char *tb_cache;        /* -tbcache: a directory, "off", or NULL (the default one) */
    /* What follows the options: the program and its arguments. */
    int guest_argc;
    char **guest_argv;
    /* The options exactly as given, to run an execve'd x86-64 program under ember again. */
    int option_argc;
    char **option_argv;
} LinuxOptions;

/*
 * Parse argv. Returns 0 to run, 1 when it printed help or the version (exit 0), or -1 after printing a
 * one-line error (exit non-zero).
 */
int linux_options_parse(LinuxOptions *o, int argc, char **argv);

/* -d items as TCG_LOG_* bits; -1 (after printing an error) for an unknown item. */
int linux_log_mask_parse(const char *items);

/* The guest's environment: the host's, with -E and -U applied. A new NULL-terminated array. */
char **linux_guest_environ(const LinuxOptions *o, char **host_env);

#endif
