// The QMP protocol (qmp.c) against the fake machine: greeting, capabilities negotiation, each command's
// reply shape, errors, "id" echo, events with timestamps; and the stream splitter.
#include "system/pc/tests/fake-machine.h"

extern "C" {
#include <json-glib/json-glib.h>

#include "system/pc/qmp.h"
}

namespace {

class QmpTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        fm = new FakeMachine(2);
        fm->Start();
        ASSERT_TRUE(fm->RunUntil([&] { return fm->Runs(0) >= 1; }));
        session = qmp_session_new(&fm->m, Write, this);
    }
    void TearDown() override
    {
        qmp_session_free(session);
        delete fm;
    }
    static void Write(void *opaque, const char *data, size_t len)
    {
        static_cast<QmpTest *>(opaque)->out.append(data, len);
    }
    // The next line the client would read, parsed; it must end with \r\n.
    JsonObject *Next()
    {
        size_t end = out.find("\r\n");
        EXPECT_NE(end, std::string::npos) << "no complete reply in: " << out;
        if (end == std::string::npos) {
            return nullptr;
        }
        std::string line = out.substr(0, end);
        out.erase(0, end + 2);
        JsonNode *n = json_from_string(line.c_str(), nullptr);
        EXPECT_NE(n, nullptr) << line;
        EXPECT_TRUE(JSON_NODE_HOLDS_OBJECT(n)) << line;
        nodes.push_back(n);
        return json_node_get_object(n);
    }
    JsonObject *Execute(const std::string &text)
    {
        qmp_session_input(session, text.data(), text.size());
        return Next();
    }
    void Negotiate()
    {
        Next();   // greeting
        JsonObject *r = Execute("{\"execute\": \"qmp_capabilities\"}");
        ASSERT_TRUE(json_object_has_member(r, "return"));
    }
    ~QmpTest() override
    {
        for (JsonNode *n : nodes) {
            json_node_unref(n);
        }
    }

    FakeMachine *fm = nullptr;
    QmpSession *session = nullptr;
    std::string out;
    std::vector<JsonNode *> nodes;
};

const char *ErrorClass(JsonObject *r)
{
    if (!json_object_has_member(r, "error")) {
        return "";
    }
    return json_object_get_string_member(json_object_get_object_member(r, "error"), "class");
}

TEST_F(QmpTest, GreetingHasVersionAndCapabilities)
{
    JsonObject *g = Next();
    ASSERT_TRUE(json_object_has_member(g, "QMP"));
    JsonObject *qmp = json_object_get_object_member(g, "QMP");
    JsonObject *version = json_object_get_object_member(qmp, "version");
    ASSERT_NE(version, nullptr);
    EXPECT_TRUE(json_object_has_member(json_object_get_object_member(version, "qemu"), "major"));
    EXPECT_TRUE(json_object_has_member(version, "package"));
    JsonArray *caps = json_object_get_array_member(qmp, "capabilities");
    ASSERT_NE(caps, nullptr);
    EXPECT_EQ(json_array_get_length(caps), 0u);
}

TEST_F(QmpTest, CommandsBeforeNegotiationAreRefused)
{
    Next();
    JsonObject *r = Execute("{\"execute\": \"query-status\", \"id\": 7}");
    EXPECT_STREQ(ErrorClass(r), "CommandNotFound");
    EXPECT_EQ(json_object_get_int_member(r, "id"), 7);
    EXPECT_FALSE(qmp_session_negotiated(session));
    // Events are not sent before negotiation either.
    machine_lock(&fm->m);
    machine_request_powerdown(&fm->m);
    machine_unlock(&fm->m);
    EXPECT_EQ(out, "");
}

TEST_F(QmpTest, NegotiationOnlyOnce)
{
    Negotiate();
    EXPECT_TRUE(qmp_session_negotiated(session));
    JsonObject *r = Execute("{\"execute\": \"qmp_capabilities\"}");
    EXPECT_STREQ(ErrorClass(r), "CommandNotFound");
}

TEST_F(QmpTest, QueryStatus)
{
    Negotiate();
    JsonObject *r = Execute("{\"execute\": \"query-status\", \"id\": \"abc\"}");
    JsonObject *ret = json_object_get_object_member(r, "return");
    ASSERT_NE(ret, nullptr);
    EXPECT_TRUE(json_object_get_boolean_member(ret, "running"));
    EXPECT_STREQ(json_object_get_string_member(ret, "status"), "running");
    EXPECT_STREQ(json_object_get_string_member(r, "id"), "abc");
}

