// North-south traffic end to end (issue 7): an external client reaches
// Services through node1's external interface, where kpr-agent attached
// kpr_from_netdev, with real TCP and UDP in the NorthSouthTopology (two
// local backend pods on node1, two on node2, which only routes). Every
// backend reports the client address it saw, so SNAT (eTP Cluster) and its
// absence (eTP Local) are checked where they matter. Covered: NodePort,
// LoadBalancer IP and ExternalIP on both families; replies carrying the
// service address; eTP Local and its healthCheckNodePort; ClientIP affinity
// and its timeout; Maglev's moved fraction when a backend goes;
// loadBalancerSourceRanges; NetworkPolicy against world on NodePort
// traffic; bind() to a NodePort refused; bad Services reported without
// losing the others; a flow to a deleted backend failing fast.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "testbed/cgroup.hpp"
#include "testbed/debris.hpp"
#include "testbed/k8s_yaml.hpp"
#include "testbed/kpr_agent.hpp"
#include "testbed/north_south.hpp"
#include "testbed/north_south_probe.hpp"
#include "testbed/pinned_map.hpp"
#include "testbed/privileges.hpp"
#include "testbed/probe.hpp"

namespace kpr::testbed {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using NS = NorthSouthTopology;
using Names = std::set<std::string>;

constexpr std::uint16_t backend_port = 8080;
constexpr int service_port = 80;

// Service addresses: announced to nobody, routed to node1 by the client's
// default route.
constexpr std::string_view lb_ipv4 = "203.0.113.10";
constexpr std::string_view lb_ipv6 = "2001:db8:b::10";
constexpr std::string_view external_ipv4 = "203.0.113.20";
constexpr std::string_view external_ipv6 = "2001:db8:e1::20";

// One address and port the client sends to, and what it is.
struct Frontend {
    std::string what;
    std::string address;
    int port;

