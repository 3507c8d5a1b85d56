// The testbed the kernel tests stand on: the emulated node routes between pods
// on both families, the probes report what really happened, and everything
// the testbed makes (namespaces, cgroups, processes) is gone afterwards, also
// when a killed run left it behind.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "testbed/cgroup.hpp"
#include "testbed/command.hpp"
#include "testbed/debris.hpp"
#include "testbed/north_south.hpp"
#include "testbed/north_south_probe.hpp"
#include "testbed/privileges.hpp"
#include "testbed/probe.hpp"
#include "testbed/topology.hpp"

namespace kpr::testbed {
namespace {

using namespace std::chrono_literals;
using Counts = std::map<std::string, int>;

constexpr std::uint16_t echo_port = 8080;
constexpr std::uint16_t closed_port = 9;
const std::string echo_port_text = std::to_string(echo_port);


std::vector<std::string> namespace_names() {
    std::vector<std::string> names;
    std::istringstream listing(run({"ip", "netns", "list"}));
    for (std::string line; std::getline(listing, line);)
        names.push_back(line.substr(0, line.find(' ')));
    return names;
}

bool namespace_exists(const std::string& name) {
    const auto names = namespace_names();
    return std::ranges::find(names, name) != names.end();
}

// The network namespace a process is in, as (device, inode).
std::pair<dev_t, ino_t> network_namespace_of(const std::string& ns_file) {
    struct stat st {};
    if (::stat(ns_file.c_str(), &st) != 0)
        throw std::runtime_error("stat " + ns_file);
    return {st.st_dev, st.st_ino};
}

class TestbedTest : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        sweep_debris();
        topology_.emplace("tb");
        client_pod_ = &topology_->add_pod("client");
        backends_ = {&topology_->add_pod("b1"), &topology_->add_pod("b2")};
        cgroup_.emplace("tb");
        for (const Pod* backend : backends_)
            servers_.push_back(start_echo_server(backend->ns, backend->name, {echo_port}));
    }

    ProbeClient client() const { return ProbeClient(client_pod_->ns, *cgroup_); }

    // Destroyed in reverse: servers, then the cgroup, then the namespaces.
    std::optional<Topology> topology_;
    std::optional<TestCgroup> cgroup_;
    std::vector<Process> servers_;
    const Pod* client_pod_ = nullptr;
    std::vector<const Pod*> backends_;
};

TEST_F(TestbedTest, TcpReachesEachBackendOnBothFamilies) {
    for (const Pod* backend : backends_) {
        for (const std::string& address : {backend->ipv4, backend->ipv6}) {
            SCOPED_TRACE(address);
            const auto report =
                client().report({"tcp", "--to", address, "--port", echo_port_text, "--count", "3"});
            EXPECT_EQ(report.responses, (Counts{{backend->name, 3}})) << report.output;
            EXPECT_EQ(report.peers, (Counts{{endpoint_text(address, echo_port), 3}})) << report.output;
            EXPECT_TRUE(report.errors.empty()) << report.output;
            EXPECT_TRUE(report.done) << report.output;
        }
    }
}

TEST_F(TestbedTest, UdpRepliesComeFromTheBackendAddress) {
    for (const Pod* backend : backends_) {
        for (const std::string& address : {backend->ipv4, backend->ipv6}) {
            SCOPED_TRACE(address);
            const auto report =
                client().report({"udp", "--to", address, "--port", echo_port_text, "--count", "3"});
            EXPECT_EQ(report.responses, (Counts{{backend->name, 3}})) << report.output;
            EXPECT_EQ(report.sources, (Counts{{endpoint_text(address, echo_port), 3}})) << report.output;
            EXPECT_TRUE(report.errors.empty()) << report.output;
            EXPECT_TRUE(report.done) << report.output;
        }
    }
}

