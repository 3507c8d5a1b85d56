// kpr-agent following the API server stand-in, in this kernel: Services and
// EndpointSlices created, scaled, moved and deleted while a client pod
// connects through the VIPs; API faults that must not cost programmed state;
// the agent killed and restarted under an open connection; health and status.
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "apiserver/api_agent.hpp"
#include "apiserver/eventually.hpp"
#include "apiserver/fake_api_server.hpp"
#include "apiserver/k8s_json.hpp"
#include "testbed/cgroup.hpp"
#include "testbed/debris.hpp"
#include "testbed/kpr_agent.hpp"
#include "testbed/paths.hpp"
#include "testbed/privileges.hpp"
#include "testbed/probe.hpp"
#include "testbed/topology.hpp"

namespace kpr::testbed::apiserver {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* vip = "10.96.0.10";
constexpr const char* other_vip = "10.96.0.20";

class ApiWatch : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        sweep_debris();
        dir_ = fs::temp_directory_path() / test_object_name("api");
        fs::create_directories(dir_);
        certificates_ = TestCertificates::generate(dir_ / "certs");
        ServerOptions options;
        options.bookmark_interval = 2s;
        server_.emplace(certificates_, options);
        server_->write_kubeconfig(dir_ / "kubeconfig");
        topology_.emplace("api");
        client_ = &topology_->add_pod("client");
        for (const char* name : {"b1", "b2", "b3"}) {
            topology_->add_pod(name);
            servers_.push_back(start_echo_server(topology_->pod(name).ns, name, {8080}));
        }
        cgroup_.emplace("api");
        probe_.emplace(client_->ns, *cgroup_);
        agent_.emplace("api", fs::path(example_datapath_object), cgroup_->path(), dir_ / "kubeconfig");
    }

    void TearDown() override {
        agent_.reset();
        server_.reset();
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    void put_service(const std::string& name, const std::string& ip) {
        server_->put("services", service_json({name, {ip}, {{"http", 80, "8080"}}, ""}));
    }

    void put_slice(const std::string& service, const std::vector<std::string>& backends) {
        std::vector<EndpointSpec> endpoints;
        for (const auto& b : backends)
            endpoints.push_back({topology_->pod(b).ipv4});
        server_->put("endpointslices", endpoint_slice_json({service + "-x1", service, "IPv4", {{"http", 8080}}, endpoints}));
    }

    // Reads synced lines until one has frontends=<n> and the given written count, or fails.
    std::string sync_until(const std::function<bool(const std::string&)>& done) {
        for (int i = 0; i < 50; ++i) {
            auto line = agent_->next_sync();
            if (done(line))
                return line;
        }
        throw std::runtime_error("the agent never reached the expected state");
    }

    ProbeReport tcp(const std::string& to, int count) const {
        return probe_->report({"tcp", "--to", to, "--port", "80", "--count", std::to_string(count)});
    }

    // Polls the VIP until exactly these backends answer it (none: it refuses).
    // The Services and EndpointSlices watches are separate streams, so the
    // agent may see a Service and its slice in either order and print a sync
    // line for each: with two Services changing, a sync line alone does not
    // say which change it carried.
    bool eventually_served_by(const std::string& to, const std::set<std::string>& backends) const {
        return eventually(
            [&] {
                const auto report = tcp(to, backends.empty() ? 1 : 20 * static_cast<int>(backends.size()));
                std::set<std::string> answered;
                for (const auto& [backend, replies] : report.responses)
                    answered.insert(backend);
                return answered == backends && (backends.empty() || report.total_errors() == 0);
            },
            30s);
    }

    // Waits for a spawned aggregated client to finish and parses its report.
    static ProbeReport finish(Process& client) {
        std::string output;
        while (auto line = client.read_line(60s)) {
            output += *line + "\n";
            if (*line == "done")
                break;
        }
        return parse_probe_report(output);
    }

    fs::path dir_;
    TestCertificates certificates_;
    std::optional<FakeApiServer> server_;
    std::optional<Topology> topology_;
    const Pod* client_ = nullptr;
    std::vector<Process> servers_;
    std::optional<TestCgroup> cgroup_;
    std::optional<ProbeClient> probe_;
    std::optional<ApiAgent> agent_;
};

TEST_F(ApiWatch, AFullCycleNeverFailsAConnectionToAServiceThatStaysUp) {
    put_service("web", vip);
    put_slice("web", {"b1"});
    agent_->start();
    auto synced = agent_->next_sync();
    EXPECT_EQ(sync_field(synced, "frontends"), 1) << synced;
    EXPECT_EQ(tcp(vip, 20).responses, (std::map<std::string, int>{{"b1", 20}}));

    auto background = probe_->spawn({"tcp", "--to", vip, "--port", "80", "--count", "1500"});
    // Scale up, move, add and delete another Service, scale down.
    put_slice("web", {"b1", "b2", "b3"});
    sync_until([](const std::string& l) { return sync_field(l, "written") > 0; });
    EXPECT_EQ(tcp(vip, 300).responses.size(), 3u);
    // From here on two Services change; see eventually_served_by.
    put_slice("other", {"b3"});
    put_service("other", other_vip);
    ASSERT_TRUE(eventually_served_by(other_vip, {"b3"}));
    EXPECT_EQ(tcp(other_vip, 10).responses, (std::map<std::string, int>{{"b3", 10}}));
    put_slice("web", {"b2", "b3"});
    ASSERT_TRUE(eventually_served_by(vip, {"b2", "b3"}));
    server_->remove("services", "default", "other");
    server_->remove("endpointslices", "default", "other-x1");
    ASSERT_TRUE(eventually_served_by(other_vip, {})) << "a deleted Service's VIP is just an address again";
    EXPECT_EQ(tcp(other_vip, 1).total_errors(), 1);
    put_slice("web", {"b2"});
    ASSERT_TRUE(eventually_served_by(vip, {"b2"}));
    EXPECT_EQ(tcp(vip, 20).responses, (std::map<std::string, int>{{"b2", 20}}));

    const auto report = finish(background);
    EXPECT_TRUE(report.done) << report.output;
    EXPECT_EQ(report.total_errors(), 0) << report.output;
    EXPECT_GE(report.responses.size(), 2u) << report.output;
}

