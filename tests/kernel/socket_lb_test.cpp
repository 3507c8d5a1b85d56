// The socket load balancer in this kernel: kpr-agent loads the data path
// kpr-gen built, attaches it to a test cgroup and programs it from files;
// a client pod in that cgroup connects to Service VIPs that exist nowhere
// but in the maps, and reaches backend pods in their own namespaces.
#include <cmath>
#include <csignal>
#include <optional>

#include <gtest/gtest.h>

#include "testbed/cgroup.hpp"
#include "testbed/debris.hpp"
#include "testbed/k8s_yaml.hpp"
#include "testbed/kpr_agent.hpp"
#include "testbed/paths.hpp"
#include "testbed/privileges.hpp"
#include "testbed/probe.hpp"
#include "testbed/topology.hpp"

namespace kpr::testbed {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* vip4 = "10.96.0.10";
constexpr const char* vip6 = "fd00:96::10";

// Chi-square statistic of observed counts against a uniform spread.
double chi_square(const std::vector<int>& observed) {
    double total = 0;
    for (int o : observed)
        total += o;
    const double expected = total / static_cast<double>(observed.size());
    double sum = 0;
    for (int o : observed)
        sum += (o - expected) * (o - expected) / expected;
    return sum;
}

class SocketLb : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        sweep_debris();
        topology_.emplace("lb");
        client_ = &topology_->add_pod("client");
        for (const char* name : {"b1", "b2", "b3"}) {
            backends_.push_back(&topology_->add_pod(name));
            servers_.push_back(start_echo_server(backends_.back()->ns, name, {8080, 9090}));
        }
        cgroup_.emplace("lb");
        agent_.emplace("lb", object(), cgroup_->path());
        const auto synced = agent_->start();
        ASSERT_EQ(sync_field(synced, "frontends"), 0) << synced;
        probe_.emplace(client_->ns, *cgroup_);
    }

    virtual fs::path object() const { return fs::path(example_datapath_object); }

    const Pod& backend(const std::string& name) const { return topology_->pod(name); }

    // Service web: TCP and UDP port 80 to 8080 on both families, with the
    // given backends in one slice per family: four frontends.
    std::string web(const std::vector<std::pair<std::string, EndpointSpec>>& endpoints) const {
        std::vector<EndpointSpec> v4, v6;
        for (const auto& [name, conditions] : endpoints) {
            auto e = conditions;
            e.address = backend(name).ipv4;
            v4.push_back(e);
            e.address = backend(name).ipv6;
            v6.push_back(e);
        }
        const std::vector<SlicePortSpec> ports{{"http", 8080}, {"echo", 8080, "UDP"}};
        return yaml_documents({service_yaml({"web", {vip4, vip6}, {{"http", 80, "8080"}, {"echo", 80, "8080", "UDP"}}}),
                               endpoint_slice_yaml({"web-v4", "web", "IPv4", ports, v4}),
                               endpoint_slice_yaml({"web-v6", "web", "IPv6", ports, v6})});
    }

    std::string web_on(const std::vector<std::string>& names) const {
        std::vector<std::pair<std::string, EndpointSpec>> endpoints;
        for (const auto& n : names)
            endpoints.push_back({n, {}});
        return web(endpoints);
    }

    ProbeReport tcp(const std::string& to, int port, int count, bool v4mapped = false) const {
        std::vector<std::string> mode{"tcp", "--to", to, "--port", std::to_string(port), "--count",
                                      std::to_string(count)};
        if (v4mapped)
            mode.push_back("--v4mapped");
        return probe_->report(mode);
    }

    ProbeReport udp(const std::string& mode_name, const std::string& to, int port, int count,
                    bool v4mapped = false) const {
        std::vector<std::string> mode{mode_name, "--to", to, "--port", std::to_string(port), "--count",
                                      std::to_string(count)};
        if (v4mapped)
            mode.push_back("--v4mapped");
        return probe_->report(mode);
    }

    std::string connect_once(const std::string& to, int port, const std::string& proto) const {
        return probe_->run({"connect-once", "--to", to, "--port", std::to_string(port), "--proto", proto});
    }

    std::optional<Topology> topology_;
    const Pod* client_ = nullptr;
    std::vector<const Pod*> backends_;
    std::vector<Process> servers_;
    std::optional<TestCgroup> cgroup_;
    std::optional<KprAgent> agent_;
    std::optional<ProbeClient> probe_;
};

