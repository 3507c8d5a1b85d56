// Decoding Kubernetes objects from YAML and JSON: kubectl's output decodes
// into the typed model with the API's defaults, and each kind of bad input
// yields the exact diagnostic (place, object, field, message).
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "kpr/k8s/yaml_decode.hpp"
#include "k8s_test_data.hpp"

namespace kpr::k8s {
namespace {

using test_data::error_texts;
using test_data::read_test_file;

DecodeResult decode(std::string_view text) {
    return decode_yaml(text, "test.yaml");
}

DecodeResult decode_test_file(const std::string& name) {
    return decode_yaml(read_test_file(name), name);
}

// A Service default/web whose spec's first line is line 6.
std::string service(std::string_view spec) {
    return "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n" + std::string(spec);
}

// An EndpointSlice default/web-abcde whose fifth line is the given body's first.
std::string endpoint_slice(std::string_view body) {
    return "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-abcde\n" +
           std::string(body);
}

net::Address ip(std::string_view text) {
    return *net::Address::parse(text);
}

const Service& find_service(const DecodeResult& result, std::string_view name) {
    for (const Service& s : result.services)
        if (s.meta.name == name)
            return s;
    throw std::runtime_error("no such service");
}

const EndpointSlice& find_slice(const DecodeResult& result, std::string_view name) {
    for (const EndpointSlice& s : result.endpoint_slices)
        if (s.meta.name == name)
            return s;
    throw std::runtime_error("no such endpoint slice");
}

// --- kubectl output decodes ---

TEST(K8sDecode, ServicesFromKubectlOutput) {
    const DecodeResult r = decode_test_file("services.yaml");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    EXPECT_TRUE(r.all_documents_identified);
    EXPECT_TRUE(r.rejected.empty());
    ASSERT_EQ(r.services.size(), 6u);
    EXPECT_TRUE(r.endpoint_slices.empty());

    const Service& web = r.services[0];
    EXPECT_EQ(web.key(), (ObjectKey{"Service", "default", "web"}));
    EXPECT_EQ(web.meta.labels, (std::map<std::string, std::string>{{"app", "web"}}));
    EXPECT_EQ(web.meta.location.str(), "services.yaml:3:1");
    EXPECT_EQ(web.type, ServiceType::ClusterIP);
    EXPECT_EQ(web.cluster_ips, std::vector<net::Address>{ip("10.96.12.34")});
    EXPECT_FALSE(web.headless);
    ASSERT_EQ(web.ports.size(), 2u);
    EXPECT_EQ(web.ports[0], (ServicePort{"http", Protocol::TCP, 80, std::string("http")}));
    EXPECT_EQ(web.ports[1], (ServicePort{"https", Protocol::TCP, 443, std::uint16_t{8443}}));
}

TEST(K8sDecode, DualStackServiceKeepsBothFamiliesInOrder) {
    const DecodeResult r = decode_test_file("services.yaml");
    const Service& api = find_service(r, "api");
    EXPECT_EQ(api.meta.namespace_, "shop");
    EXPECT_EQ(api.cluster_ips,
              (std::vector<net::Address>{ip("10.96.200.10"), ip("fd00:10:96::c8")}));
    ASSERT_EQ(api.ports.size(), 1u);
    EXPECT_EQ(api.ports[0], (ServicePort{"", Protocol::TCP, 8080, std::uint16_t{8080}}));
}

TEST(K8sDecode, SamePortNumberOverTcpAndUdp) {
    const DecodeResult r = decode_test_file("services.yaml");
    const Service& dns = find_service(r, "kube-dns");
    EXPECT_EQ(dns.meta.namespace_, "kube-system");
    EXPECT_EQ(dns.cluster_ips, std::vector<net::Address>{ip("10.96.0.10")});
    ASSERT_EQ(dns.ports.size(), 3u);
    EXPECT_EQ(dns.ports[0], (ServicePort{"dns", Protocol::UDP, 53, std::uint16_t{53}}));
    EXPECT_EQ(dns.ports[1], (ServicePort{"dns-tcp", Protocol::TCP, 53, std::uint16_t{53}}));
    EXPECT_EQ(dns.ports[2], (ServicePort{"metrics", Protocol::TCP, 9153, std::uint16_t{9153}}));
}

TEST(K8sDecode, HeadlessAndExternalNameDecode) {
    const DecodeResult r = decode_test_file("services.yaml");
    const Service& db = find_service(r, "db");
    EXPECT_TRUE(db.headless);
    EXPECT_TRUE(db.cluster_ips.empty());
    EXPECT_EQ(db.type, ServiceType::ClusterIP);
    ASSERT_EQ(db.ports.size(), 1u);
    EXPECT_EQ(db.ports[0].port, 5432);

    const Service& search = find_service(r, "search");
    EXPECT_EQ(search.type, ServiceType::ExternalName);
    EXPECT_FALSE(search.headless);
    EXPECT_TRUE(search.cluster_ips.empty());
    EXPECT_TRUE(search.ports.empty());
}

TEST(K8sDecode, ServiceProxyNameLabelSurvives) {
    const DecodeResult r = decode_test_file("services.yaml");
    const Service& gateway = find_service(r, "metrics-gateway");
    EXPECT_EQ(gateway.type, ServiceType::NodePort);
    EXPECT_EQ(gateway.meta.labels.at("service.kubernetes.io/service-proxy-name"), "other-proxy");
    EXPECT_EQ(gateway.meta.labels.at("app"), "metrics-gateway");
}

TEST(K8sDecode, EndpointSlicesFromKubectlOutput) {
    const DecodeResult r = decode_test_file("endpoint_slices.yaml");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    EXPECT_TRUE(r.all_documents_identified);
    ASSERT_EQ(r.endpoint_slices.size(), 6u);

    const EndpointSlice& web = r.endpoint_slices[0];
    EXPECT_EQ(web.key(), (ObjectKey{"EndpointSlice", "default", "web-7x2kq"}));
    EXPECT_EQ(web.service_name, "web");
    EXPECT_EQ(web.address_type, AddressType::IPv4);
    ASSERT_EQ(web.endpoints.size(), 4u);
    EXPECT_EQ(web.endpoints[0],
              (Endpoint{{ip("10.244.1.5")}, {true, true, false}, "node-a", "zone-a"}));
    // Not ready and not serving.
    EXPECT_EQ(web.endpoints[1],
              (Endpoint{{ip("10.244.2.7")}, {false, false, false}, "node-b", "zone-b"}));
    // Terminating, still serving its open connections.
    EXPECT_EQ(web.endpoints[2],
              (Endpoint{{ip("10.244.3.9")}, {false, true, true}, "node-c", "zone-a"}));
    // `conditions: {}`: the API's defaults.
    EXPECT_EQ(web.endpoints[3],
              (Endpoint{{ip("10.244.1.8")}, {true, true, false}, "node-a", "zone-a"}));
    EXPECT_EQ(web.ports, (std::vector<EndpointPort>{{"http", Protocol::TCP, 8080},
                                                    {"https", Protocol::TCP, 8443}}));
}

TEST(K8sDecode, SeveralSlicesForOneService) {
    const DecodeResult r = decode_test_file("endpoint_slices.yaml");
    const EndpointSlice& second = find_slice(r, "web-m4ghv");
    EXPECT_EQ(second.service_name, "web");
    EXPECT_EQ(second.address_type, AddressType::IPv4);
    ASSERT_EQ(second.endpoints.size(), 1u);
    EXPECT_EQ(second.endpoints[0].addresses, std::vector<net::Address>{ip("10.244.4.2")});

    const EndpointSlice& v4 = find_slice(r, "api-v4p9c");
    const EndpointSlice& v6 = find_slice(r, "api-v6k2w");
    EXPECT_EQ(v4.service_name, "api");
    EXPECT_EQ(v6.service_name, "api");
    EXPECT_EQ(v4.address_type, AddressType::IPv4);
    EXPECT_EQ(v6.address_type, AddressType::IPv6);
    ASSERT_EQ(v6.endpoints.size(), 1u);
    EXPECT_EQ(v6.endpoints[0].addresses, std::vector<net::Address>{ip("fd00:10:244:1::14")});
    EXPECT_EQ(v6.ports, (std::vector<EndpointPort>{{"", Protocol::TCP, 8080}}));
}

TEST(K8sDecode, SlicePortsNamedAfterServicePorts) {
    const DecodeResult r = decode_test_file("endpoint_slices.yaml");
    const EndpointSlice& dns = find_slice(r, "kube-dns-8hd7s");
    EXPECT_EQ(dns.service_name, "kube-dns");
    EXPECT_EQ(dns.endpoints.size(), 2u);
    EXPECT_EQ(dns.ports, (std::vector<EndpointPort>{{"dns-tcp", Protocol::TCP, 53},
                                                    {"dns", Protocol::UDP, 53},
                                                    {"metrics", Protocol::TCP, 9153}}));
}

TEST(K8sDecode, NullEndpointsAndPortsAreEmpty) {
    const DecodeResult r = decode_test_file("endpoint_slices.yaml");
    const EndpointSlice& db = find_slice(r, "db-5tq8z");
    EXPECT_EQ(db.service_name, "db");
    EXPECT_TRUE(db.endpoints.empty());
    EXPECT_TRUE(db.ports.empty());
}

TEST(K8sDecode, ListFromKubectlYaml) {
    const DecodeResult r = decode_test_file("list.yaml");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    ASSERT_EQ(r.services.size(), 1u);
    ASSERT_EQ(r.endpoint_slices.size(), 1u);
    const Service& prometheus = r.services[0];
    EXPECT_EQ(prometheus.key(), (ObjectKey{"Service", "monitoring", "prometheus"}));
    EXPECT_EQ(prometheus.meta.location.str(), "list.yaml:5:3");
    EXPECT_EQ(prometheus.ports,
              (std::vector<ServicePort>{{"web", Protocol::TCP, 9090, std::string("web")}}));
    const EndpointSlice& slice = r.endpoint_slices[0];
    EXPECT_EQ(slice.service_name, "prometheus");
    EXPECT_EQ(slice.ports, (std::vector<EndpointPort>{{"web", Protocol::TCP, 9090}}));
    ASSERT_EQ(slice.endpoints.size(), 1u);
    EXPECT_EQ(slice.endpoints[0].node_name, "node-b");
}

TEST(K8sDecode, ListFromKubectlJson) {
    const DecodeResult r = decode_test_file("list.json");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    ASSERT_EQ(r.services.size(), 1u);
    ASSERT_EQ(r.endpoint_slices.size(), 1u);
    const Service& checkout = r.services[0];
    EXPECT_EQ(checkout.key(), (ObjectKey{"Service", "payments", "checkout"}));
    EXPECT_EQ(checkout.type, ServiceType::LoadBalancer);
    EXPECT_EQ(checkout.cluster_ips, std::vector<net::Address>{ip("fd00:10:96::1a2b")});
    EXPECT_EQ(checkout.ports,
              (std::vector<ServicePort>{{"https", Protocol::TCP, 443, std::uint16_t{8443}, 30443}}));
    EXPECT_EQ(checkout.external_traffic_policy, TrafficPolicy::Local);
    EXPECT_EQ(checkout.health_check_node_port, 32456);
    EXPECT_EQ(checkout.load_balancer_ingress, std::vector<net::Address>{ip("2001:db8:5::10")});
    const EndpointSlice& slice = r.endpoint_slices[0];
    EXPECT_EQ(slice.address_type, AddressType::IPv6);
    EXPECT_EQ(slice.endpoints,
              (std::vector<Endpoint>{
                  {{ip("fd00:10:244:3::7")}, {true, true, false}, "node-c", "zone-c"}}));
}

TEST(K8sDecode, HandwrittenObjectsGetTheApiDefaults) {
    const DecodeResult r = decode_test_file("handwritten.yaml");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    ASSERT_EQ(r.services.size(), 1u);
    ASSERT_EQ(r.endpoint_slices.size(), 1u);
    const Service& echo = r.services[0];
    EXPECT_EQ(echo.key(), (ObjectKey{"Service", "default", "echo"}));
    EXPECT_EQ(echo.ports, (std::vector<ServicePort>{{"", Protocol::TCP, 7, std::uint16_t{7}}}));
    const EndpointSlice& slice = r.endpoint_slices[0];
    EXPECT_EQ(slice.key(), (ObjectKey{"EndpointSlice", "default", "echo-1"}));
    EXPECT_EQ(slice.endpoints, (std::vector<Endpoint>{{{ip("10.244.9.1")}, {}, "", ""}}));
    EXPECT_EQ(slice.ports, (std::vector<EndpointPort>{{"", Protocol::TCP, 7}}));
}

TEST(K8sDecode, EmptyDocumentsAreSkipped) {
    const DecodeResult r =
        decode("---\n---\n# only a comment\n---\n" + service("  ports:\n  - port: 80\n") + "---\n");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    EXPECT_TRUE(r.all_documents_identified);
    EXPECT_EQ(r.services.size(), 1u);
}

TEST(K8sDecode, FqdnSliceKeepsNoAddresses) {
    const DecodeResult r = decode(endpoint_slice(R"(addressType: FQDN
endpoints:
- addresses: ["db.example.com"]
ports:
- name: postgres
  port: 5432
)"));
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    ASSERT_EQ(r.endpoint_slices.size(), 1u);
    EXPECT_EQ(r.endpoint_slices[0].address_type, AddressType::FQDN);
    ASSERT_EQ(r.endpoint_slices[0].endpoints.size(), 1u);
    EXPECT_TRUE(r.endpoint_slices[0].endpoints[0].addresses.empty());
}

TEST(K8sDecode, SlicePortMayBeAbsentOrNull) {
    const DecodeResult r = decode(endpoint_slice(R"(addressType: IPv4
ports:
- name: all
- name: also-all
  port: null
)"));
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    ASSERT_EQ(r.endpoint_slices.size(), 1u);
    EXPECT_EQ(r.endpoint_slices[0].ports,
              (std::vector<EndpointPort>{{"all", Protocol::TCP, std::nullopt},
                                         {"also-all", Protocol::TCP, std::nullopt}}));
}

// --- documents that cannot be identified ---

TEST(K8sDecode, YamlSyntaxError) {
    const DecodeResult r = decode(service("  ports: [80\n  type: ClusterIP\n"));
    EXPECT_EQ(error_texts(r), std::vector<std::string>{
                                  "test.yaml:7:7: invalid YAML: end of sequence flow not found"});
    EXPECT_FALSE(r.all_documents_identified);
    EXPECT_TRUE(r.services.empty());
    EXPECT_TRUE(r.rejected.empty());
}

// yaml-cpp 0.7's LoadAll alone would allocate forever on this.
TEST(K8sDecode, StrayCommaIsASyntaxErrorNotAHang) {
    const DecodeResult r =
        decode("# edited by hand\n, oops\n" + service("  ports:\n  - port: 80\n"));
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{"test.yaml:2:1: invalid YAML: unexpected \",\""});
    EXPECT_FALSE(r.all_documents_identified);
    EXPECT_TRUE(r.services.empty());
}

TEST(K8sDecode, UnknownKind) {
    const DecodeResult r = decode("apiVersion: v1\nkind: Servic\nmetadata:\n  name: web\n");
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{
                  "test.yaml:2:7: kind: unknown kind \"Servic\" (kpr reads v1 Service, "
                  "discovery.k8s.io/v1 EndpointSlice, v1 Pod, v1 Namespace, "
                  "networking.k8s.io/v1 NetworkPolicy and v1 Node, alone or in a v1 List)"});
    EXPECT_FALSE(r.all_documents_identified);
    EXPECT_TRUE(r.rejected.empty());
}

TEST(K8sDecode, MissingKind) {
    const DecodeResult r = decode("apiVersion: v1\nmetadata:\n  name: web\n");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{"test.yaml:1:1: kind: required"});
    EXPECT_FALSE(r.all_documents_identified);
}

TEST(K8sDecode, WrongApiVersion) {
    const DecodeResult r = decode(R"(apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata:
  name: web-abcde
addressType: IPv4
)");
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{
                  "test.yaml:1:13: apiVersion: kpr reads EndpointSlice from "
                  "apiVersion discovery.k8s.io/v1, not \"discovery.k8s.io/v1beta1\""});
    EXPECT_FALSE(r.all_documents_identified);
    EXPECT_TRUE(r.endpoint_slices.empty());
}

