/*
 * The QMP protocol state machine and its commands (see qmp.h). Replies are built with json-glib; each
 * command runs with the machine lock held, as every device entry point does.
 */
#include "system/pc/qmp.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "system/pc/options.h"
#include "system/pc/runstate.h"

/* The QEMU release whose QMP we follow (Debian 12's), so that existing clients accept the greeting. */
#define QMP_QEMU_MAJOR 7
#define QMP_QEMU_MINOR 2
#define QMP_QEMU_MICRO 0

static char *qmp_vm_name;

void qmp_set_vm_name(const char *name)
{
    g_free(qmp_vm_name);
    qmp_vm_name = g_strdup(name);
}

struct QmpSession {
    Machine *m;
    QmpWriteFn write;
    void *opaque;
    QmpSplitter splitter;
    bool negotiated;
};

/* ---- the splitter ---- */

void qmp_splitter_init(QmpSplitter *sp)
{
    memset(sp, 0, sizeof(*sp));
    sp->buf = g_string_new(NULL);
}

void qmp_splitter_destroy(QmpSplitter *sp) { g_string_free(sp->buf, TRUE); }

void qmp_splitter_feed(QmpSplitter *sp, const char *data, size_t len, GPtrArray *out)
{
    for (size_t i = 0; i < len; i++) {
        char ch = data[i];
        if (sp->depth == 0 && !sp->in_string && g_ascii_isspace(ch) && sp->buf->len == 0) {
            continue;   /* whitespace between texts */
        }
        g_string_append_c(sp->buf, ch);
        if (sp->in_string) {
            if (sp->escaped) {
                sp->escaped = false;
            } else if (ch == '\\') {
                sp->escaped = true;
            } else if (ch == '"') {
                sp->in_string = false;
            }
            continue;
        }
        if (ch == '"') {
            sp->in_string = true;
        } else if (ch == '{' || ch == '[') {
            sp->depth++;
        } else if (ch == '}' || ch == ']') {
            sp->depth--;
        }
        /* A text ends when its brackets balance (or, for a bare scalar by mistake, at a newline). */
        if (sp->depth <= 0 && (ch == '}' || ch == ']' || ch == '\n')) {
            g_ptr_array_add(out, g_strdup(sp->buf->str));
            g_string_truncate(sp->buf, 0);
            sp->depth = 0;
        }
    }
}

/* ---- output ---- */

static void qmp_send_node(QmpSession *s, JsonNode *node)
{
    JsonGenerator *gen = json_generator_new();
    json_generator_set_root(gen, node);
    gsize len;
    char *text = json_generator_to_data(gen, &len);
    g_object_unref(gen);
    char *line = g_strconcat(text, "\r\n", NULL);
    s->write(s->opaque, line, len + 2);
    g_free(line);
    g_free(text);
}

static void qmp_send_builder(QmpSession *s, JsonBuilder *b)
{
    JsonNode *root = json_builder_get_root(b);
    qmp_send_node(s, root);
    json_node_unref(root);
    g_object_unref(b);
}

static void qmp_add_id(JsonBuilder *b, JsonNode *id)
{
    if (id) {
        json_builder_set_member_name(b, "id");
        json_builder_add_value(b, json_node_copy(id));
    }
}

static void qmp_send_error(QmpSession *s, JsonNode *id, const char *klass, const char *desc)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "error");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "class");
    json_builder_add_string_value(b, klass);
    json_builder_set_member_name(b, "desc");
    json_builder_add_string_value(b, desc);
    json_builder_end_object(b);
    qmp_add_id(b, id);
    json_builder_end_object(b);
    qmp_send_builder(s, b);
}

/* {"return": VALUE, "id": ...}; value NULL is the empty object. Takes ownership of value. */
static void qmp_send_return(QmpSession *s, JsonNode *id, JsonNode *value)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "return");
    if (value) {
        json_builder_add_value(b, value);
    } else {
        json_builder_begin_object(b);
        json_builder_end_object(b);
    }
    qmp_add_id(b, id);
    json_builder_end_object(b);
    qmp_send_builder(s, b);
}