TEST_F(SocketLb, TcpToTheVipReachesEveryBackendEvenly) {
    const auto synced = agent_->apply("web.yaml", web_on({"b1", "b2", "b3"}));
    EXPECT_EQ(sync_field(synced, "problems"), 0) << synced;
    const auto r = tcp(vip4, 80, 1000);
    ASSERT_EQ(r.total_responses(), 1000) << r.output;
    const std::vector<int> counts{r.responses.at("b1"), r.responses.at("b2"), r.responses.at("b3")};
    // df = 2; 18.42 is the 99.99th percentile, so a fair spread fails 1 run in 10,000.
    EXPECT_LT(chi_square(counts), 18.42) << r.output;
    // getpeername() shows the Service, not the backend the kernel talks to.
    EXPECT_EQ(r.peers, (std::map<std::string, int>{{"10.96.0.10:80", 1000}})) << r.output;
}

TEST_F(SocketLb, Ipv6VipReachesTheBackendsIpv6Addresses) {
    agent_->apply("web.yaml", web_on({"b1", "b2", "b3"}));
    const auto r = tcp(vip6, 80, 300);
    ASSERT_EQ(r.total_responses(), 300) << r.output;
    EXPECT_EQ(r.responses.size(), 3u) << r.output;
    EXPECT_EQ(r.peers, (std::map<std::string, int>{{"[fd00:96::10]:80", 300}})) << r.output;
    const auto u = udp("udp", vip6, 80, 30);
    EXPECT_EQ(u.total_responses(), 30) << u.output;
    EXPECT_EQ(u.sources, (std::map<std::string, int>{{"[fd00:96::10]:80", 30}})) << u.output;
}

TEST_F(SocketLb, UdpRepliesComeFromTheVip) {
    agent_->apply("web.yaml", web_on({"b1", "b2", "b3"}));
    const auto r = udp("udp", vip4, 80, 60);
    ASSERT_EQ(r.total_responses(), 60) << r.output;
    // Each datagram is balanced on its own; over 60, every backend answers.
    EXPECT_EQ(r.responses.size(), 3u) << r.output;
    EXPECT_EQ(r.sources, (std::map<std::string, int>{{"10.96.0.10:80", 60}})) << r.output;

    const auto c = udp("udp-connected", vip4, 80, 10);
    EXPECT_EQ(c.total_responses(), 10) << c.output;
    EXPECT_EQ(c.responses.size(), 1u) << "a connected socket keeps its backend: " << c.output;
    EXPECT_EQ(c.peers, (std::map<std::string, int>{{"10.96.0.10:80", 1}})) << c.output;
    EXPECT_EQ(c.sources, (std::map<std::string, int>{{"10.96.0.10:80", 10}})) << c.output;
}

TEST_F(SocketLb, Ipv4MappedIpv6SocketsAreBalancedToo) {
    agent_->apply("web.yaml", web_on({"b1", "b2", "b3"}));
    const auto r = tcp(vip4, 80, 100, true);
    ASSERT_EQ(r.total_responses(), 100) << r.output;
    EXPECT_EQ(r.responses.size(), 3u) << r.output;
    EXPECT_EQ(r.peers, (std::map<std::string, int>{{"[::ffff:10.96.0.10]:80", 100}})) << r.output;
    const auto u = udp("udp", vip4, 80, 20, true);
    EXPECT_EQ(u.total_responses(), 20) << u.output;
    EXPECT_EQ(u.sources, (std::map<std::string, int>{{"[::ffff:10.96.0.10]:80", 20}})) << u.output;
}