    std::string port_text() const { return std::to_string(port); }
    bool ipv6() const { return address.find(':') != std::string::npos; }
};


std::string pod_yaml(const Pod& pod, const std::string& node) {
    return testbed::pod_yaml(
        {.name = pod.name, .ipv4 = pod.ipv4, .ipv6 = pod.ipv6, .app = pod.name, .node_name = node, .http_port = backend_port});
}

// A backend as its EndpointSlice lists it.
struct Backend {
    const Pod* pod;
    std::string node;
};

// A Service's ports: TCP and UDP 80 to the backends' 8080, with a NodePort
// when node_port is not 0.
std::vector<ServicePortSpec> service_ports(int node_port) {
    return {{.name = "tcp", .port = service_port, .target_port = "8080", .protocol = "TCP", .node_port = node_port},
            {.name = "udp", .port = service_port, .target_port = "8080", .protocol = "UDP", .node_port = node_port}};
}

// The Service and one EndpointSlice per family.
std::string service_with_backends(ServiceSpec service, const std::vector<Backend>& backends) {
    std::vector<std::string> documents{service_yaml(service)};
    for (const bool v6 : {false, true}) {
        EndpointSliceSpec slice{.name = fmt::format("{}-{}", service.name, v6 ? "v6" : "v4"),
                                .service = service.name,
                                .address_type = v6 ? "IPv6" : "IPv4",
                                .ports = {{"tcp", backend_port, "TCP"}, {"udp", backend_port, "UDP"}},
                                .endpoints = {}};
        for (const Backend& b : backends)
            slice.endpoints.push_back(
                {.address = v6 ? b.pod->ipv6 : b.pod->ipv4, .node_name = b.node});
        documents.push_back(endpoint_slice_yaml(slice));
    }
    return yaml_documents(documents);
}

ServiceSpec node_port_service(const std::string& name, int index, int node_port) {
    return {.name = name,
            .cluster_ips = {fmt::format("10.96.0.{}", index), fmt::format("fd00:96::{}", index)},
            .ports = service_ports(node_port),
            .proxy_name_label = "",
            .type = "NodePort"};
}

// Backends that answered and client addresses they saw, over a probe report.
struct Answers {
    std::map<std::string, int> replies; // as the backends sent them
    std::map<std::string, int> backends;
    Names clients;
    int errors = 0;
    std::string output;
};

Answers answers_of(const ProbeReport& report) {
    Answers a{.replies = report.responses, .backends = {}, .clients = {}, .errors = report.total_errors(),
              .output = report.output};
    for (const auto& [reply, n] : report.responses) {
        const auto answer = split_answer(reply);
        a.backends[answer.backend] += n;
        a.clients.insert(answer.client);
    }
    return a;
}

Answers answers_of(const FlowReport& report) {
    Answers a{.replies = {}, .backends = {}, .clients = {}, .errors = 0, .output = report.output};
    for (const auto& [port, answer] : report.flows) {
        if (!answer) {
            ++a.errors;
            continue;
        }
        ++a.replies[answer->backend + "@" + answer->client];
        ++a.backends[answer->backend];
        a.clients.insert(answer->client);
    }
    return a;
}

Names names_of(const std::map<std::string, int>& counts) {
    Names names;
    for (const auto& [name, n] : counts)
        names.insert(name);
    return names;
}

// Under eTP Cluster: which source address each backend saw, by node.
void expect_cluster_sources(const Answers& answers, bool v6) {
    const std::string node1 = std::string(v6 ? NS::node1_ipv6 : NS::node1_ipv4);
    const std::string client = std::string(v6 ? NS::client_ipv6 : NS::client_ipv4);
    for (const auto& [reply, n] : answers.replies) {
        const auto answer = split_answer(reply);
        const bool remote = answer.backend.starts_with("b");
        EXPECT_EQ(answer.client, remote ? node1 : client)
            << answer.backend << (remote ? " on node2: SNAT to node1" : " on node1: no SNAT") << "\n"
            << answers.output;
    }
}

class NorthSouth : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        sweep_debris();
        topology_.emplace("np");
        for (const char* name : {"a1", "a2"})
            local_.push_back(&topology_->node1().add_pod(name));
        for (const char* name : {"b1", "b2"})
            remote_.push_back(&topology_->node2().add_pod(name));
        std::vector<std::string> pods;
        for (const Pod* pod : local_) {
            servers_.push_back(start_echo_server(pod->ns, pod->name, {backend_port}, true));
            pods.push_back(pod_yaml(*pod, "node1"));
        }
        for (const Pod* pod : remote_) {
            servers_.push_back(start_echo_server(pod->ns, pod->name, {backend_port}, true));
            pods.push_back(pod_yaml(*pod, "node2"));
        }
        cgroup_.emplace("np");
        agent_.emplace("np", fs::path(KPR_NODEPORT_SOCK_OBJECT), cgroup_->path(),
                       PodPolicy{.tc_object = fs::path(KPR_NODEPORT_TC_OBJECT),
                                 .node = &topology_->node1().node(),
                                 .node_name = "node1",
                                 .node_addresses = NS::node1_addresses(),
                                 .external_interfaces = NS::external_interfaces()});
        agent_->write("pods.yaml", yaml_documents(pods));
        const auto synced = agent_->start();
        ASSERT_EQ(sync_field(synced, "problems"), 0) << synced;
        ASSERT_EQ(sync_field(synced, "policy_problems"), 0) << synced;
        client_.emplace(topology_->client());
    }

    std::vector<Backend> all_backends() const {
        return {{local_[0], "node1"}, {local_[1], "node1"}, {remote_[0], "node2"}, {remote_[1], "node2"}};
    }
    std::vector<Backend> local_backends() const { return {{local_[0], "node1"}, {local_[1], "node1"}}; }
    static Names all_names() { return {"a1", "a2", "b1", "b2"}; }

    // Applies a file of Services and slices and checks the sync took them.
    void apply(const std::string& file, const std::string& yaml, int problems = 0) {
        const auto synced = agent_->apply(file, yaml);
        ASSERT_EQ(sync_field(synced, "problems"), problems) << synced;
    }

    Answers tcp(const Frontend& f, int count) const {
        return answers_of(client_->report(
            {"tcp", "--to", f.address, "--port", f.port_text(), "--count", std::to_string(count), "--timeout-ms", "1000"}));
    }
    Answers udp_flows(const Frontend& f, int first_source_port, int count) const {
        return answers_of(parse_flow_report(client_->run({"udp-flows", "--to", f.address, "--port", f.port_text(),
                                                          "--first-source-port", std::to_string(first_source_port),
                                                          "--count", std::to_string(count), "--timeout-ms", "1000"})));
    }
    // One TCP connection: the backend's answer, or the error.
    std::string connect_once(const Frontend& f, std::chrono::milliseconds timeout = 1000ms) const {
        return client_->run({"connect-once", "--to", f.address, "--port", f.port_text(), "--proto", "tcp",
                             "--timeout-ms", std::to_string(timeout.count())});
    }
    HttpAnswer http_get(const std::string& address, int port) const {
        return parse_http_answer(
            client_->run({"http-get", "--to", address, "--port", std::to_string(port), "--timeout-ms", "1000"}));
    }

    static std::string node1_address(bool v6) { return std::string(v6 ? NS::node1_ipv6 : NS::node1_ipv4); }
    static std::string client_address(bool v6) { return std::string(v6 ? NS::client_ipv6 : NS::client_ipv4); }

    std::optional<NorthSouthTopology> topology_;
    std::vector<const Pod*> local_;
    std::vector<const Pod*> remote_;
    std::vector<Process> servers_;
    std::optional<TestCgroup> cgroup_;
    std::optional<KprAgent> agent_;
    std::optional<ProbeClient> client_;
};

