// Decoding Pods, Namespaces, NetworkPolicies and Nodes: kubectl's output decodes
// into the typed model with the API server's defaults, and every rule the
// API server enforces on the fields kpr reads yields its diagnostic.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "k8s_test_data.hpp"
#include "kpr/k8s/file_source.hpp"
#include "kpr/k8s/yaml_decode.hpp"

namespace kpr::k8s {
namespace {

using test_data::error_texts;
using test_data::read_test_file;

net::Address ip(std::string_view text) {
    return *net::Address::parse(text);
}
net::Prefix cidr(std::string_view text) {
    return *net::Prefix::parse(text);
}

// A NetworkPolicy default/p whose spec's first line is line 6.
DecodeResult policy(std::string_view spec) {
    return decode_yaml(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\nspec:\n" +
            std::string(spec),
        "test.yaml");
}

TEST(PolicyObjectsDecode, KubectlOutputDecodes) {
    const DecodeResult r =
        decode_yaml(read_test_file("policy_objects.yaml"), "policy_objects.yaml");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    ASSERT_EQ(r.namespaces.size(), 2u);
    ASSERT_EQ(r.pods.size(), 2u);
    ASSERT_EQ(r.network_policies.size(), 3u);

    EXPECT_EQ(r.namespaces[0].key(), (ObjectKey{"Namespace", "", "shop"}));
    EXPECT_EQ(r.namespaces[0].meta.labels,
              (Labels{{"kubernetes.io/metadata.name", "shop"}, {"team", "red"}}));
    // The API server's own label, added where the input lacks it.
    EXPECT_EQ(r.namespaces[1].meta.labels, (Labels{{"kubernetes.io/metadata.name", "monitoring"}}));

    const Pod& web = r.pods[0];
    EXPECT_EQ(web.key(), (ObjectKey{"Pod", "shop", "web-7d9f8-abcde"}));
    EXPECT_EQ(web.node_name, "node-1");
    EXPECT_FALSE(web.host_network);
    EXPECT_EQ(web.phase, PodPhase::Running);
    EXPECT_EQ(web.ips, (std::vector<net::Address>{ip("10.244.1.5"), ip("fd00:244:1::5")}));
    EXPECT_EQ(web.container_ports, (std::vector<ContainerPort>{{"http", 8080, Protocol::TCP},
                                                               {"", 9090, Protocol::TCP},
                                                               {"dns", 53, Protocol::UDP}}));
    EXPECT_EQ(web.named_port("http", Protocol::TCP), 8080);
    EXPECT_EQ(web.named_port("http", Protocol::UDP), std::nullopt);
    EXPECT_EQ(web.named_port("dns", Protocol::UDP), 53);

    const Pod& exporter = r.pods[1];
    EXPECT_TRUE(exporter.host_network);
    EXPECT_EQ(exporter.ips, std::vector<net::Address>{ip("192.168.0.2")});
    EXPECT_TRUE(exporter.container_ports.empty());
}

TEST(PolicyObjectsDecode, FullNetworkPolicySpec) {
    const DecodeResult r =
        decode_yaml(read_test_file("policy_objects.yaml"), "policy_objects.yaml");
    ASSERT_EQ(r.network_policies.size(), 3u);
    const NetworkPolicy& web = r.network_policies[0];
    EXPECT_EQ(web.key(), (ObjectKey{"NetworkPolicy", "shop", "web"}));
    EXPECT_EQ(web.pod_selector, (LabelSelector{{{"app", "web"}}, {}}));
    EXPECT_TRUE(web.ingress_type);
    EXPECT_TRUE(web.egress_type);

    ASSERT_EQ(web.ingress.size(), 1u);
    const NetworkPolicyRule& in = web.ingress[0];
    ASSERT_EQ(in.peers.size(), 2u);
    EXPECT_EQ(in.peers[0].namespace_selector, (LabelSelector{{{"team", "red"}}, {}}));
    EXPECT_EQ(in.peers[0].pod_selector,
              (LabelSelector{{}, {{"role", SelectorOperator::In, {"admin", "frontend"}}}}));
    EXPECT_FALSE(in.peers[0].ip_block);
    EXPECT_FALSE(in.peers[1].pod_selector);
    EXPECT_FALSE(in.peers[1].namespace_selector);
    EXPECT_EQ(in.peers[1].ip_block, (IpBlock{cidr("172.17.0.0/16"), {cidr("172.17.1.0/24")}}));
    ASSERT_EQ(in.ports.size(), 2u);
    EXPECT_EQ(in.ports[0], (NetworkPolicyPort{Protocol::TCP, std::string("http"), std::nullopt}));
    EXPECT_EQ(in.ports[1],
              (NetworkPolicyPort{Protocol::TCP, std::uint16_t{32000}, std::uint16_t{32768}}));

    ASSERT_EQ(web.egress.size(), 2u);
    EXPECT_EQ(web.egress[0].peers[0].namespace_selector, LabelSelector{});
    EXPECT_EQ(web.egress[0].ports[0],
              (NetworkPolicyPort{Protocol::UDP, std::uint16_t{53}, std::nullopt}));
    EXPECT_EQ(web.egress[0].ports[1],
              (NetworkPolicyPort{Protocol::SCTP, std::nullopt, std::nullopt}));
    // "- {}": the rule that allows everything.
    EXPECT_EQ(web.egress[1], NetworkPolicyRule{});
}

TEST(PolicyObjectsDecode, PolicyTypesDefaultAsTheApiServerDefaultsThem) {
    const DecodeResult r =
        decode_yaml(read_test_file("policy_objects.yaml"), "policy_objects.yaml");
    ASSERT_EQ(r.network_policies.size(), 3u);
    const NetworkPolicy& deny = r.network_policies[1];
    EXPECT_TRUE(deny.ingress_type);
    EXPECT_FALSE(deny.egress_type);
    EXPECT_TRUE(deny.ingress.empty());
    const NetworkPolicy& egress = r.network_policies[2];
    // Absent podSelector: the empty selector (every pod); egress rules
    // given, so Egress is added to the default Ingress.
    EXPECT_TRUE(egress.pod_selector.empty());
    EXPECT_TRUE(egress.ingress_type);
    EXPECT_TRUE(egress.egress_type);
    // Host bits cleared, as net.ParseCIDR reads "10.0.0.1/8".
    EXPECT_EQ(egress.egress[0].peers[0].ip_block->cidr, cidr("10.0.0.0/8"));
}

TEST(PolicyObjectsDecode, EveryViolationIsReported) {
    const DecodeResult r =
        decode_yaml(read_test_file("policy_invalid.yaml"), "policy_invalid.yaml");
    EXPECT_EQ(
        error_texts(r),
        (std::vector<std::string>{
            "policy_invalid.yaml:20:16: NetworkPolicy shop/broken: "
            "spec.podSelector.matchLabels.bad key: "
            "\"bad key\" is not a valid label key: name part must consist of alphanumeric "
            "characters, '-', '_' or '.'",
            "policy_invalid.yaml:12:17: NetworkPolicy shop/broken: "
            "spec.podSelector.matchExpressions[0].operator: "
            "\"Equals\" is not a valid selector operator (expected In, NotIn, Exists or "
            "DoesNotExist)",
            "policy_invalid.yaml:14:7: NetworkPolicy shop/broken: "
            "spec.podSelector.matchExpressions[1].values: "
            "must be specified when operator is In",
            "policy_invalid.yaml:18:15: NetworkPolicy shop/broken: "
            "spec.podSelector.matchExpressions[2].values: "
            "may not be specified when operator is Exists",
            "policy_invalid.yaml:26:18: NetworkPolicy shop/broken: "
            "spec.ingress[0].from[0].ipBlock.except[0]: "
            "10.1.0.0/24 must be a strict subset of cidr 10.0.0.0/16",
            "policy_invalid.yaml:26:31: NetworkPolicy shop/broken: "
            "spec.ingress[0].from[0].ipBlock.except[1]: "
            "10.0.0.0/16 must be a strict subset of cidr 10.0.0.0/16",
            "policy_invalid.yaml:26:44: NetworkPolicy shop/broken: "
            "spec.ingress[0].from[0].ipBlock.except[2]: "
            "fd00::/64 must be a strict subset of cidr 10.0.0.0/16",
            "policy_invalid.yaml:24:7: NetworkPolicy shop/broken: spec.ingress[0].from[0]: "
            "may not specify both ipBlock and another peer",
            "policy_invalid.yaml:28:7: NetworkPolicy shop/broken: spec.ingress[0].from[1]: "
            "must specify a peer (podSelector, namespaceSelector or ipBlock)",
            "policy_invalid.yaml:30:15: NetworkPolicy shop/broken: "
            "spec.ingress[0].from[2].ipBlock.cidr: "
            "\"10.0.0.0/33\" is not a CIDR block (such as 10.0.0.0/16 or fd00::/64)",
            "policy_invalid.yaml:33:16: NetworkPolicy shop/broken: "
            "spec.ingress[0].ports[0].endPort: "
            "must be greater than or equal to port (79 < 80)",
            "policy_invalid.yaml:35:16: NetworkPolicy shop/broken: "
            "spec.ingress[0].ports[1].endPort: "
            "may not be specified when port is non-numeric",
            "policy_invalid.yaml:36:16: NetworkPolicy shop/broken: "
            "spec.ingress[0].ports[2].endPort: "
            "may not be specified when port is not specified",
            "policy_invalid.yaml:37:13: NetworkPolicy shop/broken: spec.ingress[0].ports[3].port: "
            "\"Web_Port\" is not a valid port name: must contain only lowercase letters (a-z), "
            "digits (0-9) and hyphens (-)",
            "policy_invalid.yaml:39:17: NetworkPolicy shop/broken: "
            "spec.ingress[0].ports[4].protocol: "
            "unsupported protocol \"ICMP\" (expected TCP, UDP or SCTP)",
            "policy_invalid.yaml:38:13: NetworkPolicy shop/broken: spec.ingress[0].ports[4].port: "
            "0 is out of range 1-65535",
            "policy_invalid.yaml:21:26: NetworkPolicy shop/broken: spec.policyTypes[1]: "
            "unsupported policy type \"Sideways\" (expected Ingress or Egress)",
            "policy_invalid.yaml:47:16: Pod shop/broken-pod: spec.hostNetwork: expected true or "
            "false, got \"maybe\"",
            "policy_invalid.yaml:52:13: Pod shop/broken-pod: spec.containers[0].ports[1].name: "
            "duplicate port name \"http\" (also spec.containers[0].ports[0])",
            "policy_invalid.yaml:54:7: Pod shop/broken-pod: "
            "spec.containers[0].ports[2].containerPort: required",
            "policy_invalid.yaml:54:13: Pod shop/broken-pod: spec.containers[0].ports[2].name: "
            "\"Not_A_Name\" is not a valid port name: must contain only lowercase letters (a-z), "
            "digits (0-9) and hyphens (-)",
            "policy_invalid.yaml:55:22: Pod shop/broken-pod: "
            "spec.containers[0].ports[3].containerPort: 70000 is out of range 1-65535",
            "policy_invalid.yaml:56:17: Pod shop/broken-pod: spec.containers[0].ports[3].protocol: "
            "unsupported protocol \"ICMP\" (expected TCP, UDP or SCTP)",
            "policy_invalid.yaml:58:10: Pod shop/broken-pod: status.phase: "
            "unsupported phase \"Exploded\" (expected Pending, Running, Succeeded, Failed or "
            "Unknown)",
            "policy_invalid.yaml:61:9: Pod shop/broken-pod: status.podIPs[0].ip: \"10.0.0.2\" does "
            "not match status.podIP \"10.0.0.1\"",
            "policy_invalid.yaml:62:9: Pod shop/broken-pod: status.podIPs[1].ip: "
            "\"10.0.0.3\" is the second IPv4 address; a pod has at most one per family",
            "policy_invalid.yaml:63:5: Pod shop/broken-pod: status.podIPs[2].ip: required",
            "policy_invalid.yaml:70:34: Namespace shop: "
            "metadata.labels.kubernetes.io/metadata.name: "
            "must be the namespace's name \"shop\", not \"other\"",
        }));
    EXPECT_TRUE(r.network_policies.empty());
    EXPECT_TRUE(r.pods.empty());
    EXPECT_TRUE(r.namespaces.empty());
    EXPECT_EQ(r.rejected, (std::vector<ObjectKey>{{"NetworkPolicy", "shop", "broken"},
                                                  {"Pod", "shop", "broken-pod"},
                                                  {"Namespace", "", "shop"}}));
}

TEST(PolicyObjectsDecode, NamespaceIsClusterScoped) {
    const DecodeResult r = decode_yaml(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  namespace: b\n", "test.yaml");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    ASSERT_EQ(r.namespaces.size(), 1u);
    EXPECT_EQ(r.namespaces[0].key(), (ObjectKey{"Namespace", "", "a"}));
}

TEST(PolicyObjectsDecode, NodeKeepsItsIpAddressesOnceAndSkipsNames) {
    const DecodeResult r = decode_yaml(R"(apiVersion: v1
kind: Node
metadata: {name: node-1}
status:
  addresses:
  - {type: InternalIP, address: 192.168.0.1}
  - {type: InternalIP, address: "fd01::1"}
  - {type: Hostname, address: node-1}
  - {type: ExternalIP, address: 192.168.0.1}
  - {type: ExternalIP, address: 203.0.113.7}
)",
                                       "test.yaml");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    ASSERT_EQ(r.nodes.size(), 1u);
    EXPECT_EQ(r.nodes[0].key(), (ObjectKey{"Node", "", "node-1"}));
    EXPECT_EQ(r.nodes[0].addresses, (std::vector<net::Address>{ip("192.168.0.1"), ip("fd01::1"), ip("203.0.113.7")}));

    const DecodeResult bad = decode_yaml(
        "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus:\n  addresses:\n  - {type: InternalIP, "
        "address: 10.0.0.300}\n",
        "test.yaml");
    ASSERT_EQ(bad.errors.size(), 1u);
    EXPECT_NE(bad.errors[0].str().find("Node n: status.addresses[0].address"), std::string::npos)
        << bad.errors[0].str();
    EXPECT_EQ(bad.rejected, (std::vector<ObjectKey>{{"Node", "", "n"}}));
}

TEST(PolicyObjectsDecode, QuotedPortIsANameAndMustLookLikeOne) {
    const DecodeResult r = policy("  ingress:\n  - ports:\n    - port: \"80\"\n");
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{"test.yaml:8:13: NetworkPolicy default/p: "
                                       "spec.ingress[0].ports[0].port: \"80\" is not a valid "
                                       "port name: must contain at least one letter (a-z)"});
}

TEST(PolicyObjectsDecode, EmptyIngressListIsDenyAll) {
    const DecodeResult r = policy("  podSelector: {}\n  ingress: []\n  policyTypes: [Ingress]\n");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    ASSERT_EQ(r.network_policies.size(), 1u);
    EXPECT_TRUE(r.network_policies[0].ingress.empty());
    EXPECT_TRUE(r.network_policies[0].ingress_type);
}

TEST(PolicyObjectsDecode, TooManyPolicyTypes) {
    const DecodeResult r = policy("  policyTypes: [Ingress, Egress, Ingress]\n");
    EXPECT_EQ(error_texts(r),
              std::vector<std::string>{"test.yaml:6:16: NetworkPolicy default/p: spec.policyTypes: "
                                       "may not specify more than two policyTypes"});
}

TEST(PolicyObjectsDecode, SelectorValuesAreLabelValues) {
    const DecodeResult r =
        policy("  podSelector:\n    matchLabels: {app: -web}\n    matchExpressions:\n"
               "    - {key: example.com/tier, operator: NotIn, values: [ok, \"no way\"]}\n"
               "    - {key: Example.com/x, operator: Exists}\n");
    EXPECT_EQ(
        error_texts(r),
        (std::vector<std::string>{
            "test.yaml:7:24: NetworkPolicy default/p: spec.podSelector.matchLabels.app: \"-web\" "
            "is not a valid "
            "label value: must begin and end with an alphanumeric character",
            "test.yaml:9:61: NetworkPolicy default/p: "
            "spec.podSelector.matchExpressions[0].values[1]: \"no way\" is "
            "not a valid label value: must consist of alphanumeric characters, '-', '_' or '.'",
            "test.yaml:10:13: NetworkPolicy default/p: spec.podSelector.matchExpressions[1].key: "
            "\"Example.com/x\" "
            "is not a valid label key: prefix must be a lowercase DNS subdomain (parts begin and "
            "end with a-z or 0-9)"}));
}

TEST(PolicyObjectsDecode, PodWithOnlyPodIp) {
    const DecodeResult r = decode_yaml("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {}\n"
                                       "status: {phase: Pending, podIP: \"fd00::9\"}\n",
                                       "test.yaml");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    ASSERT_EQ(r.pods.size(), 1u);
    EXPECT_EQ(r.pods[0].ips, std::vector<net::Address>{ip("fd00::9")});
    EXPECT_EQ(r.pods[0].phase, PodPhase::Pending);
}

TEST(PolicyObjectsDecode, JsonListAsKubectlPrintsIt) {
    const DecodeResult r = decode_yaml(R"({"apiVersion": "v1", "kind": "List", "items": [
      {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
       "metadata": {"name": "db", "namespace": "shop"},
       "spec": {"podSelector": {"matchLabels": {"app": "db"}},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {"matchExpressions": [
                                 {"key": "app", "operator": "NotIn", "values": ["batch"]}]}}],
                             "ports": [{"protocol": "TCP", "port": 5432, "endPort": 5433},
                                       {"protocol": "TCP", "port": "pg-admin"}]}]}},
      {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0", "namespace": "shop"},
       "spec": {"nodeName": "n1", "hostNetwork": false,
                "containers": [{"ports": [{"name": "pg-admin", "containerPort": 5050}]}]},
       "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.7"}]}}]})",
                                       "list.json");
    EXPECT_EQ(error_texts(r), std::vector<std::string>{});
    ASSERT_EQ(r.network_policies.size(), 1u);
    const NetworkPolicyRule& rule = r.network_policies[0].ingress.at(0);
    EXPECT_EQ(rule.ports.at(0),
              (NetworkPolicyPort{Protocol::TCP, std::uint16_t{5432}, std::uint16_t{5433}}));
    EXPECT_EQ(rule.ports.at(1),
              (NetworkPolicyPort{Protocol::TCP, std::string("pg-admin"), std::nullopt}));
    EXPECT_EQ(rule.peers.at(0).pod_selector->match_expressions.at(0).op, SelectorOperator::NotIn);
    ASSERT_EQ(r.pods.size(), 1u);
    EXPECT_EQ(r.pods[0].named_port("pg-admin", Protocol::TCP), 5050);
    EXPECT_EQ(r.pods[0].ips, std::vector<net::Address>{ip("10.0.0.7")});
}