TEST_F(SocketLb, ARemovedBackendGetsNoNewConnection) {
    agent_->apply("web.yaml", web_on({"b1", "b2", "b3"}));
    ASSERT_EQ(tcp(vip4, 80, 100).responses.size(), 3u);
    const auto synced = agent_->apply("web.yaml", web_on({"b1", "b2"}));
    EXPECT_EQ(sync_field(synced, "written"), 4) << synced;
    const auto r = tcp(vip4, 80, 300);
    EXPECT_EQ(r.total_responses(), 300) << r.output;
    EXPECT_EQ(r.responses.count("b3"), 0u) << r.output;
    EXPECT_EQ(r.responses.size(), 2u) << r.output;
}

TEST_F(SocketLb, TerminatingBackendsGetNewConnectionsOnlyWhenNothingIsReady) {
    const EndpointSpec terminating{"", false, true, true};
    agent_->apply("web.yaml", web({{"b1", {}}, {"b2", terminating}}));
    auto r = tcp(vip4, 80, 200);
    EXPECT_EQ(r.responses, (std::map<std::string, int>{{"b1", 200}})) << r.output;

    agent_->apply("web.yaml", web({{"b1", terminating}, {"b2", terminating}, {"b3", {"", false, false, true}}}));
    r = tcp(vip4, 80, 200);
    EXPECT_EQ(r.total_responses(), 200) << r.output;
    EXPECT_EQ(r.responses.count("b3"), 0u) << "a terminating backend that is not serving: " << r.output;
    EXPECT_EQ(r.responses.size(), 2u) << r.output;
}

TEST_F(SocketLb, AServiceWithoutUsableBackendsRefusesAtOnce) {
    agent_->apply("web.yaml", web({{"b1", {"", false, false, false}}}));
    EXPECT_EQ(connect_once(vip4, 80, "tcp"), "error ECONNREFUSED elapsed_ms=0\n");
    EXPECT_EQ(connect_once(vip4, 80, "udp"), "error ECONNREFUSED elapsed_ms=0\n");
    const auto r = udp("udp", vip4, 80, 3);
    EXPECT_EQ(r.errors, (std::map<std::string, int>{{"ECONNREFUSED", 3}})) << r.output;
    EXPECT_EQ(connect_once(vip6, 80, "tcp"), "error ECONNREFUSED elapsed_ms=0\n");
}

TEST_F(SocketLb, ARemovedServiceFailsFast) {
    agent_->apply("web.yaml", web_on({"b1", "b2", "b3"}));
    ASSERT_EQ(connect_once(vip4, 80, "tcp").rfind("ok ", 0), 0u);
    const auto synced = agent_->apply("web.yaml", yaml_documents({}));
    EXPECT_EQ(sync_field(synced, "removed"), 4) << synced;
    // The VIP is an address nobody has: with the frontend gone, the node
    // answers that it has no route, instead of a backend answering.
    const auto out = connect_once(vip4, 80, "tcp");
    EXPECT_EQ(out.rfind("error ENETUNREACH", 0), 0u) << out;
    EXPECT_EQ(agent_->show(), "");
}

TEST_F(SocketLb, TwoServicesShareAVipOnDifferentPorts) {
    const auto admin = yaml_documents(
        {service_yaml({"admin", {vip4}, {{"admin", 81, "9090"}}}),
         endpoint_slice_yaml({"admin-v4", "admin", "IPv4", {{"admin", 9090}}, {{backend("b3").ipv4}}})});
    agent_->write("admin.yaml", admin);
    agent_->apply("web.yaml", web_on({"b1", "b2"}));
    const auto on80 = tcp(vip4, 80, 100);
    const auto on81 = tcp(vip4, 81, 50);
    EXPECT_EQ(on80.total_responses(), 100) << on80.output;
    EXPECT_EQ(on80.responses.count("b3"), 0u) << on80.output;
    EXPECT_EQ(on81.responses, (std::map<std::string, int>{{"b3", 50}})) << on81.output;
    EXPECT_EQ(on81.peers, (std::map<std::string, int>{{"10.96.0.10:81", 50}})) << on81.output;
}