// eTP Cluster: every frontend reaches the backends of both nodes, over TCP
// and UDP. node2's backends saw node1's address (SNAT), which is what brings
// their replies back through node1; node1's own pods saw the client (their
// replies pass node1's kpr_from_pod anyway, docs/datapath-nodeport.md).
TEST_F(NorthSouth, NodePortLoadBalancerAndExternalIpReachBackendsOnBothNodes) {
    ServiceSpec web = node_port_service("web", 10, 30080);
    web.type = "LoadBalancer";
    web.load_balancer_ingress = {std::string(lb_ipv4), std::string(lb_ipv6)};
    web.external_ips = {std::string(external_ipv4), std::string(external_ipv6)};
    apply("web.yaml", service_with_backends(web, all_backends()));

    const std::vector<Frontend> frontends{
        {"NodePort", node1_address(false), 30080}, {"NodePort", node1_address(true), 30080},
        {"LoadBalancer", std::string(lb_ipv4), service_port}, {"LoadBalancer", std::string(lb_ipv6), service_port},
        {"ExternalIP", std::string(external_ipv4), service_port}, {"ExternalIP", std::string(external_ipv6), service_port}};
    for (const Frontend& f : frontends) {
        SCOPED_TRACE(fmt::format("{} {}", f.what, endpoint_text(f.address, f.port)));
        // 40 flows over 4 backends: one of them missing has odds of 4 * (3/4)^40, about 4e-5.
        const auto over_tcp = tcp(f, 40);
        EXPECT_EQ(over_tcp.errors, 0) << over_tcp.output;
        EXPECT_EQ(names_of(over_tcp.backends), all_names()) << over_tcp.output;
        expect_cluster_sources(over_tcp, f.ipv6());

        const auto over_udp = udp_flows(f, 41000, 40);
        EXPECT_EQ(over_udp.errors, 0) << over_udp.output;
        EXPECT_EQ(names_of(over_udp.backends), all_names()) << over_udp.output;
        expect_cluster_sources(over_udp, f.ipv6());
    }
}