TEST(K8sDecode, MissingName) {
    const DecodeResult r = decode(R"(apiVersion: v1
kind: Service
metadata:
  namespace: shop
  labels:
    app: web
spec:
  ports:
  - port: 80
)");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{"test.yaml:4:3: metadata.name: required"});
    EXPECT_FALSE(r.all_documents_identified);
    EXPECT_TRUE(r.rejected.empty());
}

TEST(K8sDecode, DocumentThatIsNotAnObject) {
    const DecodeResult r = decode("- web\n- api\n");
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{"test.yaml:1:1: expected a map, got a list"});
    EXPECT_FALSE(r.all_documents_identified);
}

// --- identified objects with invalid fields ---

TEST(K8sDecode, InvalidClusterIp) {
    const DecodeResult r = decode(service("  clusterIP: 10.0.0.300\n  ports:\n  - port: 80\n"));
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{"test.yaml:6:14: Service default/web: spec.clusterIP: "
                                       "\"10.0.0.300\" is not an IP address"});
    EXPECT_TRUE(r.all_documents_identified);
    EXPECT_TRUE(r.services.empty());
    EXPECT_EQ(r.rejected, std::vector<ObjectKey>{(ObjectKey{"Service", "default", "web"})});
}

TEST(K8sDecode, TwoClusterIpsOfTheSameFamily) {
    const DecodeResult r = decode(service(R"(  clusterIP: 10.96.0.1
  clusterIPs:
  - 10.96.0.1
  - 10.96.0.2
  ports:
  - port: 80
)"));
    EXPECT_EQ(error_texts(r), std::vector<std::string>{
                                  "test.yaml:9:5: Service default/web: spec.clusterIPs[1]: "
                                  "\"10.96.0.2\" is IPv4 like \"10.96.0.1\"; a dual-stack service "
                                  "has one IPv4 and one IPv6 address"});
    EXPECT_EQ(r.rejected.size(), 1u);
}

TEST(K8sDecode, ClusterIpsMustStartWithClusterIp) {
    const DecodeResult r = decode(service(R"(  clusterIP: 10.96.0.1
  clusterIPs: [10.96.0.9, "fd00::9"]
)"));
    EXPECT_EQ(error_texts(r), std::vector<std::string>{
                                  "test.yaml:7:16: Service default/web: spec.clusterIPs[0]: "
                                  "\"10.96.0.9\" does not match spec.clusterIP \"10.96.0.1\""});
}

TEST(K8sDecode, AtMostTwoClusterIps) {
    const DecodeResult r = decode(service("  clusterIPs: [10.96.0.1, \"fd00::1\", 10.96.0.2]\n"));
    EXPECT_EQ(error_texts(r),
              (std::vector<std::string>{
                  "test.yaml:6:15: Service default/web: spec.clusterIPs: at most two addresses "
                  "(one IPv4, one IPv6), got 3",
                  "test.yaml:6:38: Service default/web: spec.clusterIPs[2]: \"10.96.0.2\" is IPv4 "
                  "like \"10.96.0.1\"; a dual-stack service has one IPv4 and one IPv6 address"}));
}

TEST(K8sDecode, PortOutOfRange) {
    const DecodeResult r = decode(service(R"(  ports:
  - name: zero
    port: 0
  - name: big
    port: 70000
  - name: huge
    port: 99999999999999999999
)"));
    EXPECT_EQ(error_texts(r),
              (std::vector<std::string>{
                  "test.yaml:8:11: Service default/web: spec.ports[0].port: 0 is out of range "
                  "1-65535",
                  "test.yaml:10:11: Service default/web: spec.ports[1].port: 70000 is out of range "
                  "1-65535",
                  "test.yaml:12:11: Service default/web: spec.ports[2].port: 99999999999999999999 "
                  "is out of range 1-65535"}));
    EXPECT_EQ(r.rejected.size(), 1u);
}

TEST(K8sDecode, PortNotAnInteger) {
    const DecodeResult r = decode(service("  ports:\n  - port: abc\n"));
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{"test.yaml:7:11: Service default/web: spec.ports[0].port: "
                                       "expected an integer, got \"abc\""});
}

TEST(K8sDecode, QuotedPortIsAString) {
    const DecodeResult r = decode(service("  ports:\n  - port: \"80\"\n"));
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{"test.yaml:7:11: Service default/web: spec.ports[0].port: "
                                       "expected an integer, got \"80\""});
}

TEST(K8sDecode, MissingPort) {
    const DecodeResult r = decode(service("  ports:\n  - name: http\n    targetPort: 8080\n"));
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{
                  "test.yaml:7:5: Service default/web: spec.ports[0].port: required"});
}

