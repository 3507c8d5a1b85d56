// The upstream e2e cases as NetworkPolicy YAML over the model cluster.
#include "policy_matrix/upstream_cases.hpp"

#include <fmt/format.h>

#include "policy_reference.hpp"

namespace kpr::testbed::netpol {
namespace {

using policy::testing::network_policy;

// Policies that do not depend on the cluster's addresses.
std::function<std::string(const ModelCluster&)> fixed(std::string yaml) {
    return [yaml = std::move(yaml)](const ModelCluster&) { return yaml; };
}

std::string v4_host(const ModelCluster& c, std::string_view pod) {
    return c.pod(pod).pod->ipv4 + "/32";
}
std::string v6_host(const ModelCluster& c, std::string_view pod) {
    return c.pod(pod).pod->ipv6 + "/128";
}

// The block holding every model pod address: the topology's pod range.
constexpr std::string_view pods_v4 = "10.244.0.0/24";
constexpr std::string_view pods_v6 = "fd00:244::/64";

std::vector<MatrixCase> make_cases() {
    return {
        {"NoPolicy", fixed("")},
        // "should support a 'default-deny-ingress' policy"
        {"DefaultDenyIngress", fixed(network_policy("x", "deny-ingress", R"(
  podSelector: {}
  policyTypes: [Ingress]
)"))},
        // "should enforce egress policy ... default-deny-egress"
        {"DefaultDenyEgress", fixed(network_policy("x", "deny-egress", R"(
  podSelector: {}
  policyTypes: [Egress]
)"))},
        // "should support a 'default-deny-all' policy"
        {"DefaultDenyAll", fixed(network_policy("x", "deny-all", R"(
  podSelector: {}
  policyTypes: [Ingress, Egress]
)"))},
        // "should enforce policy to allow traffic from pods within server namespace based on PodSelector"
        {"AllowFromPodLabels", fixed(network_policy("x", "x-a-from-b", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - podSelector: {matchLabels: {pod: b}}
)"))},
        // "should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector"
        {"AllowFromNamespace", fixed(network_policy("x", "x-a-from-y", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
)"))},
        // "should enforce policy based on NamespaceSelector with MatchExpressions using default ns label"
        {"AllowFromNamespaceByDefaultNameLabel", fixed(network_policy("x", "x-a-from-y-by-name", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions:
        - {key: kubernetes.io/metadata.name, operator: In, values: [y]}
)"))},
        // "should enforce policy based on PodSelector and NamespaceSelector"
        {"AllowFromPodLabelsAndNamespace", fixed(network_policy("x", "x-a-from-b-c-not-in-x", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector:
        matchExpressions:
        - {key: ns, operator: NotIn, values: [x]}
      podSelector:
        matchExpressions:
        - {key: pod, operator: In, values: [b, c]}
)"))},
        // "should enforce policy based on PodSelector or NamespaceSelector"
        {"AllowFromPodLabelsOrNamespace", fixed(network_policy("x", "x-a-from-b-or-y", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    - podSelector: {matchLabels: {pod: b}}
)"))},
        // "should enforce policy based on Ports"
        {"Ports", fixed(network_policy("x", "x-a-tcp-81-from-y", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    ports:
    - {port: 81, protocol: TCP}
)"))},
        // "should enforce ingress policy allowing any port traffic to a server on a specific protocol"
        {"AnyPortOnOneProtocol", fixed(network_policy("x", "x-a-any-udp", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports: [{protocol: UDP}]
)"))},
        // "should support a 'ports' with 'endPort' field", on TCP and on UDP
        {"EndPortRanges", fixed(network_policy("x", "x-a-ranges", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports:
    - {port: 75, endPort: 80, protocol: TCP}
    - {port: 81, endPort: 90, protocol: UDP}
)"))},
        // "should allow ingress access on one named port"
        {"IngressOnNamedPort", fixed(network_policy("x", "named-81-udp", R"(
  podSelector: {}
  ingress:
  - ports:
    - {port: serve-81-udp, protocol: UDP}
)"))},
        // "should allow ingress access from namespace on one named port"
        {"IngressFromNamespaceOnNamedPort", fixed(network_policy("x", "named-80-from-y", R"(
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    ports:
    - {port: serve-80-tcp, protocol: TCP}
)"))},
        // "should allow egress access on one named port"
        {"EgressOnNamedPort", fixed(network_policy("x", "egress-named-80-udp", R"(
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - ports:
    - {port: serve-80-udp, protocol: UDP}
)"))},
        // "should enforce egress policy allowing traffic to a server in a different namespace
        // based on PodSelector and NamespaceSelector"
        {"EgressToPodLabelsInNamespace", fixed(network_policy("x", "x-a-to-y-b", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {ns: y}}
      podSelector: {matchLabels: {pod: b}}
)"))},
        // "should allow egress access to server in CIDR block"
        {"EgressToCidr", [](const ModelCluster& c) {
             return network_policy("x", "x-a-to-y-b-cidr", fmt::format(R"(
  podSelector: {{matchLabels: {{pod: a}}}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {{cidr: "{}"}}
    - ipBlock: {{cidr: "{}"}}
)",
                                                                          v4_host(c, "y/b"),
                                                                          v6_host(c, "y/b")));
         }},
        // "should enforce except clause while egress access to server in CIDR block"
        {"EgressToCidrWithExcept", [](const ModelCluster& c) {
             return network_policy("x", "x-a-except-y-b", fmt::format(R"(
  podSelector: {{matchLabels: {{pod: a}}}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {{cidr: "{}", except: ["{}"]}}
    - ipBlock: {{cidr: "{}", except: ["{}"]}}
)",
                                                                         pods_v4, v4_host(c, "y/b"),
                                                                         pods_v6, v6_host(c, "y/b")));
         }},
        // "should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed"
        {"CidrAndExceptAcrossTwoPolicies", [](const ModelCluster& c) {
             return network_policy("x", "x-a-except-y-b", fmt::format(R"(
  podSelector: {{matchLabels: {{pod: a}}}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {{cidr: "{}", except: ["{}"]}}
)",
                                                                      pods_v4, v4_host(c, "y/b"))) +
                    network_policy("x", "x-a-to-y-b", fmt::format(R"(
  podSelector: {{matchLabels: {{pod: a}}}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {{cidr: "{}"}}
)",
                                                                  v4_host(c, "y/b")));
         }},
        // ipBlock with except on ingress, and a v4 block leaving IPv6 out
        {"IngressFromCidrWithExcept", [](const ModelCluster& c) {
             return network_policy("y", "from-pods-but-x-a-x-b", fmt::format(R"(
  podSelector: {{}}
  ingress:
  - from:
    - ipBlock: {{cidr: "{}", except: ["{}", "{}"]}}
)",
                                                                             pods_v4, v4_host(c, "x/a"),
                                                                             v4_host(c, "x/b")));
         }},
        // "should work with Ingress, Egress specified together" and "should enforce multiple,
        // stacked policies with overlapping podSelectors"
        {"StackedPolicies", fixed(network_policy("x", "allow-81-from-y", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    ports: [{port: 81}]
)") + network_policy("x", "allow-80-from-y", R"(
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: y}}
    ports: [{port: 80}]
)") + network_policy("z", "z-deny-egress", R"(
  podSelector: {matchLabels: {pod: c}}
  policyTypes: [Egress]
  egress:
  - to:
    - namespaceSelector: {matchLabels: {ns: z}}
)"))},
        // "should deny egress from pods based on PodSelector" with the server's ingress allowing it
        {"ClientEgressDenyBeatsServerAllow", fixed(network_policy("x", "x-a-no-egress", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
)") + network_policy("z", "z-b-from-x-a", R"(
  podSelector: {matchLabels: {pod: b}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns: x}}
      podSelector: {matchLabels: {pod: a}}
)"))},
        // "should allow ingress access from updated namespace" (labels changed, policy unchanged)
        {"IngressFromUpdatedNamespace",
         fixed(network_policy("x", "x-a-from-ns2-updated", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {ns2: updated}}
)")),
         [](ModelCluster& c) { c.set_namespace_label("y", "ns2", "updated"); }},
        // "should allow ingress access from updated pod" and "should deny ingress access to
        // updated pod"
        {"IngressFromUpdatedPodAndToUpdatedPod",
         fixed(network_policy("x", "x-a-from-b-updated", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from:
    - podSelector: {matchLabels: {pod: b, pod2: updated}}
)")),
         [](ModelCluster& c) {
             c.set_pod_label("x/b", "pod2", "updated");
             c.set_pod_label("x/c", "pod", "a");
         }},
        // "should not allow access by TCP when a policy specifies only UDP"
        {"UdpOnlyDeniesTcp", fixed(network_policy("x", "x-a-udp-81", R"(
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - ports: [{port: 81, protocol: UDP}]
)"))},
        // all of IPv4 allowed leaves IPv6 out
        {"AllIpv4LeavesIpv6Out", fixed(network_policy("y", "from-all-ipv4", R"(
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 0.0.0.0/0}
)"))},
        // "should support allow-all policy" next to a narrower one
        {"AllowAllOverNarrowPolicies", fixed(network_policy("x", "narrow", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress, Egress]
  ingress:
  - ports: [{port: 80}]
  egress:
  - ports: [{port: 80}]
)") + network_policy("x", "allow-all", R"(
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress, Egress]
  ingress: [{}]
  egress: [{}]
)") + network_policy("z", "z-narrow", R"(
  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress:
  - ports: [{port: 81, protocol: UDP}]
  egress:
  - ports: [{port: 80}]
)"))},
    };
}

} // namespace

const std::vector<MatrixCase>& upstream_cases() {
    static const std::vector<MatrixCase> cases = make_cases();
    return cases;
}

void PrintTo(const MatrixCase& c, std::ostream* out) {
    *out << c.name;
}

} // namespace kpr::testbed::netpol