// The client sees every reply come from the address and port it sent to,
// never from a backend's or node2's: reverse NAT on both paths back.
TEST_F(NorthSouth, RepliesCarryTheServiceAddress) {
    ServiceSpec web = node_port_service("web", 10, 30080);
    web.type = "LoadBalancer";
    web.load_balancer_ingress = {std::string(lb_ipv4), std::string(lb_ipv6)};
    web.external_ips = {std::string(external_ipv4), std::string(external_ipv6)};
    apply("web.yaml", service_with_backends(web, all_backends()));

    for (const Frontend& f : std::vector<Frontend>{{"NodePort", node1_address(false), 30080},
                                                   {"NodePort", node1_address(true), 30080},
                                                   {"LoadBalancer", std::string(lb_ipv4), service_port},
                                                   {"ExternalIP", std::string(external_ipv6), service_port}}) {
        SCOPED_TRACE(fmt::format("{} {}", f.what, endpoint_text(f.address, f.port)));
        // One unconnected socket per run, several runs: flows to either node's backends.
        std::map<std::string, int> sources;
        Names backends;
        for (int run = 0; run < 8; ++run) {
            const auto report = client_->report({"udp", "--to", f.address, "--port", f.port_text(), "--count", "2",
                                                 "--timeout-ms", "1000"});
            EXPECT_EQ(report.total_errors(), 0) << report.output;
            for (const auto& [source, n] : report.sources)
                sources[source] += n;
            for (const auto& [reply, n] : report.responses)
                backends.insert(split_answer(reply).backend);
        }
        EXPECT_EQ(sources, (std::map<std::string, int>{{endpoint_text(f.address, f.port), 16}}));
        EXPECT_GE(backends.size(), 2u) << "the replies came from more than one backend";
    }
}

// eTP Local: only node1's backends answer, and they see the client's own
// address; the health check follows the local endpoint count.
TEST_F(NorthSouth, ExternalTrafficPolicyLocalKeepsTheClientAddressAndUsesOnlyLocalBackends) {
    ServiceSpec local = node_port_service("local", 11, 30082);
    local.type = "LoadBalancer";
    local.load_balancer_ingress = {"203.0.113.12", "2001:db8:b::12"};
    local.external_traffic_policy = "Local";
    local.health_check_node_port = 32082;
    apply("local.yaml", service_with_backends(local, all_backends()));

    for (const Frontend& f : std::vector<Frontend>{{"NodePort", node1_address(false), 30082},
                                                   {"NodePort", node1_address(true), 30082},
                                                   {"LoadBalancer", "203.0.113.12", service_port},
                                                   {"LoadBalancer", "2001:db8:b::12", service_port}}) {
        SCOPED_TRACE(fmt::format("{} {}", f.what, endpoint_text(f.address, f.port)));
        const auto over_tcp = tcp(f, 24);
        EXPECT_EQ(over_tcp.errors, 0) << over_tcp.output;
        EXPECT_EQ(names_of(over_tcp.backends), (Names{"a1", "a2"})) << over_tcp.output;
        EXPECT_EQ(over_tcp.clients, Names{client_address(f.ipv6())}) << "no SNAT\n" << over_tcp.output;

        const auto over_udp = udp_flows(f, 42000, 24);
        EXPECT_EQ(over_udp.errors, 0) << over_udp.output;
        EXPECT_EQ(names_of(over_udp.backends), (Names{"a1", "a2"})) << over_udp.output;
        EXPECT_EQ(over_udp.clients, Names{client_address(f.ipv6())}) << "no SNAT\n" << over_udp.output;
    }
}

// The number after "localEndpoints": in a health check's JSON body; -1 when absent.
int local_endpoints(const std::string& body) {
    const std::string key = "\"localEndpoints\":";
    const auto at = body.find(key);
    if (at == std::string::npos)
        return -1;
    return std::stoi(body.substr(body.find_first_not_of(' ', at + key.size())));
}

