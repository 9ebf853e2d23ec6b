/*
 * The options that describe hardware: -drive, -netdev, -device (whose references are resolved once every
 * option is read, as QEMU allows either order), and the character devices of -serial, -qmp and -monitor.
 */
#include <string.h>

#include "system/pc/options-internal.h"

void opt_drive_free(gpointer p)
{
    PcDriveSpec *d = p;
    g_free(d->id);
    g_free(d->file);
    g_free(d);
}

bool opt_drive(PcOptions *o, const char *opt, const char *arg, char **error)
{
    GArray *kv = opt_kv_split(arg);
    PcDriveSpec *d = g_new0(PcDriveSpec, 1);
    char *iface = NULL;
    bool ok = true;
    for (guint i = 0; ok && i < kv->len; i++) {
        KvPair *p = &g_array_index(kv, KvPair, i);
        if (!p->value) {
            ok = opt_fail(error, opt, arg, "'%s' is not key=value", p->key);
        } else if (strcmp(p->key, "file") == 0) {
            opt_set_string(&d->file, p->value);
        } else if (strcmp(p->key, "format") == 0) {
            if (strcmp(p->value, "raw") != 0) {
                ok = opt_fail(error, opt, arg, "format '%s' is not supported (only raw)", p->value);
            }
        } else if (strcmp(p->key, "if") == 0) {
            opt_set_string(&iface, p->value);
            if (strcmp(iface, "virtio") != 0 && strcmp(iface, "none") != 0) {
                ok = opt_fail(error, opt, arg, "interface '%s' is not supported (use if=virtio)", iface);
            }
        } else if (strcmp(p->key, "readonly") == 0) {
            int b = opt_parse_bool(p->value);
            if (b < 0) {
                ok = opt_fail(error, opt, arg, "readonly must be on or off");
            }
            d->readonly = b == 1;
        } else if (strcmp(p->key, "id") == 0) {
            if (!*p->value) {
                ok = opt_fail(error, opt, arg, "empty id");
            }
            opt_set_string(&d->id, p->value);
        } else if (strcmp(p->key, "media") == 0) {
            if (strcmp(p->value, "disk") != 0) {
                ok = opt_fail(error, opt, arg, "media '%s' is not supported (only disk)", p->value);
            }
        } else if (strcmp(p->key, "cache") == 0 || strcmp(p->key, "aio") == 0 ||
                   strcmp(p->key, "discard") == 0) {
            /* host-side tuning: our block device always uses plain reads and writes */
        } else {
            ok = opt_fail(error, opt, arg, "unknown parameter '%s'", p->key);
        }
    }
    opt_kv_free(kv);
    if (ok && (!d->file || !*d->file)) {
        ok = opt_fail(error, opt, arg, "file= is missing");
    }
    if (ok && !iface) {
        ok = opt_fail(error, opt, arg, "if= is missing (only if=virtio is supported)");
    }
    for (guint i = 0; ok && d->id && i < o->drives->len; i++) {
        if (strcmp(((PcDriveSpec *)o->drives->pdata[i])->id, d->id) == 0) {
            ok = opt_fail(error, opt, arg, "duplicate id '%s'", d->id);
        }
    }
    if (!ok) {
        g_free(iface);
        opt_drive_free(d);
        return false;
    }
    d->has_device = strcmp(iface, "virtio") == 0;
    g_free(iface);
    if (!d->id) {
        d->id = g_strdup_printf("virtio%u", o->drives->len);
    }
    g_ptr_array_add(o->drives, d);
    return true;
}

void opt_netdev_free(gpointer p)
{
    PcNetdevSpec *n = p;
    g_free(n->id);
    g_ptr_array_free(n->hostfwd, TRUE);
    g_free(n);
}

/* tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, ports 1..65535; kept as written for the net device. */
static bool hostfwd_valid(const char *s)
{
    if (!g_str_has_prefix(s, "tcp:")) {
        return false;
    }
    const char *dash = strchr(s + 4, '-');
    if (!dash) {
        return false;
    }
    char *host = g_strndup(s + 4, (gsize)(dash - (s + 4)));
    const char *hcolon = strrchr(host, ':'), *gcolon = strrchr(dash + 1, ':');
    long hp, gp;
    bool ok = hcolon && gcolon && opt_parse_int(hcolon + 1, 1, 65535, &hp) && opt_parse_int(gcolon + 1, 1, 65535, &gp);
    g_free(host);
    return ok;
}

