// The socket hooks' part of issue 7, in this kernel: the bind4/bind6 hooks
// refuse a local bind() to a NodePort (kpr_nodeport) with EADDRINUSE, and
// connect/sendmsg keep a client on one backend of a ClientIP-affinity
// frontend (kpr_affinity) until the entry expires or the backend goes.
// kpr-agent loads and attaches the data path and programs the Services;
// the NodePorts and the frontends' affinity are written into the pinned
// maps here, as the agent's NodePort sync would write them.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <time.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "kpr/layout/maps.hpp"
#include "kpr/runtime/instance_paths.hpp"
#include "kpr/runtime/map.hpp"
#include "kpr/runtime/unique_fd.hpp"
#include "testbed/cgroup.hpp"
#include "testbed/debris.hpp"
#include "testbed/k8s_yaml.hpp"
#include "testbed/kpr_agent.hpp"
#include "testbed/privileges.hpp"
#include "testbed/probe.hpp"
#include "testbed/topology.hpp"

namespace kpr::testbed {
namespace {

namespace fs = std::filesystem;
using runtime::Map;

constexpr const char* vip4 = "10.96.0.10";
constexpr const char* vip6 = "fd00:96::10";
constexpr std::uint8_t tcp_proto = IPPROTO_TCP;
constexpr std::uint8_t udp_proto = IPPROTO_UDP;

std::uint64_t monotonic_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now); // bpf_ktime_get_ns()'s clock
    return static_cast<std::uint64_t>(now.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(now.tv_nsec);
}

template <class Key, class Value> Map<Key, Value> pinned(const KprAgent& agent, const layout::MapSpec<Key, Value>& spec) {
    const auto path = runtime::InstancePaths(agent.instance(), runtime::default_bpffs).map(spec.name);
    runtime::UniqueFd fd(::bpf_obj_get(path.c_str()));
    if (!fd)
        throw std::runtime_error("cannot open " + path.string());
    return Map<Key, Value>(spec, fd.get());
}

layout::ServiceKey4 frontend4(const char* address, std::uint16_t port, std::uint8_t proto) {
    in_addr a{};
    ::inet_pton(AF_INET, address, &a);
    return {layout::be32::from_network(a.s_addr), layout::be16::from_host(port), proto, 0, 0, 0};
}

layout::ServiceKey6 frontend6(const char* address, std::uint16_t port, std::uint8_t proto) {
    in6_addr a{};
    ::inet_pton(AF_INET6, address, &a);
    layout::ServiceKey6 key{};
    for (std::size_t i = 0; i < key.address.size(); ++i)
        key.address[i] = layout::be32::from_network(a.s6_addr32[i]);
    key.port = layout::be16::from_host(port);
    key.proto = proto;
    return key;
}

class SocketNodePort : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        sweep_debris();
        topology_.emplace("snp");
        client_ = &topology_->add_pod("client");
        for (const char* name : {"b1", "b2", "b3"})
            servers_.push_back(start_echo_server(topology_->add_pod(name).ns, name, {8080}));
        cgroup_.emplace("snp");
        agent_.emplace("snp", KPR_SOCK_NODEPORT_OBJECT, cgroup_->path());
        agent_->start();
        probe_.emplace(client_->ns, *cgroup_);
    }

    // Service web: TCP and UDP port 80 to 8080, on both families.
    std::string web_on(const std::vector<std::string>& names) const {
        std::vector<EndpointSpec> v4, v6;
        for (const auto& n : names) {
            v4.push_back({topology_->pod(n).ipv4});
            v6.push_back({topology_->pod(n).ipv6});
        }
        const std::vector<SlicePortSpec> ports{{"http", 8080}, {"echo", 8080, "UDP"}};
        ServiceSpec web;
        web.name = "web";
        web.cluster_ips = {vip4, vip6};
        web.ports = {{"http", 80, "8080"}, {"echo", 80, "8080", "UDP"}};
        return yaml_documents({service_yaml(web),
                               endpoint_slice_yaml({"web-v4", "web", "IPv4", ports, v4}),
                               endpoint_slice_yaml({"web-v6", "web", "IPv6", ports, v6})});
    }

    std::string bind(const std::string& address, int port, const std::string& proto, bool in_cgroup = true) const {
        const std::vector<std::string> mode{"bind", "--to", address, "--port", std::to_string(port), "--proto", proto};
        return in_cgroup ? probe_->run(mode) : ProbeClient(client_->ns).run(mode);
    }

    void set_node_port(std::uint16_t port, std::uint8_t proto) const {
        pinned(*agent_, layout::node_ports).update({layout::be16::from_host(port), proto, 0}, {1});
    }

    // Turns ClientIP affinity on for a frontend, as the agent's sync writes slot 0.
    template <class Key> void set_affinity(const layout::MapSpec<Key, layout::ServiceValue>& spec, const Key& key,
                                           std::uint32_t seconds) const {
        auto services = pinned(*agent_, spec);
        auto slot0 = services.lookup(key);
        ASSERT_TRUE(slot0.has_value());
        slot0->flags |= layout::service_flag_affinity;
        slot0->affinity_seconds = seconds;
        services.update(key, *slot0);
    }

    // The backend id of a pod's IPv4 address for TCP.
    std::uint32_t backend_id(const std::string& pod) const {
        std::uint32_t found = 0;
        in_addr a{};
        ::inet_pton(AF_INET, topology_->pod(pod).ipv4.c_str(), &a);
        pinned(*agent_, layout::backends4).for_each([&](const layout::BackendKey& k, const layout::Backend4& b) {
            if (b.address.raw == a.s_addr && b.proto == tcp_proto)
                found = k.backend_id;
        });
        return found;
    }

    // The client's one affinity entry for a frontend (the test's instance has no other client).
    std::optional<std::pair<layout::AffinityKey, layout::AffinityValue>> affinity_entry(std::uint16_t rev_nat_id) const {
        std::optional<std::pair<layout::AffinityKey, layout::AffinityValue>> entry;
        pinned(*agent_, layout::affinity).for_each([&](const layout::AffinityKey& k, const layout::AffinityValue& v) {
            if (k.rev_nat_id == rev_nat_id && k.family == 4)
                entry.emplace(k, v);
        });
        return entry;
    }

    // Turns affinity on for web's IPv4 TCP frontend, makes the client's
    // entry with one connection, and returns its key.
    layout::AffinityKey first_affinity_entry(std::uint32_t seconds) const {
        const auto key = frontend4(vip4, 80, tcp_proto);
        set_affinity(layout::services4, key, seconds);
        EXPECT_EQ(tcp(vip4, 1).total_responses(), 1);
        const auto entry = affinity_entry(rev_nat_id(key));
        if (!entry)
            throw std::runtime_error("one connection left no affinity entry");
        return entry->first;
    }

    // Rewrites the client's entry: it names a pod's backend and was last used `age_ns` ago.
    layout::AffinityValue point_entry(const layout::AffinityKey& key, const std::string& pod,
                                      std::uint64_t age_ns = 0) const {
        const layout::AffinityValue value{monotonic_ns() - age_ns, backend_id(pod), {}};
        pinned(*agent_, layout::affinity).update(key, value);
        return value;
    }

    std::uint16_t rev_nat_id(const layout::ServiceKey4& key) const {
        return pinned(*agent_, layout::services4).lookup(key).value().rev_nat_id;
    }

    ProbeReport tcp(const std::string& to, int count) const {
        return probe_->report({"tcp", "--to", to, "--port", "80", "--count", std::to_string(count)});
    }

    std::optional<Topology> topology_;
    const Pod* client_ = nullptr;
    std::vector<Process> servers_;
    std::optional<TestCgroup> cgroup_;
    std::optional<KprAgent> agent_;
    std::optional<ProbeClient> probe_;
};