TEST_F(ApiWatch, ApiFaultsCostNoProgrammedStateAndRelistsChangeOnlyTheDifference) {
    put_service("web", vip);
    put_slice("web", {"b1", "b2"});
    agent_->start();
    agent_->next_sync();
    ASSERT_EQ(tcp(vip, 40).responses.size(), 2u);

    // The server goes away (restarting with a higher resourceVersion and no
    // history) and refuses requests for a while: the maps keep serving.
    server_->fail_next_requests("services", 500, 3);
    server_->fail_next_requests("endpointslices", 403, 3);
    server_->restart(10000, false);
    EXPECT_EQ(tcp(vip, 40).total_responses(), 40);
    // The relist finds nothing new and writes nothing.
    auto synced = agent_->next_sync();
    EXPECT_EQ(sync_field(synced, "written") + sync_field(synced, "removed"), 0) << synced;
    // Changes made during a dropped watch arrive with the resumed one.
    server_->inject("endpointslices", EventFault::drop_mid_event);
    put_slice("web", {"b3"});
    sync_until([](const std::string& l) { return sync_field(l, "written") > 0; });
    EXPECT_EQ(tcp(vip, 20).responses, (std::map<std::string, int>{{"b3", 20}}));
    // A malformed event and a 410: the programmed state survives both.
    server_->inject("services", EventFault::malformed_event);
    server_->inject("endpointslices", EventFault::gone);
    put_slice("web", {"b1", "b3"});
    sync_until([](const std::string& l) { return sync_field(l, "written") > 0; });
    EXPECT_EQ(tcp(vip, 100).responses.size(), 2u);
    const auto status = agent_->status();
    EXPECT_NE(status.find("relists_after_410=2"), std::string::npos) << status;
}

TEST_F(ApiWatch, AKilledAgentRestartsUnderAnOpenConnectionWithoutAFailedConnect) {
    put_service("web", vip);
    put_slice("web", {"b1", "b2", "b3"});
    agent_->start();
    agent_->next_sync();
    auto hold = probe_->spawn({"hold", "--to", vip, "--port", "80"});
    ASSERT_EQ(hold.expect_line("connected ", 5s), fmt::format("connected peer={}:80", vip));
    const auto ping = [&] {
        hold.write_line("ping");
        return hold.expect_line("", 5s);
    };
    const auto first = ping();
    ASSERT_EQ(first.rfind("pong ", 0), 0u) << first;

    auto background = probe_->spawn({"tcp", "--to", vip, "--port", "80", "--count", "600"});
    agent_->kill();
    EXPECT_EQ(ping(), first);
    agent_->start();
    const auto synced = agent_->next_sync();
    EXPECT_EQ(sync_field(synced, "written"), 0) << synced;
    EXPECT_EQ(sync_field(synced, "removed"), 0) << synced;
    EXPECT_EQ(sync_field(synced, "unchanged"), 1) << synced;
    EXPECT_EQ(ping(), first);
    const auto report = finish(background);
    EXPECT_EQ(report.total_errors(), 0) << report.output;
    EXPECT_EQ(report.responses.size(), 3u) << report.output;
    // And it still follows changes.
    put_slice("web", {"b2"});
    sync_until([](const std::string& l) { return sync_field(l, "written") > 0; });
    EXPECT_EQ(tcp(vip, 10).responses, (std::map<std::string, int>{{"b2", 10}}));
    EXPECT_EQ(ping(), first);
}

TEST_F(ApiWatch, ReadyOnlyAfterTheFirstFullSyncAndStatusSaysWhatAndWhence) {
    put_service("web", vip);
    server_->fail_next_requests("endpointslices", 403, 1000);
    agent_->start();
    ASSERT_TRUE(eventually([&] { return agent_->health("/healthz") == 200; }));
    EXPECT_EQ(agent_->health("/readyz"), 503);
    const auto waiting = agent_->status();
    EXPECT_NE(waiting.find("ready: no"), std::string::npos) << waiting;
    EXPECT_NE(waiting.find("endpointslices: not listed yet"), std::string::npos) << waiting;
    server_->fail_next_requests("endpointslices", 403, 0);
    agent_->next_sync();
    EXPECT_EQ(agent_->health("/readyz"), 200);
    const auto status = agent_->status();
    EXPECT_NE(status.find(fmt::format("source: kubeconfig {}", (dir_ / "kubeconfig").string())), std::string::npos)
        << status;
    EXPECT_NE(status.find("ready: yes"), std::string::npos) << status;
    EXPECT_NE(status.find("services: listed resourceVersion="), std::string::npos) << status;
    EXPECT_NE(status.find("frontends=1"), std::string::npos) << status;
}

} // namespace
} // namespace kpr::testbed::apiserver
