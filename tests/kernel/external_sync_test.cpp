// The agent's north-south half against the kernel, in a test bed node: the
// socket and TC objects of a schema with nodeIngress, Maglev, affinity and
// bind loaded under a test instance, the sync engine programming them from
// Services and EndpointSlices, and everything read back through the pins —
// slot 0's flags, the Maglev table, source ranges, kpr_nodeport,
// kpr_nodeaddr; a gone backend's NAT entries deleted with it; the
// healthCheckNodePort answering 200 then 503 as the local endpoints go;
// kpr_from_netdev attached to a test-made interface, replaced in place by a
// restarted agent and removed by `down`.
#include <bpf/bpf.h>

#include <filesystem>
#include <optional>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kpr/k8s/api/api_client.hpp"
#include "kpr/runtime/cgroup_attachment.hpp"
#include "kpr/runtime/health_check_node_ports.hpp"
#include "kpr/runtime/pod_datapath.hpp"
#include "kpr/sync/load_balancer_tables.hpp"
#include "kpr/sync/sync_engine.hpp"
#include "k8s_test_data.hpp"
#include "testbed/debris.hpp"
#include "testbed/inside_netns.hpp"
#include "testbed/privileges.hpp"
#include "testbed/topology.hpp"

namespace kpr::runtime {
namespace {

namespace fs = std::filesystem;

// The node's address: the test bed's gateway address, on the node's lo.
const std::string node_address(testbed::Topology::gateway_ipv4);

std::string services_yaml(std::string_view endpoints) {
    return fmt::format(R"(apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.20
  ports: [{{name: http, port: 80, nodePort: 30080}}]
  loadBalancerSourceRanges: [198.51.100.0/24]
  externalTrafficPolicy: Local
  healthCheckNodePort: 32080
  sessionAffinity: ClientIP
  sessionAffinityConfig: {{clientIP: {{timeoutSeconds: 300}}}}
status:
  loadBalancer: {{ingress: [{{ip: 203.0.113.50}}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-v4
  namespace: shop
  labels: {{kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{{name: http, port: 8080}}]
endpoints:
{})",
                       endpoints);
}

constexpr std::string_view two_local = R"(- {addresses: [10.244.1.5], nodeName: node-a}
- {addresses: [10.244.1.6], nodeName: node-a}
- {addresses: [10.244.2.7], nodeName: node-b}
)";
constexpr std::string_view one_local = R"(- {addresses: [10.244.1.5], nodeName: node-a}
- {addresses: [10.244.2.7], nodeName: node-b}
)";
constexpr std::string_view none_local = R"(- {addresses: [10.244.2.7], nodeName: node-b}
)";

k8s::ClusterState state_of(std::string_view endpoints) {
    return k8s::test_data::cluster_state(services_yaml(endpoints));
}

class ExternalSync : public ::testing::Test {
  protected:
    void SetUp() override {
        KPR_REQUIRE_KERNEL_PRIVILEGES();
        testbed::sweep_debris();
        topology_.emplace("xsync");
        topology_->node().ip({"link", "add", "kprext0", "type", "veth", "peer", "name", "kprext1"});
        topology_->node().ip({"link", "set", "kprext0", "up"});
        pins_.emplace(testbed::test_object_name("xsync"), default_bpffs);
    }

    void TearDown() override {
        if (pins_ && fs::exists(pins_->root()))
            fs::remove_all(pins_->root());
    }

    // A pinned map of the instance, read on its own.
    template <class Key, class Value> Map<Key, Value> pinned(const layout::MapSpec<Key, Value>& spec) const {
        const UniqueFd fd(bpf_obj_get(pins_->map(spec.name).c_str()));
        if (!fd)
            throw Error(fmt::format("{}: {}", pins_->map(spec.name).string(), errno_text(errno)));
        return Map<Key, Value>(spec, fd.get());
    }