TEST_F(NorthSouth, HealthCheckNodePortAnswers200Or503AsLocalEndpointsCome) {
    ServiceSpec local = node_port_service("local", 11, 30082);
    local.external_traffic_policy = "Local";
    local.health_check_node_port = 32082;
    apply("local.yaml", service_with_backends(local, all_backends()));

    // Polls the health check until it reports the expected status, or the deadline passes.
    const auto health_becomes = [&](int status, bool v6) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        HttpAnswer answer;
        do {
            answer = http_get(node1_address(v6), 32082);
            if (answer.status == status)
                break;
        } while (std::chrono::steady_clock::now() < deadline);
        return answer;
    };

    for (const bool v6 : {false, true}) {
        const auto answer = health_becomes(200, v6);
        EXPECT_EQ(answer.status, 200) << answer.body;
        EXPECT_EQ(local_endpoints(answer.body), 2) << answer.body;
        EXPECT_NE(answer.body.find("\"local\""), std::string::npos) << "names the Service: " << answer.body;
    }

    // Only node2's backends left: no local endpoint, 503, and NodePort
    // traffic is a counted drop rather than a flow to another node.
    apply("local.yaml", service_with_backends(local, {{remote_[0], "node2"}, {remote_[1], "node2"}}));
    for (const bool v6 : {false, true}) {
        const auto answer = health_becomes(503, v6);
        EXPECT_EQ(answer.status, 503) << answer.body;
        EXPECT_EQ(local_endpoints(answer.body), 0) << answer.body;
    }
    const auto refused = connect_once({"NodePort", node1_address(false), 30082}, 500ms);
    EXPECT_TRUE(refused.starts_with("error ")) << refused;
    const auto shown = agent_->show();
    EXPECT_GT(shown_count(shown, "no_local_backend: "), 0) << shown;

    // One local backend back: 200 again, with its count.
    apply("local.yaml", service_with_backends(local, {{local_[1], "node1"}, {remote_[0], "node2"}}));
    const auto answer = health_becomes(200, false);
    EXPECT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(local_endpoints(answer.body), 1) << answer.body;
    EXPECT_EQ(connect_once({"NodePort", node1_address(false), 30082}), "ok a2@" + client_address(false) + "\n");

    // The Service gone: nothing listens on its health port any more.
    agent_->remove("local.yaml");
    agent_->next_sync();
    const auto gone = http_get(node1_address(false), 32082);
    EXPECT_EQ(gone.status, 0) << gone.body;
}

// ClientIP affinity on the external path: every new connection of the
// client goes to one backend while it keeps coming within the timeout;
// once it has been idle longer, a new connection may pick anew.
TEST_F(NorthSouth, ClientIpAffinityHoldsForItsTimeoutAndExpiresAfterIt) {
    constexpr auto affinity_timeout = 2s;
    ServiceSpec sticky = node_port_service("sticky", 12, 30083);
    sticky.session_affinity = "ClientIP";
    sticky.affinity_timeout_seconds = static_cast<int>(affinity_timeout.count());
    apply("sticky.yaml", service_with_backends(sticky, all_backends()));
    const Frontend f{"NodePort", node1_address(false), 30083};

    // 20 connections from 20 source ports: without affinity, Maglev would
    // spread them over the four backends.
    const auto first = tcp(f, 20);
    ASSERT_EQ(first.errors, 0) << first.output;
    ASSERT_EQ(first.backends.size(), 1u) << first.output;
    const std::string chosen = first.backends.begin()->first;

    // Idle for half the timeout: still the same backend.
    std::this_thread::sleep_for(affinity_timeout / 2);
    const auto within = tcp(f, 10);
    EXPECT_EQ(within.backends, (std::map<std::string, int>{{chosen, 10}})) << within.output;

    // Idle past the timeout, then one connection: the entry has expired, so
    // the choice is the hash's again, another backend three times in four.
    // Waiting is the point here (the timeout is what is tested), not a
    // stand-in for synchronisation; six rounds miss a change with odds 4^-6.
    std::string after;
    for (int round = 0; round < 6 && (after.empty() || after == chosen); ++round) {
        std::this_thread::sleep_for(affinity_timeout + 500ms);
        const auto one = tcp(f, 1);
        ASSERT_EQ(one.errors, 0) << one.output;
        after = one.backends.begin()->first;
    }
    EXPECT_NE(after, chosen) << "the affinity never expired";
}