TEST(K8sDecode, BadProtocol) {
    const DecodeResult r = decode(service("  ports:\n  - port: 80\n    protocol: HTTP\n"));
    EXPECT_EQ(error_texts(r), std::vector<std::string>{
                                  "test.yaml:8:15: Service default/web: spec.ports[0].protocol: "
                                  "unsupported protocol \"HTTP\" (expected TCP, UDP or SCTP)"});
}

TEST(K8sDecode, DuplicatePortNames) {
    const DecodeResult r = decode(service(R"(  ports:
  - name: http
    port: 80
  - name: http
    port: 8080
)"));
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{"test.yaml:9:11: Service default/web: spec.ports[1].name: "
                                       "duplicate name \"http\" (also spec.ports[0])"});
}

TEST(K8sDecode, DuplicatePortAndProtocol) {
    const DecodeResult r = decode(service(R"(  ports:
  - name: http
    port: 80
  - name: www
    port: 80
    protocol: TCP
)"));
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{"test.yaml:10:11: Service default/web: spec.ports[1].port: "
                                       "duplicate port 80/TCP (also spec.ports[0])"});
}

TEST(K8sDecode, MissingNameWithTwoPorts) {
    const DecodeResult r = decode(service(R"(  ports:
  - port: 80
  - name: https
    port: 443
)"));
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{"test.yaml:7:5: Service default/web: spec.ports[0].name: "
                                       "required when the service has more than one port"});
}