bool opt_netdev(PcOptions *o, const char *opt, const char *arg, char **error)
{
    GArray *kv = opt_kv_split(arg);
    PcNetdevSpec *n = g_new0(PcNetdevSpec, 1);
    n->hostfwd = g_ptr_array_new_with_free_func(g_free);
    bool ok = true;
    KvPair *type = &g_array_index(kv, KvPair, 0);
    const char *type_name = type->value && strcmp(type->key, "type") == 0 ? type->value
                            : type->value                                ? NULL
                                                                         : type->key;
    if (!type_name || strcmp(type_name, "user") != 0) {
        ok = opt_fail(error, opt, arg, "only user networking is supported (-netdev user,id=ID)");
    }
    for (guint i = 1; ok && i < kv->len; i++) {
        KvPair *p = &g_array_index(kv, KvPair, i);
        if (!p->value) {
            ok = opt_fail(error, opt, arg, "'%s' is not key=value", p->key);
        } else if (strcmp(p->key, "id") == 0) {
            opt_set_string(&n->id, p->value);
        } else if (strcmp(p->key, "hostfwd") == 0) {
            if (!hostfwd_valid(p->value)) {
                ok = opt_fail(error, opt, arg, "bad hostfwd '%s' (use tcp::HOSTPORT-:GUESTPORT)", p->value);
            } else {
                g_ptr_array_add(n->hostfwd, g_strdup(p->value));
            }
        } else {
            ok = opt_fail(error, opt, arg, "unknown parameter '%s'", p->key);
        }
    }
    opt_kv_free(kv);
    if (ok && (!n->id || !*n->id)) {
        ok = opt_fail(error, opt, arg, "id= is missing");
    }
    for (guint i = 0; ok && i < o->netdevs->len; i++) {
        if (strcmp(((PcNetdevSpec *)o->netdevs->pdata[i])->id, n->id) == 0) {
            ok = opt_fail(error, opt, arg, "duplicate id '%s'", n->id);
        }
    }
    if (!ok) {
        opt_netdev_free(n);
        return false;
    }
    g_ptr_array_add(n->hostfwd, NULL);
    g_ptr_array_add(o->netdevs, n);
    return true;
}

/* -device DRIVER,key=value: the drivers the machine has. They refer to -netdev/-drive ids given earlier
   (QEMU allows either order; so do we: references are resolved in pc_options_parse's final pass). */
bool opt_device(PcOptions *o, const char *opt, const char *arg, char **error)
{
    GArray *kv = opt_kv_split(arg);
    const char *driver = g_array_index(kv, KvPair, 0).key;
    const char *ref_key = NULL, *ref = NULL;
    bool ok = true;
    if (g_array_index(kv, KvPair, 0).value) {
        ok = opt_fail(error, opt, arg, "the device's name comes first");
    } else if (strcmp(driver, "virtio-net-pci") == 0) {
        ref_key = "netdev";
    } else if (strcmp(driver, "virtio-blk-pci") == 0) {
        ref_key = "drive";
    } else if (strcmp(driver, "virtio-rng-pci") == 0) {
        o->rng = true;
    } else {
        ok = opt_fail(error, opt, arg, "unsupported device (virtio-net-pci, virtio-blk-pci, virtio-rng-pci)");
    }
    for (guint i = 1; ok && i < kv->len; i++) {
        KvPair *p = &g_array_index(kv, KvPair, i);
        if (ref_key && p->value && strcmp(p->key, ref_key) == 0) {
            ref = p->value;
        } else if (p->value && strcmp(p->key, "id") == 0) {
            /* a device id: accepted for compatibility */
        } else if (p->value && strcmp(p->key, "mac") == 0 && ref_key && strcmp(ref_key, "netdev") == 0) {
            /* the MAC is the net device's fixed default */
        } else {
            ok = opt_fail(error, opt, arg, "unknown parameter '%s'", p->key);
        }
    }
    if (ok && ref_key && !ref) {
        ok = opt_fail(error, opt, arg, "%s= is missing", ref_key);
    }
    if (ok && ref) {
        /* Resolved once every option is read, as QEMU lets -device come before -netdev/-drive. */
        g_ptr_array_add(o->device_refs, g_strdup_printf("%s=%s\n%s", ref_key, ref, arg));
    }
    opt_kv_free(kv);
    return ok;
}

