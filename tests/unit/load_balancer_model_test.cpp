// The load balancer model from Services and EndpointSlices as kubectl shows
// them: which frontends exist, which backends each one gets for new
// connections (the way kube-proxy chooses them), what is skipped, and what
// is reported when two Services claim the same frontend.
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

LoadBalancerModel build(std::string_view yaml, const ModelOptions& options = {}) {
    return build_model(k8s::test_data::cluster_state(yaml), options);
}

// The model as one line per frontend, in the model's order:
// "shop/web 10.96.0.10:80/TCP -> 10.244.1.5:8080 10.244.2.7:8080", with
// "-> none" for a frontend without backends and "(no frontend)" for a
// Service without frontends.
std::vector<std::string> summary(const LoadBalancerModel& model) {
    std::vector<std::string> out;
    for (const DesiredService& s : model.services) {
        const std::string name = fmt::format("{}/{}", s.service.namespace_, s.service.name);
        if (s.frontends.empty())
            out.push_back(name + " (no frontend)");
        for (const DesiredFrontend& f : s.frontends) {
            std::string line = fmt::format("{} {} ->", name, f.frontend.str());
            for (const BackendAddress& b : f.backends)
                line += " " + b.str();
            out.push_back(f.backends.empty() ? line + " none" : line);
        }
    }
    return out;
}

std::vector<std::string> problems(const LoadBalancerModel& model) {
    return k8s::test_data::diagnostic_texts(model.problems);
}

// A Service shop/<name> with the given spec (indented two spaces).
std::string service(std::string_view name, std::string_view spec) {
    return fmt::format(R"(---
apiVersion: v1
kind: Service
metadata:
  name: {}
  namespace: shop
spec:
{})",
                       name, spec);
}

// An EndpointSlice shop/<name> of Service shop/<service_name>, with the
// given addressType, endpoints and ports.
std::string slice(std::string_view name, std::string_view service_name, std::string_view body) {
    return fmt::format(R"(---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {}
  namespace: shop
  labels:
    kubernetes.io/service-name: {}
    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
{})",
                       name, service_name, body);
}

// Service shop/web: 10.96.12.34:80/TCP, target port 8080.
const std::string web_service = service("web", R"(  type: ClusterIP
  clusterIP: 10.96.12.34
  clusterIPs: [10.96.12.34]
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: 8080
)");

// An IPv4 slice of shop/web with port http 8080 and the given endpoints.
std::string web_slice(std::string_view name, std::string_view endpoints) {
    return slice(name, "web",
                 fmt::format(R"(addressType: IPv4
endpoints:
{}ports:
- name: http
  port: 8080
  protocol: TCP
)",
                             endpoints));
}

// --- frontends and their backends ---