static void qmp_add_version(JsonBuilder *b)
{
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "qemu");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "major");
    json_builder_add_int_value(b, QMP_QEMU_MAJOR);
    json_builder_set_member_name(b, "minor");
    json_builder_add_int_value(b, QMP_QEMU_MINOR);
    json_builder_set_member_name(b, "micro");
    json_builder_add_int_value(b, QMP_QEMU_MICRO);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "package");
    json_builder_add_string_value(b, "ember " PC_VERSION);
    json_builder_end_object(b);
}

static void qmp_send_greeting(QmpSession *s)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "QMP");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "version");
    qmp_add_version(b);
    json_builder_set_member_name(b, "capabilities");
    json_builder_begin_array(b);
    json_builder_end_array(b);
    json_builder_end_object(b);
    json_builder_end_object(b);
    qmp_send_builder(s, b);
}

static void qmp_event_cb(void *opaque, const char *name, const char *data_json, int64_t when_us)
{
    QmpSession *s = opaque;
    if (!s->negotiated) {
        return;   /* events start after capabilities negotiation */
    }
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "event");
    json_builder_add_string_value(b, name);
    if (data_json) {
        JsonNode *data = json_from_string(data_json, NULL);
        if (data) {
            json_builder_set_member_name(b, "data");
            json_builder_add_value(b, data);
        }
    }
    json_builder_set_member_name(b, "timestamp");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "seconds");
    json_builder_add_int_value(b, when_us / G_USEC_PER_SEC);
    json_builder_set_member_name(b, "microseconds");
    json_builder_add_int_value(b, when_us % G_USEC_PER_SEC);
    json_builder_end_object(b);
    json_builder_end_object(b);
    qmp_send_builder(s, b);
}

/* ---- commands (machine lock held); each returns the "return" value, or NULL with *error_desc ---- */

typedef JsonNode *(*QmpCommandFn)(QmpSession *s, JsonObject *args, char **error_desc);

static JsonNode *qmp_cmd_capabilities(QmpSession *s, JsonObject *args, char **error_desc)
{
    (void)args, (void)error_desc;
    s->negotiated = true;
    return NULL;
}