TEST(K8sDecode, InvalidTargetPortName) {
    const DecodeResult r = decode(service(R"(  ports:
  - name: a
    port: 80
    targetPort: http--alt
  - name: b
    port: 81
    targetPort: "8080"
  - name: c
    port: 82
    targetPort: 0
)"));
    EXPECT_EQ(error_texts(r),
              (std::vector<std::string>{
                  "test.yaml:9:17: Service default/web: spec.ports[0].targetPort: \"http--alt\" is "
                  "not a valid port name: must not contain consecutive hyphens",
                  "test.yaml:12:17: Service default/web: spec.ports[1].targetPort: \"8080\" is not "
                  "a valid port name: must contain at least one letter (a-z)",
                  "test.yaml:15:17: Service default/web: spec.ports[2].targetPort: 0 is out of "
                  "range 1-65535"}));
}

TEST(K8sDecode, UnsupportedServiceType) {
    const DecodeResult r = decode(service("  type: Internal\n"));
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{"test.yaml:6:9: Service default/web: spec.type: unsupported "
                                       "service type \"Internal\" (expected ClusterIP, NodePort, "
                                       "LoadBalancer or ExternalName)"});
}

TEST(K8sDecode, EndpointAddressOfTheWrongFamily) {
    const DecodeResult r = decode(endpoint_slice(R"(addressType: IPv4
endpoints:
- addresses:
  - fd00:10:244::5
)"));
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{"test.yaml:8:5: EndpointSlice default/web-abcde: "
                                       "endpoints[0].addresses[0]: \"fd00:10:244::5\" is an IPv6 "
                                       "address but addressType is IPv4"});
    EXPECT_EQ(r.rejected,
              std::vector<ObjectKey>{(ObjectKey{"EndpointSlice", "default", "web-abcde"})});
}