// Maglev: removing one of N backends moves the flows that were on it and
// few others. The same 600 UDP flows (fixed source ports) are replayed with
// the NAT table emptied in between, so each replay is the data path's
// backend choice afresh.
TEST_F(NorthSouth, MaglevMovesAboutOneNthOfFlowsWhenOneOfNBackendsGoes) {
    constexpr int flows = 600;
    constexpr int first_port = 43000;
    ServiceSpec maglev = node_port_service("maglev", 13, 30084);
    apply("maglev.yaml", service_with_backends(maglev, all_backends()));
    const Frontend f{"NodePort", node1_address(false), 30084};
    const auto nat = pinned_map_path(agent_->instance(), "kpr_nat4");

    const auto choices = [&] {
        clear_pinned_map(nat);
        const auto report = parse_flow_report(client_->run({"udp-flows", "--to", f.address, "--port", f.port_text(),
                                                            "--first-source-port", std::to_string(first_port),
                                                            "--count", std::to_string(flows), "--timeout-ms", "1000"}));
        std::map<std::uint16_t, std::string> backend_of;
        for (const auto& [port, answer] : report.flows)
            if (answer)
                backend_of[port] = answer->backend;
        EXPECT_EQ(backend_of.size(), static_cast<std::size_t>(flows)) << report.output;
        return backend_of;
    };

    const auto before = choices();
    std::map<std::string, int> share;
    for (const auto& [port, backend] : before)
        ++share[backend];
    EXPECT_EQ(names_of(share), all_names());
    for (const auto& [backend, n] : share)
        EXPECT_GT(n, flows / 4 / 2) << backend << " got " << n << " of " << flows << " flows";
    EXPECT_EQ(choices(), before) << "the same flows pick the same backends again";

    const std::string gone = "b2";
    apply("maglev.yaml", service_with_backends(maglev, {{local_[0], "node1"}, {local_[1], "node1"}, {remote_[0], "node2"}}));
    const auto after = choices();
    int moved = 0;
    int survivors = 0;
    int survivors_moved = 0;
    for (const auto& [port, backend] : before) {
        const auto now = after.find(port);
        if (now == after.end())
            continue;
        EXPECT_NE(now->second, gone);
        moved += now->second != backend;
        if (backend != gone) {
            ++survivors;
            survivors_moved += now->second != backend;
        }
    }
    const double moved_fraction = static_cast<double>(moved) / flows;
    const double survivors_moved_fraction = static_cast<double>(survivors_moved) / std::max(survivors, 1);
    RecordProperty("maglev_moved_fraction", fmt::format("{:.4f}", moved_fraction));
    RecordProperty("maglev_survivors_moved_fraction", fmt::format("{:.4f}", survivors_moved_fraction));
    fmt::print("Maglev, 4 -> 3 backends, {} flows: moved {:.4f} of all flows (ideal 0.25), {:.4f} of the flows on "
               "remaining backends (ideal 0)\n",
               flows, moved_fraction, survivors_moved_fraction);
    // The removed backend's quarter must move; Maglev's table keeps almost
    // every other flow where it was (a few percent of slots change hands).
    EXPECT_GE(moved_fraction, 0.25 * 0.6);
    EXPECT_LE(moved_fraction, 0.25 + 0.05);
    EXPECT_LE(survivors_moved_fraction, 0.05);
}