    std::optional<testbed::Topology> topology_;
    std::optional<InstancePaths> pins_;
};

struct Answer {
    long status;
    std::string body;
};

Answer health_check(std::uint16_t port) {
    k8s::api::ApiConfig config;
    config.server = fmt::format("http://{}:{}", node_address, port);
    k8s::api::ApiClient client(config);
    const auto r = client.get("/", std::chrono::seconds(5));
    return {r.status, r.body};
}

TEST_F(ExternalSync, MapsReadBackBackendsLeaveWithTheirFlowsAndTheHealthCheckFollows) {
    const testbed::InsideNetns inside(topology_->node());
    const auto object = DatapathObject::load(KPR_NODEPORT_SOCK_OBJECT, *pins_);
    PodDatapath pods(KPR_NODEPORT_TC_OBJECT, *pins_, {"node-a", {*net::Address::parse(node_address)}, {}});
    const auto& built = object.manifest();
    ASSERT_EQ(built.backend_selection, schema::BackendSelection::maglev);
    sync::LoadBalancerTables tables(
        [&](std::string_view name) {
            const int fd = object.map_fd(name);
            return fd >= 0 ? fd : pods.map_fd(name);
        },
        {true, built.maglev_table_size, built.maglev_tables});
    ASSERT_TRUE(tables.set_node_addresses({*net::Address::parse(node_address)}));
    sync::SyncCounters counters;
    sync::SyncEngine engine(tables.programmer(), {"", "node-a", {*net::Address::parse(node_address)}, {}}, counters);
    HealthCheckNodePorts health({*net::Address::parse(node_address)});
    const auto sync_to = [&](std::string_view endpoints) {
        const auto result = engine.sync(state_of(endpoints), {true, {}, {sync::Clock::now()}}, sync::ApplyScope::everything);
        EXPECT_TRUE(result.report.problems.empty()) << result.report.problems.front().str();
        std::vector<ServiceHealth> wanted;
        for (const auto& [service, check] : engine.health_checks())
            wanted.push_back({service, check.port, check.local_endpoints});
        EXPECT_EQ(health.update(wanted), std::vector<std::string>{});
    };
    sync_to(two_local);

    // Slot 0 of each frontend, through the pins.
    const auto services = pinned(layout::services4);
    const auto backends = pinned(layout::backends4);
    const auto head = [&](const char* address, std::uint16_t port) {
        const auto v = services.lookup(
            sync::service_key<sync::Ipv4Maps>({*net::Address::parse(address), port, k8s::Protocol::TCP}, 0));
        EXPECT_TRUE(v) << address << ":" << port;
        return v.value_or(layout::ServiceValue{});
    };
    const auto cluster = head("10.96.0.20", 80);
    EXPECT_EQ(cluster.count, 3);
    EXPECT_EQ(cluster.flags, layout::service_flag_affinity);
    const auto node_port = head(node_address.c_str(), 30080);
    EXPECT_EQ(node_port.count, 2) << "eTP Local: node-a's two endpoints";
    EXPECT_EQ(node_port.flags, layout::service_flag_external | layout::service_flag_local_only |
                                   layout::service_flag_maglev | layout::service_flag_affinity);
    EXPECT_EQ(node_port.affinity_seconds, 300u);
    const auto balancer = head("203.0.113.50", 80);
    EXPECT_TRUE(balancer.flags & layout::service_flag_source_ranges);

    // The NodePort's Maglev table: every slot a local backend, both used.
    const auto maglev = pinned(layout::maglev_tables);
    std::map<std::string, std::size_t> share;
    for (std::uint32_t s = 0; s < built.maglev_table_size; ++s) {
        const auto id = maglev.lookup({node_port.maglev_table * built.maglev_table_size + s})->backend_id;
        const auto b = backends.lookup({id});
        ASSERT_TRUE(b) << "slot " << s << " names backend " << id;
        ++share[sync::Ipv4Maps::from_layout(b->address).str()];
    }
    EXPECT_EQ(share.size(), 2u);
    EXPECT_TRUE(share.contains("10.244.1.5") && share.contains("10.244.1.6"));

    // The source range under the load-balancer frontend's rev_nat_id.
    std::vector<std::string> ranges;
    pinned(layout::source_ranges4).for_each([&](const layout::SourceRangeKey4& k, const layout::SourceRangeValue&) {
        ranges.push_back(fmt::format("{} {}/{}", k.rev_nat_id, sync::Ipv4Maps::from_layout(k.address).str(),
                                     k.prefixlen - layout::source_range_prefix_bits));
    });
    EXPECT_EQ(ranges, std::vector<std::string>{fmt::format("{} 198.51.100.0/24", balancer.rev_nat_id)});

    const auto node_ports = pinned(layout::node_ports);
    const auto held = node_ports.lookup({layout::be16::from_host(30080), 6, 0});
    ASSERT_TRUE(held);
    EXPECT_EQ(held->services, 1u);
    const auto snat = pinned(layout::node_addresses).lookup({layout::node_address_ipv4});
    ASSERT_TRUE(snat);
    EXPECT_EQ(sync::Ipv4Maps::from_layout(snat->address[0]).str(), node_address);

    auto answer = health_check(32080);
    EXPECT_EQ(answer.status, 200);
    EXPECT_EQ(answer.body, R"({"service":{"namespace":"shop","name":"web"},"localEndpoints":2,"serviceProxyHealthy":true})");

    // A flow through 10.244.1.6 (both directions, as the data path writes
    // them), then that endpoint goes.
    std::uint32_t leaving = 0;
    backends.for_each([&](const layout::BackendKey& k, const layout::Backend4& b) {
        if (sync::Ipv4Maps::from_layout(b.address).str() == "10.244.1.6")
            leaving = k.backend_id;
    });
    ASSERT_NE(leaving, 0u);
    auto nat = pinned(layout::nat4);
    for (std::uint8_t direction : {layout::nat_forward, layout::nat_reverse}) {
        layout::NatKey4 k{};
        k.saddr = sync::Ipv4Maps::to_layout(*net::Address::parse("198.51.100.9"));
        k.sport = layout::be16::from_host(40000);
        k.dport = layout::be16::from_host(30080);
        k.proto = 6;
        k.direction = direction;
        layout::NatValue4 v{};
        v.backend_id = leaving;
        v.rev_nat_id = node_port.rev_nat_id;
        nat.update(k, v);
    }
    sync_to(one_local);
    std::size_t flows = 0;
    nat.for_each([&](const auto&, const auto&) { ++flows; });
    EXPECT_EQ(flows, 0u) << "the gone backend's flows are deleted";
    EXPECT_FALSE(backends.lookup({leaving}));
    EXPECT_EQ(head(node_address.c_str(), 30080).count, 1);
    answer = health_check(32080);
    EXPECT_EQ(answer.status, 200);
    EXPECT_NE(answer.body.find(R"("localEndpoints":1)"), std::string::npos) << answer.body;

    sync_to(none_local);
    answer = health_check(32080);
    EXPECT_EQ(answer.status, 503);
    EXPECT_NE(answer.body.find(R"("localEndpoints":0)"), std::string::npos) << answer.body;
    EXPECT_EQ(head(node_address.c_str(), 30080).count, 0) << "no local backend: a counted drop, not a black hole";
}

TEST_F(ExternalSync, FromNetdevOnATestMadeInterfaceIsReplacedInPlaceAndRemovedByDown) {
    const testbed::InsideNetns inside(topology_->node());
    const auto ifindex = static_cast<int>(if_nametoindex("kprext0"));
    ASSERT_GT(ifindex, 0);
    {
        const auto object = DatapathObject::load(KPR_NODEPORT_SOCK_OBJECT, *pins_);
        PodDatapath pods(KPR_NODEPORT_TC_OBJECT, *pins_, {"node-a", {}, {"kprext0", "kprmissing"}});
        const auto report = pods.sync({});
        EXPECT_EQ(report.attached, std::vector<std::string>{"kprext0 (external)"});
        ASSERT_EQ(report.problems.size(), 1u);
        EXPECT_EQ(report.problems[0].object, "kprmissing");
        EXPECT_FALSE(TcAttacher(*pins_).filter(ifindex, BPF_TC_EGRESS)) << "ingress only";
    }
    const auto first = TcAttacher(*pins_).filter(ifindex, BPF_TC_INGRESS);
    ASSERT_TRUE(first);
    {
        // A restarted agent loads the programs anew and swaps them in place.
        const auto object = DatapathObject::load(KPR_NODEPORT_SOCK_OBJECT, *pins_);
        PodDatapath pods(KPR_NODEPORT_TC_OBJECT, *pins_, {"node-a", {}, {"kprext0"}});
        const auto report = pods.sync({});
        EXPECT_TRUE(report.attached.empty()) << "replaced, not attached";
        EXPECT_TRUE(report.problems.empty());
    }
    const auto second = TcAttacher(*pins_).filter(ifindex, BPF_TC_INGRESS);
    ASSERT_TRUE(second);
    EXPECT_NE(*second, *first);
    EXPECT_EQ(detach_tc_programs(*pins_), std::vector<std::string>{"kprext0"});
    EXPECT_FALSE(TcAttacher(*pins_).filter(ifindex, BPF_TC_INGRESS));
}

} // namespace
} // namespace kpr::runtime