TEST(LoadBalancerModel, ClusterIpServiceGetsOneFrontendPerPortWithTheReadyEndpoints) {
    const LoadBalancerModel m = build(service("web", R"(  type: ClusterIP
  clusterIP: 10.96.12.34
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: 8080
  - name: https
    port: 443
    protocol: TCP
    targetPort: 8443
)") + slice("web-7x2kq", "web", R"(addressType: IPv4
endpoints:
- addresses: [10.244.1.5]
  conditions: {ready: true, serving: true, terminating: false}
  nodeName: node-a
- addresses: [10.244.2.7]
  conditions: {ready: true}
  nodeName: node-b
ports:
- name: http
  port: 8080
  protocol: TCP
- name: https
  port: 8443
  protocol: TCP
)"));
    EXPECT_EQ(problems(m), std::vector<std::string>{});
    EXPECT_EQ(summary(m), (std::vector<std::string>{
                              "shop/web 10.96.12.34:80/TCP -> 10.244.1.5:8080 10.244.2.7:8080",
                              "shop/web 10.96.12.34:443/TCP -> 10.244.1.5:8443 10.244.2.7:8443",
                          }));
    ASSERT_EQ(m.services.size(), 1u);
    EXPECT_EQ(m.services[0].service, (k8s::ObjectKey{"Service", "shop", "web"}));
    EXPECT_EQ(m.services[0].location.str(), "test.yaml:2:1");
}

TEST(LoadBalancerModel, DualStackFrontendsGetTheEndpointsOfTheirOwnFamily) {
    const LoadBalancerModel m = build(service("api", R"(  type: ClusterIP
  ipFamilyPolicy: RequireDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIP: 10.96.200.10
  clusterIPs: [10.96.200.10, "fd00:10:96::c8"]
  ports:
  - port: 8080
    protocol: TCP
)") + slice("api-v4p9c", "api", R"(addressType: IPv4
endpoints:
- addresses: [10.244.1.20]
- addresses: [10.244.2.21]
ports:
- name: ""
  port: 8080
  protocol: TCP
)") + slice("api-v6k2w", "api", R"(addressType: IPv6
endpoints:
- addresses: ["fd00:10:244:1::14"]
ports:
- name: ""
  port: 8080
  protocol: TCP
)"));
    EXPECT_EQ(problems(m), std::vector<std::string>{});
    EXPECT_EQ(summary(m), (std::vector<std::string>{
                              "shop/api 10.96.200.10:8080/TCP -> 10.244.1.20:8080 10.244.2.21:8080",
                              "shop/api [fd00:10:96::c8]:8080/TCP -> [fd00:10:244:1::14]:8080",
                          }));
}

TEST(LoadBalancerModel, TcpAndUdpOnPort53AreSeparateFrontendsWithTheirOwnSlicePorts) {
    const LoadBalancerModel m = build(service("kube-dns", R"(  clusterIP: 10.96.0.10
  ports:
  - name: dns
    port: 53
    protocol: UDP
    targetPort: 5353
  - name: dns-tcp
    port: 53
    protocol: TCP
    targetPort: 5354
  - name: metrics
    port: 9153
    protocol: TCP
    targetPort: 9153
)") + slice("kube-dns-8hd7s", "kube-dns", R"(addressType: IPv4
endpoints:
- addresses: [10.244.0.3]
- addresses: [10.244.0.4]
ports:
- name: dns-tcp
  port: 5354
  protocol: TCP
- name: dns
  port: 5353
  protocol: UDP
- name: metrics
  port: 9153
  protocol: TCP
)"));
    EXPECT_EQ(problems(m), std::vector<std::string>{});
    EXPECT_EQ(summary(m),
              (std::vector<std::string>{
                  "shop/kube-dns 10.96.0.10:53/TCP -> 10.244.0.3:5354 10.244.0.4:5354",
                  "shop/kube-dns 10.96.0.10:53/UDP -> 10.244.0.3:5353 10.244.0.4:5353",
                  "shop/kube-dns 10.96.0.10:9153/TCP -> 10.244.0.3:9153 10.244.0.4:9153",
              }));
}

// Pods of two versions name their container port "http" but listen on
// different numbers; the EndpointSlice controller puts each set in its own
// slice with its own number for the Service port "web".
TEST(LoadBalancerModel, NamedTargetPortGivesEachBackendItsOwnSlicesNumber) {
    const LoadBalancerModel m = build(service("web", R"(  clusterIP: 10.96.12.34
  ports:
  - name: web
    port: 80
    protocol: TCP
    targetPort: http
)") + slice("web-v1-2xq8d", "web", R"(addressType: IPv4
endpoints:
- addresses: [10.244.1.5]
- addresses: [10.244.1.6]
ports:
- name: web
  port: 8080
  protocol: TCP
)") + slice("web-v2-k9p4m", "web", R"(addressType: IPv4
endpoints:
- addresses: [10.244.2.7]
ports:
- name: web
  port: 9090
  protocol: TCP
)"));
    EXPECT_EQ(problems(m), std::vector<std::string>{});
    EXPECT_EQ(
        summary(m),
        std::vector<std::string>{
            "shop/web 10.96.12.34:80/TCP -> 10.244.1.5:8080 10.244.1.6:8080 10.244.2.7:9090"});
}

// --- several slices ---

TEST(LoadBalancerModel, EndpointsOfAllTheServicesSlicesAreUsed) {
    const LoadBalancerModel m =
        build(web_service + web_slice("web-7x2kq", R"(- addresses: [10.244.1.5]
- addresses: [10.244.1.6]
)") + web_slice("web-m4ghv", "- addresses: [10.244.4.2]\n"));
    EXPECT_EQ(summary(m), std::vector<std::string>{
                              "shop/web 10.96.12.34:80/TCP -> 10.244.1.5:8080 10.244.1.6:8080 "
                              "10.244.4.2:8080"});
}

// While a pod moves between slices the controller may list it in both.
TEST(LoadBalancerModel, AnEndpointListedInTwoSlicesIsOneBackend) {
    const LoadBalancerModel m =
        build(web_service + web_slice("web-7x2kq", R"(- addresses: [10.244.1.5]
- addresses: [10.244.1.6]
)") + web_slice("web-m4ghv", R"(- addresses: [10.244.1.5]
- addresses: [10.244.4.2]
)"));
    EXPECT_EQ(summary(m), std::vector<std::string>{
                              "shop/web 10.96.12.34:80/TCP -> 10.244.1.5:8080 10.244.1.6:8080 "
                              "10.244.4.2:8080"});
}

TEST(LoadBalancerModel, AReadyCopyOfAnEndpointWinsOverANotReadyOneInEitherOrder) {
    // 10.244.1.5 is ready only in the later slice, 10.244.1.6 only in the
    // earlier one.
    const LoadBalancerModel m =
        build(web_service + web_slice("web-7x2kq", R"(- addresses: [10.244.1.5]
  conditions: {ready: false, serving: false, terminating: false}
- addresses: [10.244.1.6]
  conditions: {ready: true}
)") + web_slice("web-m4ghv", R"(- addresses: [10.244.1.5]
  conditions: {ready: true}
- addresses: [10.244.1.6]
  conditions: {ready: false, serving: false, terminating: false}
)"));
    EXPECT_EQ(summary(m), std::vector<std::string>{
                              "shop/web 10.96.12.34:80/TCP -> 10.244.1.5:8080 10.244.1.6:8080"});
}

TEST(LoadBalancerModel, AServingCopyOfATerminatingEndpointWinsOverOneThatNoLongerServes) {
    const LoadBalancerModel m =
        build(web_service + web_slice("web-7x2kq", R"(- addresses: [10.244.3.9]
  conditions: {ready: false, serving: false, terminating: true}
)") + web_slice("web-m4ghv", R"(- addresses: [10.244.3.9]
  conditions: {ready: false, serving: true, terminating: true}
)"));
    EXPECT_EQ(summary(m),
              std::vector<std::string>{"shop/web 10.96.12.34:80/TCP -> 10.244.3.9:8080"});
}

// --- endpoint conditions ---

TEST(LoadBalancerModel, NotReadyEndpointsAreLeftOut) {
    const LoadBalancerModel m =
        build(web_service + web_slice("web-7x2kq", R"(- addresses: [10.244.1.5]
  conditions: {ready: true, serving: true, terminating: false}
- addresses: [10.244.2.7]
  conditions: {ready: false, serving: false, terminating: false}
)"));
    EXPECT_EQ(summary(m),
              std::vector<std::string>{"shop/web 10.96.12.34:80/TCP -> 10.244.1.5:8080"});
}

TEST(LoadBalancerModel, TerminatingEndpointsAreLeftOutWhileAnyIsReady) {
    const LoadBalancerModel m =
        build(web_service + web_slice("web-7x2kq", R"(- addresses: [10.244.1.5]
  conditions: {ready: true, serving: true, terminating: false}
- addresses: [10.244.3.9]
  conditions: {ready: false, serving: true, terminating: true}
)"));
    EXPECT_EQ(summary(m),
              std::vector<std::string>{"shop/web 10.96.12.34:80/TCP -> 10.244.1.5:8080"});
}

// A rolling update that has only terminating pods left keeps working.
TEST(LoadBalancerModel, ServingTerminatingEndpointsAreUsedWhenNoneIsReady) {
    const LoadBalancerModel m =
        build(web_service + web_slice("web-7x2kq", R"(- addresses: [10.244.1.5]
  conditions: {ready: false, serving: false, terminating: false}
- addresses: [10.244.3.9]
  conditions: {ready: false, serving: true, terminating: true}
- addresses: [10.244.3.10]
  conditions: {ready: false, serving: true, terminating: true}
- addresses: [10.244.3.11]
  conditions: {ready: false, serving: false, terminating: true}
)"));
    EXPECT_EQ(summary(m), std::vector<std::string>{
                              "shop/web 10.96.12.34:80/TCP -> 10.244.3.9:8080 10.244.3.10:8080"});
}

TEST(LoadBalancerModel, TerminatingEndpointsThatNoLongerServeAreNeverUsed) {
    const LoadBalancerModel m =
        build(web_service + web_slice("web-7x2kq", R"(- addresses: [10.244.3.9]
  conditions: {ready: false, serving: false, terminating: true}
)"));
    EXPECT_EQ(summary(m), std::vector<std::string>{"shop/web 10.96.12.34:80/TCP -> none"});
}

// Connecting then fails at once instead of going to the cluster IP itself.
TEST(LoadBalancerModel, AServiceWithoutUsableEndpointsKeepsItsFrontends) {
    const LoadBalancerModel m = build(web_service + service("idle", R"(  clusterIP: 10.96.7.7
  ports:
  - port: 6379
)") + web_slice("web-7x2kq", R"(- addresses: [10.244.1.5]
  conditions: {ready: false}
)"));
    EXPECT_EQ(problems(m), std::vector<std::string>{});
    EXPECT_EQ(summary(m), (std::vector<std::string>{
                              "shop/idle 10.96.7.7:6379/TCP -> none",
                              "shop/web 10.96.12.34:80/TCP -> none",
                          }));
}

// --- which slices belong to a Service ---

TEST(LoadBalancerModel, SlicesOfOtherServicesOrNamespacesOrWithoutServiceLabelAreIgnored) {
    const LoadBalancerModel m =
        build(web_service + web_slice("web-7x2kq", "- addresses: [10.244.1.5]\n") +
              // Same Service name, another namespace.
              R"(---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-staging-5kd8w
  namespace: staging
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
- addresses: [10.244.8.1]
ports:
- name: http
  port: 8080
  protocol: TCP
)" + slice("web-canary-q2w3e", "web-canary", R"(addressType: IPv4
endpoints:
- addresses: [10.244.8.2]
ports:
- name: http
  port: 8080
  protocol: TCP
)") + R"(---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-manual
  namespace: shop
  labels:
    app: web
addressType: IPv4
endpoints:
- addresses: [10.244.8.3]
ports:
- name: http
  port: 8080
  protocol: TCP
)");
    EXPECT_EQ(summary(m),
              std::vector<std::string>{"shop/web 10.96.12.34:80/TCP -> 10.244.1.5:8080"});
}

// --- which Services are proxied ---

TEST(LoadBalancerModel, HeadlessExternalNameAndServicesWithoutClusterIpGetNoFrontend) {
    const LoadBalancerModel m = build(web_service + service("db", R"(  clusterIP: None
  clusterIPs: [None]
  ports:
  - name: postgres
    port: 5432
)") + service("search", R"(  type: ExternalName
  externalName: search.example.com
)") + service("unallocated", R"(  type: ClusterIP
  ports:
  - port: 80
)") + slice("db-5tq8z", "db", R"(addressType: IPv4
endpoints:
- addresses: [10.244.5.5]
ports:
- name: postgres
  port: 5432
)"));
    EXPECT_EQ(problems(m), std::vector<std::string>{});
    EXPECT_EQ(summary(m), std::vector<std::string>{"shop/web 10.96.12.34:80/TCP -> none"});
}

// shop/web with the service-proxy-name label set to value (a YAML scalar).
std::string web_service_for_proxy(std::string_view value) {
    return fmt::format(R"(apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels:
    app: web
    service.kubernetes.io/service-proxy-name: {}
spec:
  clusterIP: 10.96.12.34
  ports:
  - port: 80
)",
                       value);
}

TEST(LoadBalancerModel, ServicesForAnotherProxyAreSkippedByDefault) {
    EXPECT_EQ(summary(build(web_service_for_proxy("other-proxy"))), std::vector<std::string>{});
}

// kube-proxy selects Services where the label does not exist; an empty
// value is still a label.
TEST(LoadBalancerModel, AnEmptyServiceProxyNameStillMeansAnotherProxy) {
    EXPECT_EQ(summary(build(web_service_for_proxy("\"\""))), std::vector<std::string>{});
}

TEST(LoadBalancerModel, ServicesLabelledWithOurProxyNameAreKept) {
    const LoadBalancerModel m =
        build(web_service_for_proxy("kpr") + service("plain", R"(  clusterIP: 10.96.7.7
  ports:
  - port: 6379
)"),
              ModelOptions{"kpr"});
    EXPECT_EQ(summary(m), (std::vector<std::string>{
                              "shop/plain 10.96.7.7:6379/TCP -> none",
                              "shop/web 10.96.12.34:80/TCP -> none",
                          }));
}

TEST(LoadBalancerModel, ServicesLabelledWithAnotherProxyNameAreSkippedWhenWeHaveOne) {
    EXPECT_EQ(summary(build(web_service_for_proxy("other-proxy"), ModelOptions{"kpr"})),
              std::vector<std::string>{});
}

// --- conflicts and order ---

TEST(LoadBalancerModel, AFrontendClaimedTwiceGoesToTheServiceThatSortsFirst) {
    // shop/alpha comes first in the file and by name, but blog/zeta's
    // namespace sorts first.
    const LoadBalancerModel m = build(service("alpha", R"(  clusterIP: 10.96.0.50
  ports:
  - name: http
    port: 80
  - name: https
    port: 443
)") + R"(---
apiVersion: v1
kind: Service
metadata:
  name: zeta
  namespace: blog
spec:
  clusterIP: 10.96.0.50
  ports:
  - port: 80
)");
    EXPECT_EQ(summary(m), (std::vector<std::string>{
                              "blog/zeta 10.96.0.50:80/TCP -> none",
                              "shop/alpha 10.96.0.50:443/TCP -> none",
                          }));
    ASSERT_EQ(m.problems.size(), 1u);
    const Diagnostic& d = m.problems[0];
    EXPECT_EQ(d.where.str(), "test.yaml:2:1");
    EXPECT_EQ(d.object, "Service shop/alpha");
    EXPECT_EQ(d.field, "spec.clusterIPs");
    EXPECT_EQ(d.message,
              "frontend 10.96.0.50:80/TCP already belongs to Service blog/zeta; this Service does "
              "not get it");
}

TEST(LoadBalancerModel, ServicesFrontendsAndBackendsComeOutSorted) {
    const LoadBalancerModel m =
        build(service("web", R"(  clusterIPs: ["fd00:10:96::22", 10.96.12.34]
  ports:
  - name: https
    port: 443
  - name: http
    port: 80
)") + service("cache", R"(  clusterIP: 10.96.7.7
  ports:
  - port: 6379
)") + R"(---
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: blog
spec:
  clusterIP: 10.96.3.3
  ports:
  - port: 8080
)" + slice("web-z9", "web", R"(addressType: IPv4
endpoints:
- addresses: [10.244.10.2]
- addresses: [10.244.9.1]
ports:
- name: https
  port: 8443
- name: http
  port: 8080
)") + slice("web-a1", "web", R"(addressType: IPv4
endpoints:
- addresses: [10.244.9.7]
ports:
- name: http
  port: 8080
- name: https
  port: 8443
)") + slice("web-v6", "web", R"(addressType: IPv6
endpoints:
- addresses: ["fd00:10:244::b"]
- addresses: ["fd00:10:244::a"]
ports:
- name: http
  port: 8080
- name: https
  port: 8443
)"));
    EXPECT_EQ(problems(m), std::vector<std::string>{});
    EXPECT_EQ(
        summary(m),
        (std::vector<std::string>{
            "blog/api 10.96.3.3:8080/TCP -> none",
            "shop/cache 10.96.7.7:6379/TCP -> none",
            "shop/web 10.96.12.34:80/TCP -> 10.244.9.1:8080 10.244.9.7:8080 10.244.10.2:8080",
            "shop/web 10.96.12.34:443/TCP -> 10.244.9.1:8443 10.244.9.7:8443 10.244.10.2:8443",
            "shop/web [fd00:10:96::22]:80/TCP -> [fd00:10:244::a]:8080 [fd00:10:244::b]:8080",
            "shop/web [fd00:10:96::22]:443/TCP -> [fd00:10:244::a]:8443 [fd00:10:244::b]:8443",
        }));
}

} // namespace
} // namespace kpr::sync