TEST_F(QmpTest, QueryCpusFast)
{
    Negotiate();
    JsonObject *r = Execute("{\"execute\": \"query-cpus-fast\"}");
    JsonArray *cpus = json_object_get_array_member(r, "return");
    ASSERT_NE(cpus, nullptr);
    ASSERT_EQ(json_array_get_length(cpus), 2u);
    for (guint i = 0; i < 2; i++) {
        JsonObject *c = json_array_get_object_element(cpus, i);
        EXPECT_EQ(json_object_get_int_member(c, "cpu-index"), (gint64)i);
        EXPECT_STREQ(json_object_get_string_member(c, "target"), "x86_64");
        EXPECT_TRUE(json_object_has_member(c, "qom-path"));
        EXPECT_GT(json_object_get_int_member(c, "thread-id"), 0);
        EXPECT_EQ(json_object_get_int_member(c, "thread-id"), pc_vcpu_thread_id(&fm->m, (int)i));
    }
}

TEST_F(QmpTest, QueryBlock)
{
    Negotiate();
    JsonObject *r = Execute("{\"execute\": \"query-block\"}");
    JsonArray *disks = json_object_get_array_member(r, "return");
    ASSERT_NE(disks, nullptr);
    ASSERT_EQ(json_array_get_length(disks), 1u);
    JsonObject *d = json_array_get_object_element(disks, 0);
    EXPECT_STREQ(json_object_get_string_member(d, "device"), "disk0");
    JsonObject *ins = json_object_get_object_member(d, "inserted");
    ASSERT_NE(ins, nullptr);
    EXPECT_STREQ(json_object_get_string_member(ins, "file"), "/images/disk0.raw");
    EXPECT_TRUE(json_object_get_boolean_member(ins, "ro"));
}

TEST_F(QmpTest, QueryNameAndVersion)
{
    Negotiate();
    qmp_set_vm_name(nullptr);
    JsonObject *r = Execute("{\"execute\": \"query-name\"}");
    EXPECT_EQ(json_object_get_size(json_object_get_object_member(r, "return")), 0u) << "no -name: empty";
    qmp_set_vm_name("vm1");
    r = Execute("{\"execute\": \"query-name\"}");
    EXPECT_STREQ(json_object_get_string_member(json_object_get_object_member(r, "return"), "name"), "vm1");
    qmp_set_vm_name(nullptr);
    r = Execute("{\"execute\": \"query-version\"}");
    EXPECT_TRUE(json_object_has_member(json_object_get_object_member(r, "return"), "qemu"));
    r = Execute("{\"execute\": \"query-commands\"}");
    JsonArray *cmds = json_object_get_array_member(r, "return");
    ASSERT_NE(cmds, nullptr);
    bool has_quit = false;
    for (guint i = 0; i < json_array_get_length(cmds); i++) {
        has_quit |= strcmp(json_object_get_string_member(json_array_get_object_element(cmds, i), "name"), "quit") == 0;
    }
    EXPECT_TRUE(has_quit);
}

TEST_F(QmpTest, StopAndContSendEvents)
{
    Negotiate();
    JsonObject *ev = Execute("{\"execute\": \"stop\", \"id\": 1}");
    EXPECT_STREQ(json_object_get_string_member(ev, "event"), "STOP");
    JsonObject *ts = json_object_get_object_member(ev, "timestamp");
    ASSERT_NE(ts, nullptr);
    EXPECT_GT(json_object_get_int_member(ts, "seconds"), 1600000000);
    EXPECT_TRUE(json_object_has_member(ts, "microseconds"));
    JsonObject *r = Next();
    EXPECT_TRUE(json_object_has_member(r, "return"));
    EXPECT_EQ(json_object_get_int_member(r, "id"), 1);
    r = Execute("{\"execute\": \"query-status\"}");
    JsonObject *ret = json_object_get_object_member(r, "return");
    EXPECT_FALSE(json_object_get_boolean_member(ret, "running"));
    EXPECT_STREQ(json_object_get_string_member(ret, "status"), "paused");
    ev = Execute("{\"execute\": \"cont\"}");
    EXPECT_STREQ(json_object_get_string_member(ev, "event"), "RESUME");
    EXPECT_TRUE(json_object_has_member(Next(), "return"));
}

