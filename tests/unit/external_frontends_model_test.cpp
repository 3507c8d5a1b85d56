// The load balancer model's north-south half: NodePort frontends on the
// node addresses, load-balancer and external IPs, externalTrafficPolicy and
// internalTrafficPolicy Local filtering by EndpointSlice nodeName, session
// affinity, source ranges, the healthCheckNodePort's local count, and the
// diagnostics for bad external input (each costing only what it names).
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kpr/k8s/yaml_decode.hpp"
#include "kpr/sync/load_balancer_model.hpp"
#include "k8s_test_data.hpp"

namespace kpr::sync {
namespace {

// This node is node-a with 192.168.1.10 and fd00::10.
ModelOptions node_a() {
    return {"", "node-a", {*net::Address::parse("192.168.1.10"), *net::Address::parse("fd00::10")}, {}};
}

LoadBalancerModel build(std::string_view yaml, const ModelOptions& options = node_a()) {
    return build_model(k8s::test_data::cluster_state(yaml), options);
}

// "kind address:port/proto -> backends [local] [affinity=N] [ranges=...]"
std::vector<std::string> summary(const LoadBalancerModel& model) {
    std::vector<std::string> out;
    for (const DesiredService& s : model.services)
        for (const DesiredFrontend& f : s.frontends) {
            std::string line = fmt::format("{} {} {} ->", s.service.name, to_string(f.kind), f.frontend.str());
            for (const BackendAddress& b : f.backends)
                line += " " + b.str();
            if (f.backends.empty())
                line += " none";
            if (f.local_only)
                line += " local";
            if (f.affinity_seconds)
                line += fmt::format(" affinity={}", f.affinity_seconds);
            if (f.source_ranges_enforced) {
                std::vector<std::string> ranges;
                for (const auto& r : f.source_ranges)
                    ranges.push_back(r.str());
                line += fmt::format(" ranges=[{}]", fmt::join(ranges, ","));
            }
            out.push_back(line);
        }
    return out;
}

std::vector<std::string> problems(const LoadBalancerModel& model) {
    return k8s::test_data::diagnostic_texts(model.problems);
}

std::string service(std::string_view name, std::string_view spec) {
    return fmt::format("---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {}\n  namespace: shop\n{}", name,
                       spec);
}

// An IPv4 slice of Service `of` (port http 8080/TCP): a ready endpoint on
// node-a (10.244.1.5), one on node-b (10.244.2.7), a terminating one on
// node-a (10.244.1.6).
std::string slice_of(std::string_view of) {
    return fmt::format(R"(---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {0}-v4
  namespace: shop
  labels: {{kubernetes.io/service-name: {0}}}
addressType: IPv4
endpoints:
- addresses: [10.244.1.5]
  nodeName: node-a
- addresses: [10.244.2.7]
  nodeName: node-b
- addresses: [10.244.1.6]
  nodeName: node-a
  conditions: {{ready: false, serving: true, terminating: true}}
ports:
- name: http
  port: 8080
)",
                       of);
}

TEST(ExternalFrontendsModel, NodePortOnEachNodeAddressOfTheServicesFamily) {
    const auto m = build(service("web", R"(spec:
  type: NodePort
  clusterIP: 10.96.0.10
  ports: [{name: http, port: 80, nodePort: 30080}]
)") + slice_of("web"));
    EXPECT_EQ(problems(m), std::vector<std::string>{});
    // fd00::10 is not used: the Service is IPv4 only.
    EXPECT_EQ(summary(m), (std::vector<std::string>{
                              "web clusterIP 10.96.0.10:80/TCP -> 10.244.1.5:8080 10.244.2.7:8080",
                              "web nodePort 192.168.1.10:30080/TCP -> 10.244.1.5:8080 10.244.2.7:8080",
                          }));
    ASSERT_EQ(m.services.size(), 1u);
    EXPECT_EQ(m.services[0].node_ports, (std::vector<std::pair<std::uint16_t, k8s::Protocol>>{{30080, k8s::Protocol::TCP}}));
    EXPECT_FALSE(m.services[0].health_check);
}

TEST(ExternalFrontendsModel, LoadBalancerIngressExternalIpsAndLocalPolicy) {
    const auto m = build(service("shop", R"(spec:
  type: LoadBalancer
  clusterIP: 10.96.0.20
  ports: [{name: http, port: 80, nodePort: 30081}]
  externalIPs: [192.0.2.7]
  loadBalancerSourceRanges: [198.51.100.0/24, "2001:db8::/32"]
  externalTrafficPolicy: Local
  healthCheckNodePort: 32000
  sessionAffinity: ClientIP
status:
  loadBalancer:
    ingress: [{ip: 203.0.113.50}]
)") + slice_of("shop"));
    EXPECT_EQ(problems(m), std::vector<std::string>{});
    // External frontends: node-a's endpoint only (the terminating one is
    // left while a ready one exists); the cluster IP keeps both; source
    // ranges of the frontend's family on the load-balancer IP alone.
    EXPECT_EQ(summary(m),
              (std::vector<std::string>{
                  "shop clusterIP 10.96.0.20:80/TCP -> 10.244.1.5:8080 10.244.2.7:8080 affinity=10800",
                  "shop externalIP 192.0.2.7:80/TCP -> 10.244.1.5:8080 local affinity=10800",
                  "shop nodePort 192.168.1.10:30081/TCP -> 10.244.1.5:8080 local affinity=10800",
                  "shop loadBalancer 203.0.113.50:80/TCP -> 10.244.1.5:8080 local affinity=10800 "
                  "ranges=[198.51.100.0/24]",
              }));
    ASSERT_TRUE(m.services[0].health_check);
    EXPECT_EQ(*m.services[0].health_check, (HealthCheck{32000, 1}));
}

TEST(ExternalFrontendsModel, LocalPolicyOnAnotherNodeHasNoBackendAndReportsZero) {
    ModelOptions options = node_a();
    options.node_name = "node-c";
    const auto m = build(service("web", R"(spec:
  type: NodePort
  clusterIP: 10.96.0.10
  ports: [{name: http, port: 80, nodePort: 30080}]
  externalTrafficPolicy: Local
  internalTrafficPolicy: Local
  healthCheckNodePort: 32001
)") + slice_of("web"),
                         options);
    EXPECT_EQ(summary(m), (std::vector<std::string>{
                              "web clusterIP 10.96.0.10:80/TCP -> none",
                              "web nodePort 192.168.1.10:30080/TCP -> none local",
                          }));
    EXPECT_EQ(*m.services[0].health_check, (HealthCheck{32001, 0}));
}

TEST(ExternalFrontendsModel, ADualStackPodCountsOnceForTheHealthCheck) {
    const auto m = build(service("web", R"(spec:
  type: NodePort
  clusterIPs: [10.96.0.10, "fd00:96::10"]
  ports: [{name: http, port: 80, nodePort: 30080}]
  externalTrafficPolicy: Local
  healthCheckNodePort: 32001
)") + slice_of("web") + R"(---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-v6
  namespace: shop
  labels: {kubernetes.io/service-name: web}
addressType: IPv6
endpoints:
- {addresses: ["fd00:244:1::5"], nodeName: node-a}
- {addresses: ["fd00:244:2::7"], nodeName: node-b}
ports:
- {name: http, port: 8080}
)");
    // node-a runs one ready pod with an address of each family.
    EXPECT_EQ(*m.services[0].health_check, (HealthCheck{32001, 1}));
}

TEST(ExternalFrontendsModel, InternalPolicyLocalFiltersTheClusterIpOnly) {
    const auto m = build(service("web", R"(spec:
  type: NodePort
  clusterIP: 10.96.0.10
  ports: [{name: http, port: 80, nodePort: 30080}]
  internalTrafficPolicy: Local
)") + slice_of("web"));
    EXPECT_EQ(summary(m), (std::vector<std::string>{
                              "web clusterIP 10.96.0.10:80/TCP -> 10.244.1.5:8080",
                              "web nodePort 192.168.1.10:30080/TCP -> 10.244.1.5:8080 10.244.2.7:8080",
                          }));
}

TEST(ExternalFrontendsModel, BadExternalInputIsNamedAndCostsOnlyWhatItNames) {
    const auto m = build(service("a-first", R"(spec:
  type: NodePort
  clusterIP: 10.96.0.1
  ports: [{name: http, port: 80, nodePort: 30080}, {name: alt, port: 81, nodePort: 8080}]
)") + service("b-second", R"(spec:
  type: NodePort
  clusterIP: 10.96.0.2
  ports: [{name: http, port: 80, nodePort: 30080}, {name: udp, port: 80, protocol: UDP, nodePort: 30080}]
)") + service("c-pending", R"(spec:
  type: LoadBalancer
  clusterIP: 10.96.0.3
  ports: [{name: http, port: 80, nodePort: 30083}]
)") + service("d-ranges", R"(spec:
  type: LoadBalancer
  clusterIP: 10.96.0.4
  ports: [{name: http, port: 80, nodePort: 30084}]
  loadBalancerSourceRanges: [10.0.0.0/33]
  externalIPs: ["fd00::99"]
status:
  loadBalancer: {ingress: [{ip: 203.0.113.4}]}
)"));
    EXPECT_EQ(problems(m),
              (std::vector<std::string>{
                  "test.yaml:2:1: Service shop/a-first: spec.ports[1].nodePort: 8080 is outside the node-port range "
                  "30000-32767; this port gets no NodePort",
                  "test.yaml:12:1: Service shop/b-second: spec.ports[0].nodePort: NodePort 30080/TCP already belongs "
                  "to Service shop/a-first; this Service does not get it",
                  "test.yaml:22:1: Service shop/c-pending: status.loadBalancer.ingress: a LoadBalancer Service "
                  "without an ingress IP (none assigned yet?): only its cluster IPs and NodePorts are programmed",
                  "test.yaml:32:1: Service shop/d-ranges: spec.loadBalancerSourceRanges[0]: \"10.0.0.0/33\" is not a "
                  "CIDR; the load-balancer IPs are left out rather than open to every client",
                  "test.yaml:32:1: Service shop/d-ranges: spec.externalIPs[0]: fd00::99 is IPv6, and the Service "
                  "has no IPv6 cluster IP (no IPv6 backends)",
              }));
    // Everything else is still there: b-second keeps its UDP NodePort.
    EXPECT_EQ(summary(m), (std::vector<std::string>{
                              "a-first clusterIP 10.96.0.1:80/TCP -> none",
                              "a-first clusterIP 10.96.0.1:81/TCP -> none",
                              "a-first nodePort 192.168.1.10:30080/TCP -> none",
                              "b-second clusterIP 10.96.0.2:80/TCP -> none",
                              "b-second clusterIP 10.96.0.2:80/UDP -> none",
                              "b-second nodePort 192.168.1.10:30080/UDP -> none",
                              "c-pending clusterIP 10.96.0.3:80/TCP -> none",
                              "c-pending nodePort 192.168.1.10:30083/TCP -> none",
                              "d-ranges clusterIP 10.96.0.4:80/TCP -> none",
                              "d-ranges nodePort 192.168.1.10:30084/TCP -> none",
                          }));
}

TEST(ExternalFrontendsModel, NodePortRangeIsTheOptionsOne) {
    ModelOptions options = node_a();
    options.node_port_range = {8000, 8100};
    const auto m = build(service("web", R"(spec:
  type: NodePort
  clusterIP: 10.96.0.10
  ports: [{name: http, port: 80, nodePort: 8080}]
)"),
                         options);
    EXPECT_EQ(problems(m), std::vector<std::string>{});
    EXPECT_EQ(summary(m).back(), "web nodePort 192.168.1.10:8080/TCP -> none");
}

TEST(ExternalFrontendsModel, NoNodeAddressMeansNoNodePortFrontendButThePortIsStillHeld) {
    ModelOptions options = node_a();
    options.node_addresses.clear();
    const auto m = build(service("web", R"(spec:
  type: NodePort
  clusterIP: 10.96.0.10
  ports: [{name: http, port: 80, nodePort: 30080}]
)"),
                         options);
    EXPECT_EQ(summary(m), (std::vector<std::string>{"web clusterIP 10.96.0.10:80/TCP -> none"}));
    EXPECT_EQ(m.services[0].node_ports.size(), 1u);
}

TEST(ExternalFrontendsModel, ClusterIpServiceIgnoresNodePortsButNotExternalIps) {
    const auto m = build(service("web", R"(spec:
  clusterIP: 10.96.0.10
  ports: [{name: http, port: 80, nodePort: 30080}]
  externalIPs: [192.0.2.10]
)") + slice_of("web"));
    EXPECT_EQ(summary(m), (std::vector<std::string>{
                              "web clusterIP 10.96.0.10:80/TCP -> 10.244.1.5:8080 10.244.2.7:8080",
                              "web externalIP 192.0.2.10:80/TCP -> 10.244.1.5:8080 10.244.2.7:8080",
                          }));
    EXPECT_TRUE(m.services[0].node_ports.empty());
}

TEST(ExternalFrontendsModel, NodePortRangeParsesAsTheFlagIsWritten) {
    EXPECT_EQ(NodePortRange::parse("30000-32767"), (NodePortRange{30000, 32767}));
    EXPECT_EQ(NodePortRange::parse("8080"), (NodePortRange{8080, 8080}));
    for (std::string_view bad : {"", "-", "30000-", "32767-30000", "0-10", "1-65536", "a-b", "30000-32767x"})
        EXPECT_FALSE(NodePortRange::parse(bad)) << bad;
}

} // namespace
} // namespace kpr::sync