static JsonNode *qmp_cmd_query_status(QmpSession *s, JsonObject *args, char **error_desc)
{
    (void)args, (void)error_desc;
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "running");
    json_builder_add_boolean_value(b, pc_vm_running(s->m));
    json_builder_set_member_name(b, "singlestep");
    json_builder_add_boolean_value(b, FALSE);
    json_builder_set_member_name(b, "status");
    json_builder_add_string_value(b, pc_vm_status(s->m));
    json_builder_end_object(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static JsonNode *qmp_cmd_query_cpus_fast(QmpSession *s, JsonObject *args, char **error_desc)
{
    (void)args, (void)error_desc;
    JsonBuilder *b = json_builder_new();
    json_builder_begin_array(b);
    for (int i = 0; i < s->m->nr_vcpus; i++) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "cpu-index");
        json_builder_add_int_value(b, i);
        json_builder_set_member_name(b, "qom-path");
        char *path = g_strdup_printf("/machine/unattached/device[%d]", i);
        json_builder_add_string_value(b, path);
        g_free(path);
        json_builder_set_member_name(b, "thread-id");
        json_builder_add_int_value(b, pc_vcpu_thread_id(s->m, i));
        json_builder_set_member_name(b, "props");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "socket-id");
        json_builder_add_int_value(b, i);
        json_builder_set_member_name(b, "core-id");
        json_builder_add_int_value(b, 0);
        json_builder_set_member_name(b, "thread-id");
        json_builder_add_int_value(b, 0);
        json_builder_end_object(b);
        json_builder_set_member_name(b, "target");
        json_builder_add_string_value(b, "x86_64");
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static JsonNode *qmp_cmd_query_block(QmpSession *s, JsonObject *args, char **error_desc)
{
    (void)args, (void)error_desc;
    const PcHooks *h = pc_run_hooks(s->m);
    GPtrArray *disks = h->block_list ? h->block_list(s->m) : NULL;
    JsonBuilder *b = json_builder_new();
    json_builder_begin_array(b);
    for (guint i = 0; disks && i < disks->len; i++) {
        PcBlockInfo *d = disks->pdata[i];
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "device");
        json_builder_add_string_value(b, d->id);
        json_builder_set_member_name(b, "qdev");
        json_builder_add_string_value(b, d->id);
        json_builder_set_member_name(b, "type");
        json_builder_add_string_value(b, "unknown");
        json_builder_set_member_name(b, "removable");
        json_builder_add_boolean_value(b, FALSE);
        json_builder_set_member_name(b, "locked");
        json_builder_add_boolean_value(b, FALSE);
        json_builder_set_member_name(b, "inserted");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "file");
        json_builder_add_string_value(b, d->path);
        json_builder_set_member_name(b, "ro");
        json_builder_add_boolean_value(b, d->readonly);
        json_builder_set_member_name(b, "drv");
        json_builder_add_string_value(b, "raw");
        json_builder_set_member_name(b, "image");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "filename");
        json_builder_add_string_value(b, d->path);
        json_builder_set_member_name(b, "format");
        json_builder_add_string_value(b, "raw");
        json_builder_set_member_name(b, "virtual-size");
        json_builder_add_int_value(b, (gint64)d->size);
        json_builder_end_object(b);
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    if (disks) {
        g_ptr_array_free(disks, TRUE);
    }
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static JsonNode *qmp_cmd_query_version(QmpSession *s, JsonObject *args, char **error_desc)
{
    (void)s, (void)args, (void)error_desc;
    JsonBuilder *b = json_builder_new();
    qmp_add_version(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static JsonNode *qmp_cmd_query_commands(QmpSession *s, JsonObject *args, char **error_desc);

static JsonNode *qmp_cmd_query_name(QmpSession *s, JsonObject *args, char **error_desc)
{
    (void)s, (void)args, (void)error_desc;
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    if (qmp_vm_name) {
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, qmp_vm_name);
    }
    json_builder_end_object(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

static JsonNode *qmp_cmd_stop(QmpSession *s, JsonObject *args, char **error_desc)
{
    (void)args, (void)error_desc;
    pc_vm_stop(s->m);
    return NULL;
}

static JsonNode *qmp_cmd_cont(QmpSession *s, JsonObject *args, char **error_desc)
{
    (void)args, (void)error_desc;
    pc_vm_cont(s->m);
    return NULL;
}

static JsonNode *qmp_cmd_system_reset(QmpSession *s, JsonObject *args, char **error_desc)
{
    (void)args, (void)error_desc;
    machine_request_reset(s->m, SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
    return NULL;
}

static JsonNode *qmp_cmd_system_powerdown(QmpSession *s, JsonObject *args, char **error_desc)
{
    (void)args, (void)error_desc;
    machine_request_powerdown(s->m);
    return NULL;
}

static JsonNode *qmp_cmd_quit(QmpSession *s, JsonObject *args, char **error_desc)
{
    (void)args, (void)error_desc;
    machine_request_shutdown(s->m, SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    return NULL;
}

static const struct {
    const char *name;
    QmpCommandFn fn;
} qmp_commands[] = {
    { "qmp_capabilities", qmp_cmd_capabilities },
    { "query-status", qmp_cmd_query_status },
    { "query-cpus-fast", qmp_cmd_query_cpus_fast },
    { "query-block", qmp_cmd_query_block },
    { "query-version", qmp_cmd_query_version },
    { "query-commands", qmp_cmd_query_commands },
    { "query-name", qmp_cmd_query_name },
    { "stop", qmp_cmd_stop },
    { "cont", qmp_cmd_cont },
    { "system_reset", qmp_cmd_system_reset },
    { "system_powerdown", qmp_cmd_system_powerdown },
    { "quit", qmp_cmd_quit },
};

static JsonNode *qmp_cmd_query_commands(QmpSession *s, JsonObject *args, char **error_desc)
{
    (void)s, (void)args, (void)error_desc;
    JsonBuilder *b = json_builder_new();
    json_builder_begin_array(b);
    for (size_t i = 0; i < G_N_ELEMENTS(qmp_commands); i++) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, qmp_commands[i].name);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    JsonNode *n = json_builder_get_root(b);
    g_object_unref(b);
    return n;
}

/* One complete JSON text from the client. */
static void qmp_session_handle(QmpSession *s, const char *text)
{
    GError *err = NULL;
    JsonNode *root = json_from_string(text, &err);
    if (!root) {
        char *desc = g_strdup_printf("JSON parse error, %s", err ? err->message : "empty input");
        qmp_send_error(s, NULL, "GenericError", desc);
        g_free(desc);
        g_clear_error(&err);
        return;
    }
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        qmp_send_error(s, NULL, "GenericError", "QMP input must be a JSON object");
        json_node_unref(root);
        return;
    }
    JsonObject *req = json_node_get_object(root);
    JsonNode *id = json_object_get_member(req, "id");
    JsonNode *exec = json_object_get_member(req, "execute");
    JsonNode *args_node = json_object_get_member(req, "arguments");
    const char *name = exec && JSON_NODE_HOLDS_VALUE(exec) && json_node_get_value_type(exec) == G_TYPE_STRING
                           ? json_node_get_string(exec)
                           : NULL;
    if (!name) {
        qmp_send_error(s, id, "GenericError", "QMP input member 'execute' is missing or not a string");
    } else if (args_node && !JSON_NODE_HOLDS_OBJECT(args_node)) {
        qmp_send_error(s, id, "GenericError", "QMP input member 'arguments' must be an object");
    } else if (!s->negotiated && strcmp(name, "qmp_capabilities") != 0) {
        qmp_send_error(s, id, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
    } else if (s->negotiated && strcmp(name, "qmp_capabilities") == 0) {
        qmp_send_error(s, id, "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
    } else {
        size_t i;
        for (i = 0; i < G_N_ELEMENTS(qmp_commands) && strcmp(qmp_commands[i].name, name) != 0; i++) {
        }
        if (i == G_N_ELEMENTS(qmp_commands)) {
            char *desc = g_strdup_printf("The command %s has not been found", name);
            qmp_send_error(s, id, "CommandNotFound", desc);
            g_free(desc);
        } else {
            char *error_desc = NULL;
            machine_lock(s->m);
            JsonNode *ret = qmp_commands[i].fn(s, args_node ? json_node_get_object(args_node) : NULL, &error_desc);
            machine_unlock(s->m);
            if (error_desc) {
                qmp_send_error(s, id, "GenericError", error_desc);
                g_free(error_desc);
            } else {
                qmp_send_return(s, id, ret);
            }
        }
    }
    json_node_unref(root);
}

QmpSession *qmp_session_new(Machine *m, QmpWriteFn write, void *opaque)
{
    QmpSession *s = g_new0(QmpSession, 1);
    s->m = m;
    s->write = write;
    s->opaque = opaque;
    qmp_splitter_init(&s->splitter);
    pc_run_add_listener(m, qmp_event_cb, s);
    qmp_send_greeting(s);
    return s;
}

void qmp_session_input(QmpSession *s, const char *data, size_t len)
{
    GPtrArray *texts = g_ptr_array_new_with_free_func(g_free);
    qmp_splitter_feed(&s->splitter, data, len, texts);
    for (guint i = 0; i < texts->len; i++) {
        qmp_session_handle(s, texts->pdata[i]);
    }
    g_ptr_array_free(texts, TRUE);
}

bool qmp_session_negotiated(const QmpSession *s) { return s->negotiated; }

void qmp_session_free(QmpSession *s)
{
    if (s) {
        pc_run_remove_listener(s->m, qmp_event_cb, s);
        qmp_splitter_destroy(&s->splitter);
        g_free(s);
    }
}