TEST(K8sDecode, InvalidEndpointAddress) {
    const DecodeResult r = decode(endpoint_slice(R"(addressType: IPv6
endpoints:
- addresses: ["fd00::g"]
)"));
    EXPECT_EQ(error_texts(r), std::vector<std::string>{
                                  "test.yaml:7:15: EndpointSlice default/web-abcde: "
                                  "endpoints[0].addresses[0]: \"fd00::g\" is not an IP address"});
}

TEST(K8sDecode, EndpointSliceFieldsRequired) {
    const DecodeResult r = decode(endpoint_slice(R"(endpoints:
- conditions:
    ready: true
- addresses: []
)"));
    EXPECT_EQ(
        error_texts(r),
        (std::vector<std::string>{
            "test.yaml:1:1: EndpointSlice default/web-abcde: addressType: required",
            "test.yaml:6:3: EndpointSlice default/web-abcde: endpoints[0].addresses: required",
            "test.yaml:8:14: EndpointSlice default/web-abcde: endpoints[1].addresses: at "
            "least one address is required"}));
}

TEST(K8sDecode, WrongShapesAreDiagnosticsNotExceptions) {
    const DecodeResult r = decode(R"(apiVersion: v1
kind: Service
metadata: {name: web, labels: {app: [web]}}
spec:
  type: [ClusterIP]
  clusterIP: {v4: 10.0.0.1}
  clusterIPs: 10.0.0.1
  ports:
  - port: {number: 80}
    protocol: [TCP]
    targetPort: {name: http}
    name: [http]
  - 5
)");
    EXPECT_EQ(
        error_texts(r),
        (std::vector<std::string>{
            "test.yaml:3:37: Service default/web: metadata.labels.app: expected a string, "
            "got a list",
            "test.yaml:5:9: Service default/web: spec.type: expected a string, got a list",
            "test.yaml:6:14: Service default/web: spec.clusterIP: expected a string, got a "
            "map",
            "test.yaml:7:15: Service default/web: spec.clusterIPs: expected a list, got "
            "\"10.0.0.1\"",
            "test.yaml:12:11: Service default/web: spec.ports[0].name: expected a string, "
            "got a list",
            "test.yaml:9:11: Service default/web: spec.ports[0].port: expected an integer, "
            "got a map",
            "test.yaml:10:15: Service default/web: spec.ports[0].protocol: expected a "
            "string, got a list",
            "test.yaml:11:17: Service default/web: spec.ports[0].targetPort: expected a port "
            "number or name, got a map",
            "test.yaml:13:5: Service default/web: spec.ports[1]: expected a map, got \"5\""}));
    EXPECT_EQ(r.rejected, std::vector<ObjectKey>{(ObjectKey{"Service", "default", "web"})});
}

TEST(K8sDecode, BooleansAsKubernetesReadsThem) {
    const DecodeResult r = decode(endpoint_slice(R"(addressType: IPv4
endpoints:
- addresses: [10.0.0.1]
  conditions: {ready: False, serving: yes, terminating: "true"}
)"));
    EXPECT_EQ(error_texts(r), std::vector<std::string>{
                                  "test.yaml:8:57: EndpointSlice default/web-abcde: "
                                  "endpoints[0].conditions.terminating: expected true or false, "
                                  "got \"true\""});
}

// Several problems in one file are all reported; valid objects still decode.
TEST(K8sDecode, EveryErrorInAFileIsReported) {
    const DecodeResult r = decode_test_file("invalid.yaml");
    EXPECT_EQ(
        error_texts(r),
        (std::vector<std::string>{
            "invalid.yaml:19:9: Service shop/broken: spec.type: unsupported service type "
            "\"Balanced\" (expected ClusterIP, NodePort, LoadBalancer or ExternalName)",
            "invalid.yaml:20:14: Service shop/broken: spec.clusterIP: \"10.96.0.300\" is not an "
            "IP address",
            "invalid.yaml:23:11: Service shop/broken: spec.ports[0].port: 0 is out of range "
            "1-65535",
            "invalid.yaml:24:15: Service shop/broken: spec.ports[0].protocol: unsupported "
            "protocol \"HTTP\" (expected TCP, UDP or SCTP)",
            "invalid.yaml:26:11: Service shop/broken: spec.ports[1].port: 70000 is out of range "
            "1-65535",
            "invalid.yaml:27:17: Service shop/broken: spec.ports[1].targetPort: \"Web_Port\" is "
            "not a valid port name: must contain only lowercase letters (a-z), digits (0-9) and "
            "hyphens (-)",
            "invalid.yaml:25:11: Service shop/broken: spec.ports[1].name: duplicate name \"http\" "
            "(also spec.ports[0])",
            "invalid.yaml:30:7: kind: unknown kind \"Servic\" (kpr reads v1 Service, "
            "discovery.k8s.io/v1 EndpointSlice, v1 Pod, v1 Namespace, networking.k8s.io/v1 "
            "NetworkPolicy and v1 Node, alone or in a v1 List)",
            "invalid.yaml:44:5: EndpointSlice shop/broken-1: endpoints[0].addresses[0]: "
            "\"fd00::1\" is an IPv6 address but addressType is IPv4",
            "invalid.yaml:46:12: EndpointSlice shop/broken-1: endpoints[0].conditions.ready: "
            "expected true or false, got \"maybe\"",
            "invalid.yaml:47:14: EndpointSlice shop/broken-1: endpoints[1].addresses: at least "
            "one address is required",
            "invalid.yaml:49:9: EndpointSlice shop/broken-1: ports[0].port: expected an integer, "
            "got \"8080\""}));
    EXPECT_FALSE(r.all_documents_identified);
    ASSERT_EQ(r.services.size(), 1u);
    EXPECT_EQ(r.services[0].meta.name, "good");
    EXPECT_EQ(r.rejected, (std::vector<ObjectKey>{{"Service", "shop", "broken"},
                                                  {"EndpointSlice", "shop", "broken-1"}}));
}

// A List item is an object of its own: field paths start at the item.
TEST(K8sDecode, ListItemErrorsNameTheItem) {
    const DecodeResult r = decode(R"(apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
  spec: {ports: [{port: 80}]}
- apiVersion: v1
  kind: Service
  metadata: {name: b}
  spec: {ports: [{port: -1}]}
)");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{
                                  "test.yaml:11:25: Service default/b: spec.ports[0].port: -1 is "
                                  "out of range 1-65535"});
    ASSERT_EQ(r.services.size(), 1u);
    EXPECT_EQ(r.services[0].meta.name, "a");
    EXPECT_EQ(r.rejected, std::vector<ObjectKey>{(ObjectKey{"Service", "default", "b"})});
}

} // namespace
} // namespace kpr::k8s
