/* QEMU's option-value syntax and the value parsers the option handlers share (see options-internal.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "system/pc/options-internal.h"

/* Split on single commas; ",," is a literal comma (QEMU's escaping). */
GArray *opt_kv_split(const char *s)
{
    GArray *list = g_array_new(FALSE, TRUE, sizeof(KvPair));
    GString *cur = g_string_new(NULL);
    for (const char *p = s;; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
            continue;
        }
        if (*p == ',' || *p == '\0') {
            KvPair kv = { 0 };
            char *eq = strchr(cur->str, '=');
            if (eq) {
                kv.key = g_strndup(cur->str, (gsize)(eq - cur->str));
                kv.value = g_strdup(eq + 1);
            } else {
                kv.key = g_strdup(cur->str);
            }
            g_array_append_val(list, kv);
            g_string_truncate(cur, 0);
            if (*p == '\0') {
                break;
            }
            continue;
        }
        g_string_append_c(cur, *p);
    }
    g_string_free(cur, TRUE);
    return list;
}

void opt_kv_free(GArray *list)
{
    for (guint i = 0; i < list->len; i++) {
        KvPair *kv = &g_array_index(list, KvPair, i);
        g_free(kv->key);
        g_free(kv->value);
    }
    g_array_free(list, TRUE);
}

bool opt_fail(char **error, const char *opt, const char *arg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    *error = arg ? g_strdup_printf("-%s %s: %s", opt, arg, why) : g_strdup_printf("-%s: %s", opt, why);
    g_free(why);
    return false;
}

/* on/off and the spellings QEMU also takes; a bare key ("server") means on. */
int opt_parse_bool(const char *v)
{
    static const char *const yes[] = { "on", "yes", "true", "y" }, *const no[] = { "off", "no", "false", "n" };
    if (!v) {
        return 1;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (strcmp(v, yes[i]) == 0) {
            return 1;
        }
        if (strcmp(v, no[i]) == 0) {
            return 0;
        }
    }
    return -1;
}

bool opt_parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

/* A size: "512" is MiB (QEMU's default unit for -m); K, M, G, T suffixes (optionally followed by B). */
bool opt_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!g_ascii_isdigit(*s)) {
        return false;
    }
    double v = g_ascii_strtod(s, &end);
    if (errno || end == s) {
        return false;
    }
    double unit = 1 << 20;
    switch (g_ascii_toupper(*end)) {
    case 'K': unit = 1ull << 10; end++; break;
    case 'M': unit = 1ull << 20; end++; break;
    case 'G': unit = 1ull << 30; end++; break;
    case 'T': unit = 1ull << 40; end++; break;
    case 'B': unit = 1; end++; break;
    default: break;
    }
    if (unit > 1 && g_ascii_toupper(*end) == 'B') {
        end++;
    }
    double bytes = v * unit;
    if (*end || bytes != floor(bytes) || bytes >= 18446744073709551616.0) {
        return false;
    }
    *out = (uint64_t)bytes;
    return true;
}

void opt_set_string(char **slot, const char *arg)
{
    g_free(*slot);
    *slot = g_strdup(arg);
}
