/*
 * The command line of ember-system-x86_64: the options of qemu-system-x86_64 that the PC machine models,
 * spelled and validated as QEMU does where they overlap (issue 6). Parsing is pure: it fills PcOptions or
 * returns one line of error text; main() prints it and exits 1.
 */
#ifndef EMBER_PC_OPTIONS_H
#define EMBER_PC_OPTIONS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define PC_PROGRAM_NAME "ember-system-x86_64"
#define PC_VERSION "0.1.0"

#define PC_RAM_MIN (32ull << 20)
#define PC_RAM_MAX (1ull << 40)
#define PC_SMP_MAX 64
#define PC_SERIAL_MAX 2

typedef enum PcCharKind {
    PC_CHAR_NONE,            /* -serial none / null: the port exists, its output is dropped */
    PC_CHAR_STDIO,
    PC_CHAR_FILE,
    PC_CHAR_UNIX_SERVER,
} PcCharKind;

typedef struct PcCharSpec {
    PcCharKind kind;
    char *path;              /* file or socket path */
    bool wait;               /* unix server: wait for a client before the guest starts (QEMU's default) */
} PcCharSpec;

typedef struct PcDriveSpec {
    char *id;                /* "virtio0"... when not given */
    char *file;
    bool readonly;
    bool has_device;         /* if=virtio, or if=none with a -device virtio-blk-pci,drive=ID */
} PcDriveSpec;

typedef struct PcNetdevSpec {
    char *id;
    GPtrArray *hostfwd;      /* "tcp::HOSTPORT-:GUESTPORT" (char *), NULL-terminated for the net API */
    bool has_device;         /* a -device virtio-net-pci,netdev=ID uses it */
} PcNetdevSpec;

typedef enum PcAccelChoice {
    PC_ACCEL_TCG,
    PC_ACCEL_KVM,
    PC_ACCEL_KVM_OR_TCG,     /* -accel kvm:tcg: KVM when it can, else TCG */
} PcAccelChoice;

typedef enum PcOptionsAction {
    PC_OPTIONS_RUN,
    PC_OPTIONS_HELP,         /* -h: print pc_options_usage() and exit 0 */
    PC_OPTIONS_VERSION,
    PC_OPTIONS_LOG_HELP,     /* -d help */
} PcOptionsAction;

typedef struct PcOptions {
    PcOptionsAction action;
    PcAccelChoice accel;
    uint64_t ram_size;
    char *ram_arg;           /* -m as written (messages) */
    int smp;
    char *kernel, *initrd, *append;
    GPtrArray *drives;       /* PcDriveSpec * */
    GPtrArray *netdevs;      /* PcNetdevSpec * */
    bool rng;                /* -device virtio-rng-pci */
    bool nographic;
    PcCharSpec serial[PC_SERIAL_MAX];
    int nr_serial;           /* how many -serial were given */
    char *qmp_path;          /* -qmp unix:PATH,server=on */
    bool qmp_wait;
    bool monitor_stdio;      /* -monitor stdio: start with the human monitor on the console */
    bool monitor_none;       /* -monitor none: no Ctrl-A c */
    bool no_reboot;
    bool start_paused;       /* -S */
    int gdb_port;            /* -gdb tcp:[HOST]:PORT / -s (1234); -1: no gdb stub; 0: any free port (printed) */
    char *gdb_host;          /* NULL: every interface, as QEMU's tcp::PORT */
    char *name;
    char *pidfile;
    unsigned log_mask;       /* MACHINE_LOG_* */
    char *logfile;           /* -D */
    GPtrArray *device_refs;  /* internal: "netdev=ID" / "drive=ID" of -device, resolved at the end */
} PcOptions;

/*
 * Parse argv (argv[0] is the program). On error returns false with *error set to one line of text
 * naming the option and its value (without the program name). Host RAM bounds -m.
 */
bool pc_options_parse(PcOptions *o, int argc, char **argv, uint64_t host_ram, char **error);
void pc_options_free(PcOptions *o);
/* The -h text. */
const char *pc_options_usage(void);
/* The -d items and their MACHINE_LOG_* bits: -1 and *error when an item is unknown. */
long pc_log_mask_parse(const char *items, char **error);
const char *pc_log_items_help(void);
/* Total physical memory of the host in bytes. */
uint64_t pc_host_ram_bytes(void);

#endif