TEST_F(SocketNodePort, BindToANodePortIsRefusedOnEveryAddressAndOtherPortsBind) {
    set_node_port(30080, tcp_proto);
    set_node_port(30081, udp_proto);
    EXPECT_EQ(bind("0.0.0.0", 30080, "tcp"), "error EADDRINUSE\n");
    EXPECT_EQ(bind(client_->ipv4, 30080, "tcp"), "error EADDRINUSE\n");
    EXPECT_EQ(bind("::", 30080, "tcp"), "error EADDRINUSE\n");
    EXPECT_EQ(bind(client_->ipv6, 30080, "tcp"), "error EADDRINUSE\n");
    EXPECT_EQ(bind("0.0.0.0", 30081, "udp"), "error EADDRINUSE\n");
    EXPECT_EQ(bind("::", 30081, "udp"), "error EADDRINUSE\n");
    // Another port, the other protocol, or an ephemeral port: not a NodePort.
    EXPECT_EQ(bind("0.0.0.0", 30082, "tcp"), "bound\n");
    EXPECT_EQ(bind("0.0.0.0", 30080, "udp"), "bound\n");
    EXPECT_EQ(bind("0.0.0.0", 30081, "tcp"), "bound\n");
    EXPECT_EQ(bind("::", 0, "tcp"), "bound\n");
    // Only processes in the cgroup the hooks are attached to are concerned.
    EXPECT_EQ(bind("0.0.0.0", 30080, "tcp", false), "bound\n");
    // The port is free again once no Service has it.
    pinned(*agent_, layout::node_ports).erase({layout::be16::from_host(30080), tcp_proto, 0});
    EXPECT_EQ(bind("0.0.0.0", 30080, "tcp"), "bound\n");
}