TEST_F(SocketLb, AServiceForAnotherProxyIsLeftAlone) {
    auto other = service_yaml({"other", {"10.96.0.30"}, {{"", 80, "8080"}}, "some-other-proxy"});
    other += "---\n" + endpoint_slice_yaml({"other-v4", "other", "IPv4", {{"", 8080}}, {{backend("b1").ipv4}}});
    const auto synced = agent_->apply("other.yaml", other);
    EXPECT_EQ(sync_field(synced, "frontends"), 0) << synced;
    EXPECT_EQ(connect_once("10.96.0.30", 80, "tcp").rfind("error ENETUNREACH", 0), 0u);
}

TEST_F(SocketLb, ALongConnectionSurvivesAgentRestartsAndNewOnesKeepWorking) {
    agent_->apply("web.yaml", web_on({"b1", "b2", "b3"}));
    auto hold = probe_->spawn({"hold", "--to", vip4, "--port", "80"});
    EXPECT_EQ(hold.expect_line("connected ", 5s), "connected peer=10.96.0.10:80");
    const auto ping = [&] {
        hold.write_line("ping");
        return hold.expect_line("", 5s);
    };
    const auto first = ping();
    ASSERT_EQ(first.rfind("pong ", 0), 0u) << first;

    EXPECT_EQ(agent_->stop(), 0);
    EXPECT_EQ(ping(), first);
    EXPECT_EQ(tcp(vip4, 80, 50).total_responses(), 50);

    // A restart reads the pinned maps back and finds nothing to change.
    auto synced = agent_->start();
    EXPECT_EQ(sync_field(synced, "written"), 0) << synced;
    EXPECT_EQ(sync_field(synced, "removed"), 0) << synced;
    EXPECT_EQ(sync_field(synced, "unchanged"), 4) << synced;
    EXPECT_EQ(ping(), first);

    agent_->kill();
    EXPECT_EQ(ping(), first);
    EXPECT_EQ(tcp(vip4, 80, 50).total_responses(), 50);
    synced = agent_->start();
    EXPECT_EQ(sync_field(synced, "written"), 0) << synced;
    EXPECT_EQ(ping(), first);
    // Still balancing, and still following changes after the restarts.
    agent_->apply("web.yaml", web_on({"b2"}));
    EXPECT_EQ(tcp(vip4, 80, 50).responses, (std::map<std::string, int>{{"b2", 50}}));
    EXPECT_EQ(ping(), first);
}

// Bad input: each problem is reported with its file, object and field, and
// what was programmed before keeps working.
class SocketLbBadInput : public SocketLb {
  protected:
    void SetUp() override {
        SocketLb::SetUp();
        if (IsSkipped())
            return;
        agent_->apply("web.yaml", web_on({"b1", "b2", "b3"}));
        ASSERT_EQ(agent_->stop(), 0);
    }

    // Runs the agent once over `yaml` as web.yaml and checks that it exits
    // with status 2, logs `message`, and that web still reaches all backends.
    void expect_rejected(const std::string& yaml, const std::string& message) {
        agent_->write("web.yaml", yaml);
        const auto result = agent_->run_once();
        EXPECT_EQ(result.exit_code, 2) << result.errors;
        EXPECT_NE(result.errors.find(message), std::string::npos) << result.errors;
        const auto r = tcp(vip4, 80, 60);
        EXPECT_EQ(r.total_responses(), 60) << r.output;
        EXPECT_EQ(r.responses.size(), 3u) << r.output;
    }

    std::string web_path() const { return (agent_->source_dir() / "web.yaml").string(); }
};

TEST_F(SocketLbBadInput, MalformedYaml) {
    expect_rejected("apiVersion: v1\nkind: Service\nmetadata: {name: web\n",
                    web_path() + ":4:1: invalid YAML");
}

TEST_F(SocketLbBadInput, UnknownKind) {
    auto yaml = web_on({"b1"});
    yaml.replace(yaml.find("kind: Service"), 13, "kind: Servic");
    expect_rejected(yaml, web_path() + ":2:7: kind: unknown kind \"Servic\"");
}