// A LoadBalancer IP with loadBalancerSourceRanges admits only clients in
// them; the same Service's NodePort is not restricted (as kube-proxy).
TEST_F(NorthSouth, LoadBalancerSourceRangesDenyClientsOutsideThem) {
    ServiceSpec ranged = node_port_service("ranged", 14, 30088);
    ranged.type = "LoadBalancer";
    ranged.load_balancer_ingress = {"203.0.113.30", "2001:db8:b::30"};
    ranged.load_balancer_source_ranges = {"192.0.2.0/24", "2001:db8:ff::/64"};
    ServiceSpec open = node_port_service("open", 15, 30089);
    open.type = "LoadBalancer";
    open.load_balancer_ingress = {"203.0.113.31", "2001:db8:b::31"};
    open.load_balancer_source_ranges = {"198.51.100.0/24", "2001:db8:5::/64"};
    apply("ranges.yaml", yaml_documents({service_with_backends(ranged, all_backends()),
                                         service_with_backends(open, all_backends())}));

    const std::vector<ReachProbe> probes{{"tcp", "203.0.113.30", service_port}, {"tcp", "2001:db8:b::30", service_port},
                                         {"udp", "203.0.113.30", service_port}, {"tcp", "203.0.113.31", service_port},
                                         {"tcp", "2001:db8:b::31", service_port}, {"tcp", node1_address(false), 30088},
                                         {"udp", node1_address(true), 30088}};
    const std::vector<bool> expected{false, false, false, true, true, true, true};
    auto reach = client_->spawn(reach_mode(probes, 1000ms));
    const auto outcomes = read_reach_report(reach, probes, 1000ms);
    for (std::size_t i = 0; i < probes.size(); ++i)
        EXPECT_EQ(outcomes[i].reached, expected[i]) << probes[i].str() << ": " << outcomes[i].detail;
    const auto shown = agent_->show();
    EXPECT_GE(shown_count(shown, "source_range_denied: "), 3) << shown;
}

// A NetworkPolicy that admits only pods (so not world) to a1 stops
// NodePort traffic to a1 after DNAT; a2, not selected, stays reachable.
TEST_F(NorthSouth, APolicyDenyingWorldBlocksNodePortTrafficToThatPodOnly) {
    apply("split.yaml", yaml_documents({service_with_backends(node_port_service("to-a1", 16, 30085), {{local_[0], "node1"}}),
                                        service_with_backends(node_port_service("to-a2", 17, 30086), {{local_[1], "node1"}})}));
    std::vector<ReachProbe> probes;
    for (const bool v6 : {false, true})
        for (const int port : {30085, 30086})
            probes.push_back({"tcp", node1_address(v6), static_cast<std::uint16_t>(port)});
    const auto reached = [&] {
        auto reach = client_->spawn(reach_mode(probes, 1000ms));
        std::vector<bool> r;
        for (const auto& o : read_reach_report(reach, probes, 1000ms))
            r.push_back(o.reached);
        return r;
    };
    EXPECT_EQ(reached(), (std::vector<bool>{true, true, true, true})) << "no policy yet";

    const auto synced = agent_->apply("policy.yaml", R"(apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: pods-only
  namespace: default
spec:
  podSelector:
    matchLabels: {app: a1}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {}
)");
    ASSERT_EQ(sync_field(synced, "policy_problems"), 0) << synced;
    EXPECT_EQ(reached(), (std::vector<bool>{false, true, false, true})) << "world denied to a1 only";
    const auto shown = agent_->show();
    EXPECT_GT(shown_count(shown, "policy_denied_ingress: "), 0) << shown;
}

// The bind4/6 hooks keep a NodePort from a local process in the agent's
// cgroup on node1: any address, both protocols, both families.
TEST_F(NorthSouth, BindToANodePortFailsWithEaddrinuse) {
    apply("web.yaml", service_with_backends(node_port_service("web", 10, 30080), all_backends()));
    const ProbeClient local(topology_->node1().node(), *cgroup_);
    const auto bind = [&](const std::string& address, int port, const std::string& proto) {
        return local.run({"bind", "--to", address, "--port", std::to_string(port), "--proto", proto});
    };
    for (const std::string proto : {"tcp", "udp"}) {
        for (const std::string& address : std::vector<std::string>{"0.0.0.0", "::", std::string(NS::node1_ipv4), "127.0.0.1"})
            EXPECT_EQ(bind(address, 30080, proto), "error EADDRINUSE\n") << proto << " " << address;
        EXPECT_EQ(bind("0.0.0.0", 30081, proto), "bound\n") << "not a NodePort";
    }
    agent_->remove("web.yaml");
    agent_->next_sync();
    EXPECT_EQ(bind("0.0.0.0", 30080, "tcp"), "bound\n") << "the Service is gone";
}