TEST_F(TestbedTest, ConnectedUdpReportsItsPeer) {
    const Pod& b2 = *backends_[1];
    const auto report = client().report(
        {"udp-connected", "--to", b2.ipv6, "--port", echo_port_text, "--count", "2"});
    EXPECT_EQ(report.peers, (Counts{{endpoint_text(b2.ipv6, echo_port), 1}})) << report.output;
    EXPECT_EQ(report.responses, (Counts{{"b2", 2}})) << report.output;
    EXPECT_EQ(report.sources, (Counts{{endpoint_text(b2.ipv6, echo_port), 2}})) << report.output;
    EXPECT_TRUE(report.errors.empty()) << report.output;
}

TEST_F(TestbedTest, V4MappedSocketsReachIPv4Backends) {
    const Pod& b1 = *backends_[0];
    const std::string mapped = endpoint_text("::ffff:" + b1.ipv4, echo_port);
    const auto tcp = client().report(
        {"tcp", "--to", b1.ipv4, "--port", echo_port_text, "--count", "2", "--v4mapped"});
    EXPECT_EQ(tcp.responses, (Counts{{"b1", 2}})) << tcp.output;
    EXPECT_EQ(tcp.peers, (Counts{{mapped, 2}})) << tcp.output;

    const auto udp = client().report(
        {"udp", "--to", b1.ipv4, "--port", echo_port_text, "--count", "2", "--v4mapped"});
    EXPECT_EQ(udp.responses, (Counts{{"b1", 2}})) << udp.output;
    EXPECT_EQ(udp.sources, (Counts{{mapped, 2}})) << udp.output;
}

TEST_F(TestbedTest, ClosedPortsAreRefused) {
    const Pod& b1 = *backends_[0];
    const std::string port = std::to_string(closed_port);
    const auto tcp = client().report({"tcp", "--to", b1.ipv4, "--port", port, "--count", "2"});
    EXPECT_EQ(tcp.errors, (Counts{{"ECONNREFUSED", 2}})) << tcp.output;
    EXPECT_TRUE(tcp.responses.empty()) << tcp.output;
    EXPECT_TRUE(tcp.done) << tcp.output;

    const std::string udp =
        client().run({"connect-once", "--to", b1.ipv6, "--port", port, "--proto", "udp"});
    EXPECT_TRUE(udp.starts_with("error ECONNREFUSED ")) << udp;
}

TEST_F(TestbedTest, UnroutedAddressFailsFastInsteadOfHanging) {
    // The node namespace has no route for service ranges, so the pod gets an
    // ICMP unreachable back. IPv4 fails on the first SYN; IPv6 only on the
    // retransmitted one, a second later, because the first error arrives
    // while connect() still holds the socket (TcpExtLockDroppedIcmps). Either
    // way it must beat the client's two-second timeout.
    const std::regex fast_failure(R"(error (ENETUNREACH|EHOSTUNREACH) elapsed_ms=(\d+)\n)");
    for (const std::string address : {"10.96.0.99", "fd00:96::99"}) {
        SCOPED_TRACE(address);
        const std::string output =
            client().run({"connect-once", "--to", address, "--port", "80", "--proto", "tcp"});
        std::smatch match;
        ASSERT_TRUE(std::regex_match(output, match, fast_failure)) << output;
        EXPECT_LT(std::stoi(match[2].str()), 1500) << output;
    }
}

TEST_F(TestbedTest, HeldConnectionAnswersSeveralPings) {
    const Pod& b2 = *backends_[1];
    Process hold = client().spawn({"hold", "--to", b2.ipv4, "--port", echo_port_text});
    const std::string peer = endpoint_text(b2.ipv4, echo_port);
    EXPECT_EQ(hold.expect_line("connected", 5s), "connected peer=" + peer);

    // The client really runs where the options put it.
    EXPECT_EQ(cgroup_->processes(), std::vector<pid_t>{hold.pid()});
    EXPECT_EQ(network_namespace_of(fmt::format("/proc/{}/ns/net", hold.pid())),
              network_namespace_of(client_pod_->ns.path()));

    for (int i = 0; i < 3; ++i) {
        hold.write_line("ping");
        EXPECT_EQ(hold.read_line(5s), "pong b2 peer=" + peer);
    }
    hold.write_line("quit");
    EXPECT_EQ(hold.wait(5s), 0);
}

