// Decoding the north-south fields of a v1/Service (NodePorts, external IPs,
// load-balancer ingress, source ranges, traffic policies, health-check port,
// session affinity) the same way from YAML files, JSON files and the API
// server's JSON, with the API's defaults and a diagnostic per bad field.
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <simdjson.h>

#include "kpr/k8s/api/json_document.hpp"
#include "kpr/k8s/yaml_decode.hpp"
#include "k8s_test_data.hpp"

namespace kpr::k8s {
namespace {

using test_data::error_texts;

net::Address ip(std::string_view text) {
    return *net::Address::parse(text);
}

constexpr std::string_view load_balancer_yaml = R"(apiVersion: v1
kind: Service
metadata:
  name: shop
  namespace: prod
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.20
  ports:
  - name: http
    port: 80
    targetPort: 8080
    nodePort: 30080
  - name: dns
    protocol: UDP
    port: 53
    nodePort: 30053
  externalIPs: [192.0.2.7, "2001:db8::7"]
  loadBalancerSourceRanges: [198.51.100.0/24, 203.0.113.9/32]
  externalTrafficPolicy: Local
  internalTrafficPolicy: Local
  healthCheckNodePort: 31999
  sessionAffinity: ClientIP
  sessionAffinityConfig:
    clientIP:
      timeoutSeconds: 600
status:
  loadBalancer:
    ingress:
    - ip: 203.0.113.50
    - hostname: lb.example.com
    - ip: 203.0.113.51
      ipMode: Proxy
    - ip: 203.0.113.52
      ipMode: VIP
)";

constexpr std::string_view load_balancer_json = R"({"apiVersion": "v1", "kind": "Service",
 "metadata": {"name": "shop", "namespace": "prod"},
 "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.20",
  "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080},
            {"name": "dns", "protocol": "UDP", "port": 53, "nodePort": 30053}],
  "externalIPs": ["192.0.2.7", "2001:db8::7"],
  "loadBalancerSourceRanges": ["198.51.100.0/24", "203.0.113.9/32"],
  "externalTrafficPolicy": "Local", "internalTrafficPolicy": "Local",
  "healthCheckNodePort": 31999,
  "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 600}}},
 "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.50"}, {"hostname": "lb.example.com"},
  {"ip": "203.0.113.51", "ipMode": "Proxy"}, {"ip": "203.0.113.52", "ipMode": "VIP"}]}}}
)";

void expect_load_balancer_fields(const DecodeResult& r) {
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    ASSERT_EQ(r.services.size(), 1u);
    const Service& s = r.services[0];
    EXPECT_EQ(s.type, ServiceType::LoadBalancer);
    ASSERT_EQ(s.ports.size(), 2u);
    EXPECT_EQ(s.ports[0].node_port, 30080);
    EXPECT_EQ(s.ports[1].node_port, 30053);
    EXPECT_EQ(s.ports[1].protocol, Protocol::UDP);
    EXPECT_EQ(s.external_ips, (std::vector<net::Address>{ip("192.0.2.7"), ip("2001:db8::7")}));
    // The hostname-only entry names no address, the Proxy one is the
    // balancer's own business.
    EXPECT_EQ(s.load_balancer_ingress, (std::vector<net::Address>{ip("203.0.113.50"), ip("203.0.113.52")}));
    EXPECT_EQ(s.load_balancer_source_ranges, (std::vector<std::string>{"198.51.100.0/24", "203.0.113.9/32"}));
    EXPECT_EQ(s.external_traffic_policy, TrafficPolicy::Local);
    EXPECT_EQ(s.internal_traffic_policy, TrafficPolicy::Local);
    EXPECT_EQ(s.health_check_node_port, 31999);
    EXPECT_EQ(s.session_affinity, SessionAffinity::ClientIP);
    EXPECT_EQ(s.affinity_timeout_seconds, 600u);
}

TEST(ServiceExternalDecode, FromYaml) {
    expect_load_balancer_fields(decode_yaml(load_balancer_yaml, "svc.yaml"));
}

TEST(ServiceExternalDecode, FromAJsonFile) {
    expect_load_balancer_fields(decode_yaml(load_balancer_json, "svc.json"));
}

TEST(ServiceExternalDecode, FromTheApiServersJson) {
    simdjson::dom::parser parser;
    const simdjson::padded_string text(load_balancer_json);
    const simdjson::dom::element object = parser.parse(text).value();
    DecodeResult r;
    yaml::FieldReader reader("https://api/api/v1/services", r.errors);
    detail::decode_document(reader, yaml::YamlField::document(api::json_document(object, api::services)), r);
    expect_load_balancer_fields(r);
}

TEST(ServiceExternalDecode, DefaultsAsTheApiServerSetsThem) {
    const DecodeResult r = decode_yaml(R"(apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.10
  ports: [{port: 80}]
)",
                                       "svc.yaml");
    ASSERT_EQ(r.services.size(), 1u);
    const Service& s = r.services[0];
    EXPECT_EQ(s.ports[0].node_port, 0);
    EXPECT_TRUE(s.external_ips.empty());
    EXPECT_TRUE(s.load_balancer_ingress.empty());
    EXPECT_EQ(s.external_traffic_policy, TrafficPolicy::Cluster);
    EXPECT_EQ(s.internal_traffic_policy, TrafficPolicy::Cluster);
    EXPECT_EQ(s.health_check_node_port, 0);
    EXPECT_EQ(s.session_affinity, SessionAffinity::None);
    EXPECT_EQ(s.affinity_timeout_seconds, 10800u);
}

TEST(ServiceExternalDecode, EachBadFieldIsNamed) {
    const DecodeResult r = decode_yaml(R"(apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: 10.96.0.10
  ports: [{port: 80, nodePort: 70000}]
  externalIPs: [192.0.2.300]
  externalTrafficPolicy: Global
  internalTrafficPolicy: local
  healthCheckNodePort: "31999"
  sessionAffinity: Sticky
  sessionAffinityConfig: {clientIP: {timeoutSeconds: 86401}}
status:
  loadBalancer:
    ingress: [{ip: not-an-ip}]
)",
                                       "svc.yaml");
    EXPECT_TRUE(r.services.empty());
    EXPECT_EQ(error_texts(r),
              (std::vector<std::string>{
                  "svc.yaml:6:32: Service default/web: spec.ports[0].nodePort: 70000 is out of range 1-65535",
                  "svc.yaml:7:17: Service default/web: spec.externalIPs[0]: \"192.0.2.300\" is not an IP address",
                  "svc.yaml:8:26: Service default/web: spec.externalTrafficPolicy: unsupported value \"Global\" "
                  "(expected Cluster or Local)",
                  "svc.yaml:9:26: Service default/web: spec.internalTrafficPolicy: unsupported value \"local\" "
                  "(expected Cluster or Local)",
                  "svc.yaml:10:24: Service default/web: spec.healthCheckNodePort: expected an integer, got "
                  "\"31999\"",
                  "svc.yaml:11:20: Service default/web: spec.sessionAffinity: unsupported value \"Sticky\" "
                  "(expected None or ClientIP)",
                  "svc.yaml:12:54: Service default/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: "
                  "86401 is out of range 1-86400",
                  "svc.yaml:15:20: Service default/web: status.loadBalancer.ingress[0].ip: \"not-an-ip\" is "
                  "not an IP address",
              }));
}

} // namespace
} // namespace kpr::k8s