static bool parse_chardev(PcCharSpec *c, const char *opt, const char *arg, char **error)
{
    memset(c, 0, sizeof(*c));
    if (strcmp(arg, "stdio") == 0 || strcmp(arg, "mon:stdio") == 0) {
        c->kind = PC_CHAR_STDIO;
        return true;
    }
    if (strcmp(arg, "none") == 0 || strcmp(arg, "null") == 0) {
        c->kind = PC_CHAR_NONE;
        return true;
    }
    if (g_str_has_prefix(arg, "file:")) {
        if (!arg[5]) {
            return opt_fail(error, opt, arg, "the file name is missing");
        }
        c->kind = PC_CHAR_FILE;
        c->path = g_strdup(arg + 5);
        return true;
    }
    if (!g_str_has_prefix(arg, "unix:")) {
        return opt_fail(error, opt, arg, "unsupported character device (use stdio, file:PATH or unix:PATH,server=on)");
    }
    GArray *kv = opt_kv_split(arg + 5);
    bool ok = true, server = false;
    c->wait = true;   /* QEMU waits for the first client of a server socket unless wait=off */
    for (guint i = 1; ok && i < kv->len; i++) {
        KvPair *p = &g_array_index(kv, KvPair, i);
        int b = opt_parse_bool(p->value);
        if (strcmp(p->key, "nowait") == 0 && !p->value) {
            c->wait = false;
        } else if (strcmp(p->key, "server") == 0 && b >= 0) {
            server = b;
        } else if (strcmp(p->key, "wait") == 0 && b >= 0) {
            c->wait = b;
        } else {
            ok = opt_fail(error, opt, arg, "unknown or bad parameter '%s'", p->key);
        }
    }
    const char *path = g_array_index(kv, KvPair, 0).key;
    if (ok && (!*path || g_array_index(kv, KvPair, 0).value)) {
        ok = opt_fail(error, opt, arg, "the socket path is missing");
    }
    if (ok && !server) {
        ok = opt_fail(error, opt, arg, "only server=on sockets are supported");
    }
    if (ok) {
        c->kind = PC_CHAR_UNIX_SERVER;
        c->path = g_strdup(path);
    }
    opt_kv_free(kv);
    return ok;
}

bool opt_serial(PcOptions *o, const char *opt, const char *arg, char **error)
{
    if (o->nr_serial == PC_SERIAL_MAX) {
        return opt_fail(error, opt, arg, "only %d serial ports (COM1, COM2)", PC_SERIAL_MAX);
    }
    if (!parse_chardev(&o->serial[o->nr_serial], opt, arg, error)) {
        return false;
    }
    for (int i = 0; i < o->nr_serial; i++) {
        if (o->serial[i].kind == PC_CHAR_STDIO && o->serial[o->nr_serial].kind == PC_CHAR_STDIO) {
            g_free(o->serial[o->nr_serial].path);
            return opt_fail(error, opt, arg, "stdio is already used by another serial port");
        }
    }
    o->nr_serial++;
    return true;
}

bool opt_qmp(PcOptions *o, const char *opt, const char *arg, char **error)
{
    PcCharSpec c;
    if (!parse_chardev(&c, opt, arg, error)) {
        return false;
    }
    if (c.kind != PC_CHAR_UNIX_SERVER) {
        g_free(c.path);
        return opt_fail(error, opt, arg, "QMP needs a unix socket (unix:PATH,server=on,wait=off)");
    }
    g_free(o->qmp_path);
    o->qmp_path = c.path;
    o->qmp_wait = c.wait;
    return true;
}

bool opt_monitor(PcOptions *o, const char *opt, const char *arg, char **error)
{
    o->monitor_stdio = strcmp(arg, "stdio") == 0;
    o->monitor_none = strcmp(arg, "none") == 0;
    if (!o->monitor_stdio && !o->monitor_none) {
        return opt_fail(error, opt, arg, "unsupported monitor (use stdio or none)");
    }
    return true;
}

bool opt_resolve_devices(PcOptions *o, char **error)
{
    for (guint i = 0; i < o->device_refs->len; i++) {
        /* "netdev=ID\nARG": the reference, then the whole -device argument for messages */
        char **parts = g_strsplit(o->device_refs->pdata[i], "\n", 2);
        bool is_net = g_str_has_prefix(parts[0], "netdev=");
        char id[256];
        g_strlcpy(id, strchr(parts[0], '=') + 1, sizeof(id));
        char ref[512];
        g_strlcpy(ref, parts[1], sizeof(ref));
        g_strfreev(parts);
        bool found = false;
        GPtrArray *list = is_net ? o->netdevs : o->drives;
        for (guint j = 0; j < list->len && !found; j++) {
            bool *has = is_net ? &((PcNetdevSpec *)list->pdata[j])->has_device
                               : &((PcDriveSpec *)list->pdata[j])->has_device;
            const char *other = is_net ? ((PcNetdevSpec *)list->pdata[j])->id : ((PcDriveSpec *)list->pdata[j])->id;
            if (strcmp(other, id) == 0) {
                if (*has) {
                    return opt_fail(error, "device", ref, "'%s' is already used by a device", id);
                }
                *has = found = true;
            }
        }
        if (!found) {
            return opt_fail(error, "device", ref, "there is no %s with id '%s'", is_net ? "-netdev" : "-drive", id);
        }
    }
    for (guint j = 0; j < o->drives->len; j++) {
        PcDriveSpec *d = o->drives->pdata[j];
        if (!d->has_device) {
            return opt_fail(error, "drive", d->id, "if=none needs a -device virtio-blk-pci,drive=%s", d->id);
        }
    }
    return true;
}