TEST_F(QmpTest, SystemResetSendsResetEvent)
{
    Negotiate();
    JsonObject *r = Execute("{\"execute\": \"system_reset\"}");
    EXPECT_TRUE(json_object_has_member(r, "return"));
    ASSERT_TRUE(fm->RunUntil([&] { return out.find("RESET") != std::string::npos; }));
    JsonObject *ev = Next();
    EXPECT_STREQ(json_object_get_string_member(ev, "event"), "RESET");
    JsonObject *data = json_object_get_object_member(ev, "data");
    ASSERT_NE(data, nullptr);
    EXPECT_FALSE(json_object_get_boolean_member(data, "guest"));
    EXPECT_STREQ(json_object_get_string_member(data, "reason"), "host-qmp-system-reset");
    EXPECT_EQ(fm->resets, 1);
}

TEST_F(QmpTest, SystemPowerdownPressesTheButton)
{
    Negotiate();
    JsonObject *ev = Execute("{\"execute\": \"system_powerdown\"}");
    EXPECT_STREQ(json_object_get_string_member(ev, "event"), "POWERDOWN");
    EXPECT_TRUE(json_object_has_member(Next(), "return"));
    EXPECT_EQ(fm->power_button_presses, 1);
}

TEST_F(QmpTest, QuitRepliesThenShutsDown)
{
    Negotiate();
    JsonObject *r = Execute("{\"execute\": \"quit\"}");
    EXPECT_TRUE(json_object_has_member(r, "return"));
    ASSERT_TRUE(fm->RunUntil([&] { return out.find("SHUTDOWN") != std::string::npos; }));
    JsonObject *ev = Next();
    EXPECT_STREQ(json_object_get_string_member(ev, "event"), "SHUTDOWN");
    JsonObject *data = json_object_get_object_member(ev, "data");
    EXPECT_FALSE(json_object_get_boolean_member(data, "guest"));
    EXPECT_STREQ(json_object_get_string_member(data, "reason"), "host-qmp-quit");
}

TEST_F(QmpTest, Errors)
{
    Negotiate();
    JsonObject *r = Execute("{\"execute\": \"no-such-command\", \"id\": [1, 2]}");
    EXPECT_STREQ(ErrorClass(r), "CommandNotFound");
    EXPECT_TRUE(strstr(json_object_get_string_member(json_object_get_object_member(r, "error"), "desc"),
                       "no-such-command"));
    EXPECT_EQ(json_array_get_length(json_object_get_array_member(r, "id")), 2u);
    r = Execute("{\"id\": 3}");
    EXPECT_STREQ(ErrorClass(r), "GenericError");
    r = Execute("[1, 2]");
    EXPECT_STREQ(ErrorClass(r), "GenericError");
    r = Execute("{\"execute\": \"stop\", \"arguments\": 5}");
    EXPECT_STREQ(ErrorClass(r), "GenericError");
    r = Execute("{\"execute\": }");
    EXPECT_STREQ(ErrorClass(r), "GenericError");
    // The session still works after bad input.
    r = Execute("{\"execute\": \"query-status\"}");
    EXPECT_TRUE(json_object_has_member(r, "return"));
}

TEST_F(QmpTest, CommandsSplitAcrossReadsAndSeveralInOneRead)
{
    Negotiate();
    std::string a = "{\"execute\": \"query-", b = "status\", \"id\": \"x}{\"}{\"execute\":\"query-status\"}";
    qmp_session_input(session, a.data(), a.size());
    EXPECT_EQ(out, "");
    qmp_session_input(session, b.data(), b.size());
    JsonObject *r = Next();
    EXPECT_STREQ(json_object_get_string_member(r, "id"), "x}{") << "braces inside strings do not count";
    r = Next();
    EXPECT_TRUE(json_object_has_member(r, "return"));
}

TEST(QmpSplitter, SplitsTopLevelTexts)
{
    QmpSplitter sp;
    qmp_splitter_init(&sp);
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    const char in[] = " {\"a\": \"\\\"}\"}\n{\"b\": [1, {\"c\": 2}]}  {\"d\"";
    qmp_splitter_feed(&sp, in, strlen(in), out);
    ASSERT_EQ(out->len, 2u);
    EXPECT_STREQ((char *)out->pdata[0], "{\"a\": \"\\\"}\"}");
    EXPECT_STREQ((char *)out->pdata[1], "{\"b\": [1, {\"c\": 2}]}");
    qmp_splitter_feed(&sp, ": 1}", 4, out);
    ASSERT_EQ(out->len, 3u);
    EXPECT_STREQ((char *)out->pdata[2], "{\"d\": 1}");
    g_ptr_array_free(out, TRUE);
    qmp_splitter_destroy(&sp);
}

}  // namespace