// The file source reads the policy kinds too and keeps each one's last
// good version when an edit breaks it.
TEST(PolicyObjectsDecode, FileSourceKeepsLastGoodPolicyObjects) {
    namespace fs = std::filesystem;
    std::string pattern = (fs::temp_directory_path() / "kpr-policy-source-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    const fs::path dir = pattern;
    const fs::path file = dir / "objects.yaml";
    std::ofstream(file, std::ios::trunc) << read_test_file("policy_objects.yaml");
    FileSource source({dir});
    EXPECT_TRUE(source.reload().empty());
    EXPECT_EQ(source.state().pods.size(), 2u);
    EXPECT_EQ(source.state().namespaces.size(), 2u);
    EXPECT_EQ(source.state().network_policies.size(), 3u);
    const NetworkPolicy before =
        source.state().network_policies.at({"NetworkPolicy", "shop", "web"});

    std::string text = read_test_file("policy_objects.yaml");
    const std::string good = "      port: 32000\n      endPort: 32768";
    ASSERT_NE(text.find(good), std::string::npos);
    text.replace(text.find(good), good.size(), "      port: 32000\n      endPort: 31999");
    std::ofstream(file, std::ios::trunc) << text;
    const std::vector<Diagnostic> problems = source.reload();
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].field, "spec.ingress[0].ports[1].endPort");
    EXPECT_EQ(source.state().network_policies.at({"NetworkPolicy", "shop", "web"}), before);
    EXPECT_EQ(source.state().pods.size(), 2u);
    fs::remove_all(dir);
}

} // namespace
} // namespace kpr::k8s