TEST_F(TestbedTest, ServerReportsABindFailureAndStopsCleanlyOnSigterm) {
    const Pod& b1 = *backends_[0];
    EXPECT_THROW(start_echo_server(b1.ns, "second", {echo_port}), std::runtime_error)
        << "a second server bound the port the first one holds";

    Process& server = servers_[0];
    ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
    EXPECT_EQ(server.wait(5s), 0);
}

// The north-south topology without kpr: plain routing carries the external
// client to pods on both nodes and back, on both families, and each backend
// sees the client's own address (nothing on the way translates it).
class NorthSouthTopologyTest : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        sweep_debris();
        topology_.emplace("nst");
        pods_ = {&topology_->node1().add_pod("local"), &topology_->node2().add_pod("remote")};
        for (const Pod* pod : pods_)
            servers_.push_back(start_echo_server(pod->ns, pod->name, {echo_port}, true));
    }

    std::optional<NorthSouthTopology> topology_;
    std::vector<Process> servers_;
    std::vector<const Pod*> pods_;
};

TEST_F(NorthSouthTopologyTest, PlainRoutingCarriesTheClientToPodsOnBothNodes) {
    EXPECT_EQ(pods_[0]->ipv4, "10.244.1.10");
    EXPECT_EQ(pods_[1]->ipv6, "fd00:244:2::10");
    const ProbeClient client(topology_->client());
    for (const Pod* pod : pods_) {
        for (const bool v6 : {false, true}) {
            const std::string address = v6 ? pod->ipv6 : pod->ipv4;
            const std::string answer =
                fmt::format("{}@{}", pod->name, v6 ? NorthSouthTopology::client_ipv6 : NorthSouthTopology::client_ipv4);
            SCOPED_TRACE(address);
            const auto tcp = client.report({"tcp", "--to", address, "--port", echo_port_text, "--count", "2"});
            EXPECT_EQ(tcp.responses, (Counts{{answer, 2}})) << tcp.output;
            EXPECT_TRUE(tcp.errors.empty()) << tcp.output;
            const auto udp = client.report({"udp", "--to", address, "--port", echo_port_text, "--count", "2"});
            EXPECT_EQ(udp.responses, (Counts{{answer, 2}})) << udp.output;
            EXPECT_EQ(udp.sources, (Counts{{endpoint_text(address, echo_port), 2}})) << udp.output;

            const auto flows = parse_flow_report(client.run({"udp-flows", "--to", address, "--port", echo_port_text,
                                                             "--first-source-port", "45000", "--count", "3"}));
            ASSERT_EQ(flows.flows.size(), 3u) << flows.output;
            for (std::uint16_t port = 45000; port < 45003; ++port) {
                ASSERT_TRUE(flows.flows.at(port).has_value()) << flows.output;
                EXPECT_EQ(flows.flows.at(port)->backend, pod->name);
            }
        }
    }
}

TEST_F(NorthSouthTopologyTest, ServiceAddressesGoToNode1AndNoFurther) {
    // Nothing owns a LoadBalancer address without kpr: node1 has no route
    // for it and answers unreachable, so it never leaves the test's namespaces.
    const ProbeClient client(topology_->client());
    const std::string output =
        client.run({"connect-once", "--to", "203.0.113.10", "--port", "80", "--proto", "tcp"});
    EXPECT_TRUE(output.starts_with("error ENETUNREACH") || output.starts_with("error EHOSTUNREACH")) << output;
    // The probes used by the north-south tests: http-get tells a refused
    // port apart, and bind works where no kpr hook runs.
    const auto refused = parse_http_answer(client.run({"http-get", "--to", pods_[0]->ipv4, "--port", "9"}));
    EXPECT_EQ(refused.status, 0);
    EXPECT_EQ(refused.body, "ECONNREFUSED");
    EXPECT_EQ(ProbeClient(topology_->node1().node()).run({"bind", "--to", "0.0.0.0", "--port", "30080"}), "bound\n");
}