TEST_F(SocketLbBadInput, InvalidClusterIp) {
    auto yaml = web_on({"b1"});
    for (auto at = yaml.find("10.96.0.10\n"); at != std::string::npos; at = yaml.find("10.96.0.10\n"))
        yaml.replace(at, 10, "10.96.0.300");
    expect_rejected(yaml, web_path() + ":10:5: Service default/web: spec.clusterIPs[0]: \"10.96.0.300\" is not an "
                                       "IP address");
}

TEST_F(SocketLbBadInput, InvalidPort) {
    auto yaml = web_on({"b1"});
    yaml.replace(yaml.find("port: 80\n"), 9, "port: 70000\n");
    expect_rejected(yaml, "Service default/web: spec.ports[0].port: 70000 is out of range 1-65535");
}

TEST_F(SocketLbBadInput, InvalidBackendAddress) {
    auto yaml = web_on({"b1"});
    const auto ip = backend("b1").ipv4;
    yaml.replace(yaml.find("\"" + ip + "\""), ip.size() + 2, "\"10.244.0.999\"");
    expect_rejected(yaml, "EndpointSlice default/web-v4: endpoints[0].addresses[0]: \"10.244.0.999\" is not an IP "
                          "address");
}

TEST_F(SocketLbBadInput, ARunningAgentKeepsTheLastGoodVersion) {
    agent_->start();
    auto yaml = web_on({"b1", "b2", "b3"});
    yaml.replace(yaml.find("port: 80\n"), 9, "port: 0\n");
    const auto synced = agent_->apply("web.yaml", yaml);
    EXPECT_EQ(sync_field(synced, "problems"), 1) << synced;
    EXPECT_EQ(sync_field(synced, "written"), 0) << synced;
    EXPECT_EQ(tcp(vip4, 80, 60).responses.size(), 3u);
    // Fixing the file applies it.
    agent_->apply("web.yaml", web_on({"b1"}));
    EXPECT_EQ(tcp(vip4, 80, 30).responses, (std::map<std::string, int>{{"b1", 30}}));
}

// A data path built with room for 8 service entries and 8 backends.
class SocketLbSmallMaps : public SocketLb {
  protected:
    fs::path object() const override { return KPR_SMALL_CAPACITY_OBJECT; }
};

TEST_F(SocketLbSmallMaps, AServiceThatDoesNotFitIsRefusedAndTheOthersKeepWorking) {
    const auto web = yaml_documents(
        {service_yaml({"web", {vip4}, {{"http", 80, "8080"}}}),
         endpoint_slice_yaml({"web-v4", "web", "IPv4", {{"http", 8080}},
                              {{backend("b1").ipv4}, {backend("b2").ipv4}, {backend("b3").ipv4}}})});
    EXPECT_EQ(sync_field(agent_->apply("web.yaml", web), "problems"), 0);
    ASSERT_EQ(agent_->stop(), 0);

    // 4 entries for web, 5 more for big: one over the capacity of 8.
    std::vector<EndpointSpec> big_endpoints;
    for (const char* b : {"b1", "b2", "b3"})
        big_endpoints.push_back({backend(b).ipv4});
    big_endpoints.push_back({client_->ipv4});
    agent_->write("big.yaml", yaml_documents({service_yaml({"big", {"10.96.0.20"}, {{"admin", 80, "9090"}}}),
                                              endpoint_slice_yaml({"big-v4", "big", "IPv4", {{"admin", 9090}},
                                                                   big_endpoints})}));
    const auto result = agent_->run_once();
    EXPECT_EQ(result.exit_code, 2) << result.errors;
    EXPECT_NE(result.errors.find("Service default/big: does not fit map kpr_svc4: it would hold 9 entries, its "
                                 "capacity is 8 (4 in use)"),
              std::string::npos)
        << result.errors;
    EXPECT_EQ(tcp(vip4, 80, 60).responses.size(), 3u);
    EXPECT_EQ(connect_once("10.96.0.20", 80, "tcp").rfind("error ENETUNREACH", 0), 0u);
}

} // namespace
} // namespace kpr::testbed