TEST_F(SocketNodePort, AffinityKeepsAClientOnOneBackendOnEveryPath) {
    agent_->apply("web.yaml", web_on({"b1", "b2", "b3"}));
    // Without affinity the spread reaches every backend.
    ASSERT_EQ(tcp(vip4, 60).responses.size(), 3u);

    set_affinity(layout::services4, frontend4(vip4, 80, tcp_proto), 3600);
    set_affinity(layout::services4, frontend4(vip4, 80, udp_proto), 3600);
    set_affinity(layout::services6, frontend6(vip6, 80, tcp_proto), 3600);
    const auto r = tcp(vip4, 200);
    EXPECT_EQ(r.total_responses(), 200) << r.output;
    EXPECT_EQ(r.responses.size(), 1u) << r.output;
    const auto r6 = tcp(vip6, 100);
    EXPECT_EQ(r6.total_responses(), 100) << r6.output;
    EXPECT_EQ(r6.responses.size(), 1u) << r6.output;
    // sendmsg() balances every datagram of an unconnected socket on its own.
    const auto u = probe_->report({"udp", "--to", vip4, "--port", "80", "--count", "60"});
    EXPECT_EQ(u.total_responses(), 60) << u.output;
    EXPECT_EQ(u.responses.size(), 1u) << u.output;
    // An IPv4-mapped address on an IPv6 socket is the same client of the same frontend.
    const auto mapped = probe_->report({"tcp", "--to", vip4, "--port", "80", "--count", "50", "--v4mapped"});
    EXPECT_EQ(mapped.responses.size(), 1u) << mapped.output;
    EXPECT_EQ(mapped.responses.begin()->first, r.responses.begin()->first) << mapped.output;
}

TEST_F(SocketNodePort, AnAffinityEntryIsFollowedUntilItExpires) {
    agent_->apply("web.yaml", web_on({"b1", "b2", "b3"}));
    const auto client = first_affinity_entry(5);
    auto affinity = pinned(*agent_, layout::affinity);

    // A fresh entry naming b2 sends every connection to b2 and stays fresh.
    const auto fresh = point_entry(client, "b2");
    EXPECT_EQ(tcp(vip4, 50).responses, (std::map<std::string, int>{{"b2", 50}}));
    const auto used = affinity.lookup(client);
    ASSERT_TRUE(used.has_value());
    EXPECT_GE(used->last_used_ns, fresh.last_used_ns);

    // Past the timeout it no longer counts: a new backend is drawn (b2 again
    // one time in three; twenty expiries in a row all landing on b2 happen
    // once in 3.5 billion runs) and remembered.
    std::map<std::string, int> after_expiry;
    for (int i = 0; i < 20 && after_expiry.size() < 2; ++i) {
        const auto expired = point_entry(client, "b2", 6'000'000'000ULL);
        const auto r = tcp(vip4, 1);
        ASSERT_EQ(r.total_responses(), 1) << r.output;
        ++after_expiry[r.responses.begin()->first];
        const auto renewed = affinity.lookup(client);
        ASSERT_TRUE(renewed.has_value());
        EXPECT_EQ(renewed->backend_id, backend_id(r.responses.begin()->first));
        EXPECT_GT(renewed->last_used_ns, expired.last_used_ns);
    }
    EXPECT_EQ(after_expiry.size(), 2u);
}

TEST_F(SocketNodePort, AnAffinityEntryToAGoneBackendIsNotFollowed) {
    agent_->apply("web.yaml", web_on({"b1", "b2", "b3"}));
    const auto client = first_affinity_entry(3600);
    point_entry(client, "b3");
    ASSERT_EQ(tcp(vip4, 20).responses, (std::map<std::string, int>{{"b3", 20}}));

    // b3 leaves the Service; the agent deletes it from the backends.
    agent_->apply("web.yaml", web_on({"b1", "b2"}));
    set_affinity(layout::services4, frontend4(vip4, 80, tcp_proto), 3600);
    const auto r = tcp(vip4, 50);
    EXPECT_EQ(r.total_responses(), 50) << r.output;
    EXPECT_EQ(r.responses.count("b3"), 0u) << r.output;
    EXPECT_EQ(r.responses.size(), 1u) << "the new choice sticks: " << r.output;
}

} // namespace
} // namespace kpr::testbed