TEST(TestbedTeardown, TopologyAndCgroupLeaveNothingBehind) {
    KPR_REQUIRE_KERNEL_PRIVILEGES();
    sweep_debris();
    std::vector<std::string> names;
    {
        Topology topology("gone");
        names.push_back(topology.node().name());
        names.push_back(topology.add_pod("p1").ns.name());
        names.push_back(topology.add_pod("p2").ns.name());
        for (const auto& name : names)
            EXPECT_TRUE(namespace_exists(name)) << name;
    }
    for (const auto& name : names)
        EXPECT_FALSE(namespace_exists(name)) << name;

    names.clear();
    {
        NorthSouthTopology north_south("gone-ns");
        names = {north_south.client().name(), north_south.node1().node().name(), north_south.node2().node().name(),
                 north_south.node1().add_pod("p1").ns.name(), north_south.node2().add_pod("p2").ns.name()};
        for (const auto& name : names)
            EXPECT_TRUE(namespace_exists(name)) << name;
    }
    for (const auto& name : names)
        EXPECT_FALSE(namespace_exists(name)) << name;

    std::filesystem::path cgroup_path;
    Process sleeper({"sleep", "60"});
    {
        TestCgroup cgroup("gone");
        cgroup_path = cgroup.path();
        cgroup.add_process(sleeper.pid());
        ASSERT_EQ(cgroup.processes(), std::vector<pid_t>{sleeper.pid()});
    }
    EXPECT_FALSE(std::filesystem::exists(cgroup_path)) << cgroup_path;
    EXPECT_EQ(sleeper.wait(5s), 128 + SIGKILL);
}

TEST(TestbedTeardown, SweepRemovesWhatADeadRunLeft) {
    KPR_REQUIRE_KERNEL_PRIVILEGES();
    Process finished({"true"});
    ASSERT_EQ(finished.wait(5s), 0);
    const std::string debris = fmt::format("kprt-{}-sweep", finished.pid());
    const auto cgroup_path = cgroup2_mount() / debris;
    const std::filesystem::path kpr_pins = "/sys/fs/bpf/kpr";
    const bool kpr_pins_existed = std::filesystem::exists(kpr_pins);
    const std::filesystem::path pins = kpr_pins / debris;
    // Should the sweep fail, the debris still goes when the test ends.
    struct Cleanup {
        std::string netns;
        std::filesystem::path cgroup, pins;
        std::optional<std::filesystem::path> made_parent;
        ~Cleanup() {
            try_run({"ip", "netns", "del", netns});
            std::error_code ignored;
            std::filesystem::remove(cgroup, ignored);
            std::filesystem::remove_all(pins, ignored);
            // Only when empty: a kpr instance may have pinned there meanwhile.
            if (made_parent)
                std::filesystem::remove(*made_parent, ignored);
        }
    } cleanup{debris, cgroup_path, pins, kpr_pins_existed ? std::nullopt : std::optional(kpr_pins)};

    run({"ip", "netns", "add", debris});
    Process in_namespace({"nsenter", "--net=/var/run/netns/" + debris, "--", "sleep", "60"});
    std::filesystem::create_directory(cgroup_path);
    Process in_cgroup({"sleep", "60"});
    std::ofstream(cgroup_path / "cgroup.procs") << in_cgroup.pid() << std::flush;
    std::filesystem::create_directories(pins / "maps");
    TestCgroup alive("alive");

    sweep_debris();

    EXPECT_FALSE(namespace_exists(debris));
    EXPECT_FALSE(std::filesystem::exists(cgroup_path));
    EXPECT_FALSE(std::filesystem::exists(pins));
    EXPECT_EQ(in_namespace.wait(5s), 128 + SIGKILL);
    EXPECT_EQ(in_cgroup.wait(5s), 128 + SIGKILL);
    EXPECT_TRUE(std::filesystem::exists(alive.path())) << "the sweep removed a live run's cgroup";
}

} // namespace
} // namespace kpr::testbed