// Bad Services are reported by name and cause, and everything else stays
// programmed: a NodePort out of range, one claimed twice (the Service
// sorting first keeps it), a LoadBalancer without ingress IPs (its
// NodePort still works).
TEST_F(NorthSouth, BadServicesAreReportedAndOthersStayProgrammed) {
    apply("web.yaml", service_with_backends(node_port_service("web", 10, 30080), all_backends()));
    ServiceSpec pending = node_port_service("pending", 20, 30090);
    pending.type = "LoadBalancer";
    const std::string bad = yaml_documents({service_with_backends(node_port_service("out-of-range", 21, 20000), all_backends()),
                                            service_with_backends(node_port_service("zz-duplicate", 22, 30080), all_backends()),
                                            service_with_backends(pending, all_backends())});
    const auto synced = agent_->apply("bad.yaml", bad);
    EXPECT_GE(sync_field(synced, "problems"), 3) << synced;

    const auto check_programmed = [&] {
        // 40 connections: a backend missing by chance has odds of 4 * (3/4)^40.
        const auto web = tcp({"NodePort", node1_address(false), 30080}, 40);
        EXPECT_EQ(web.errors, 0) << web.output;
        EXPECT_EQ(names_of(web.backends), all_names()) << "web keeps its NodePort\n" << web.output;
        const auto lb = tcp({"NodePort", node1_address(true), 30090}, 4);
        EXPECT_EQ(lb.errors, 0) << "the pending LoadBalancer's NodePort\n" << lb.output;
        const auto out_of_range = connect_once({"NodePort", node1_address(false), 20000}, 500ms);
        EXPECT_TRUE(out_of_range.starts_with("error ")) << out_of_range;
    };
    check_programmed();

    // The same input once more with the agent stopped (the data path stays),
    // to read the diagnostics it logs: each names its Service and cause.
    agent_->stop();
    const auto once = agent_->run_once();
    EXPECT_EQ(once.exit_code, 2) << once.errors;
    for (const std::string expected : {"out-of-range", "20000", "zz-duplicate", "pending"})
        EXPECT_NE(once.errors.find(expected), std::string::npos) << "no \"" << expected << "\" in\n" << once.errors;
    check_programmed();
}

// A held TCP connection whose backend leaves the Service fails at once on
// its next segment (its NAT entries are gone, the segment meets another
// backend's RST) instead of hanging until the client gives up.
TEST_F(NorthSouth, AFlowToADeletedBackendFailsFast) {
    apply("fast.yaml", service_with_backends(node_port_service("fast", 23, 30087), {{local_[0], "node1"}, {remote_[0], "node2"}}));
    auto hold = client_->spawn({"hold", "--to", node1_address(false), "--port", "30087", "--timeout-ms", "5000"});
    ASSERT_TRUE(hold.expect_line("connected ", 5s).starts_with("connected "));
    hold.write_line("ping");
    const auto pong = hold.read_line(5s).value_or("(no reply)");
    ASSERT_TRUE(pong.starts_with("pong ")) << pong;
    const std::string held = split_answer(pong.substr(5, pong.find(' ', 5) - 5)).backend;
    const Backend stays = held == "a1" ? Backend{remote_[0], "node2"} : Backend{local_[0], "node1"};
    apply("fast.yaml", service_with_backends(node_port_service("fast", 23, 30087), {stays}));

    const auto start = std::chrono::steady_clock::now();
    hold.write_line("ping");
    const auto after = hold.read_line(8s).value_or("(no reply)");
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    EXPECT_TRUE(after.starts_with("error ")) << "the held connection to " << held << " still answers: " << after;
    EXPECT_LT(elapsed, 2s) << "failed only after " << elapsed.count() << " ms: " << after;
    // New connections reach the backend that stayed.
    const auto fresh = tcp({"NodePort", node1_address(false), 30087}, 4);
    EXPECT_EQ(names_of(fresh.backends), Names{stays.pod->name}) << fresh.output;
}

} // namespace
} // namespace kpr::testbed
