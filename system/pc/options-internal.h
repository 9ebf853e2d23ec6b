/*
 * What the option parser's files share (options.c: the table and the simple options; options-kv.c:
 * QEMU's "key=value,..." syntax and value parsers; options-devices.c: drives, networks, devices and
 * character devices). Handlers return false with *error set to one line naming the option and value.
 */
#ifndef EMBER_PC_OPTIONS_INTERNAL_H
#define EMBER_PC_OPTIONS_INTERNAL_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "system/pc/options.h"

typedef struct KvPair {
    char *key;
    char *value;             /* NULL for a bare word ("server", "nowait", or the implied first element) */
} KvPair;

/* Split on single commas; ",," is a literal comma (QEMU's escaping). An array of KvPair. */
GArray *opt_kv_split(const char *s);
void opt_kv_free(GArray *list);
/* Set *error to "-OPT ARG: why" (or "-OPT: why") and return false. */
bool opt_fail(char **error, const char *opt, const char *arg, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
/* on/off (and yes/no, true/false); NULL (a bare key) is on; -1 for anything else. */
int opt_parse_bool(const char *v);
bool opt_parse_int(const char *s, long lo, long hi, long *out);
/* A size: plain numbers are MiB (QEMU's unit for -m); K, M, G, T suffixes, optionally followed by B. */
bool opt_parse_size(const char *s, uint64_t *out);
void opt_set_string(char **slot, const char *arg);

/* options-devices.c */
bool opt_drive(PcOptions *o, const char *opt, const char *arg, char **error);
bool opt_netdev(PcOptions *o, const char *opt, const char *arg, char **error);
bool opt_device(PcOptions *o, const char *opt, const char *arg, char **error);
bool opt_serial(PcOptions *o, const char *opt, const char *arg, char **error);
bool opt_qmp(PcOptions *o, const char *opt, const char *arg, char **error);
bool opt_monitor(PcOptions *o, const char *opt, const char *arg, char **error);
void opt_drive_free(gpointer drive);
void opt_netdev_free(gpointer netdev);
/* After every option: -device references resolved, every drive and network has its device. */
bool opt_resolve_devices(PcOptions *o, char **error);

#endif
