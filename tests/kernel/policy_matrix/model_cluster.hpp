// The upstream network-policy e2e model (test/e2e/network/netpol) in the
// testbed: namespaces x, y, z labelled ns=<name>, each with pods a, b, c
// labelled pod=<name>, all on one emulated node, every pod serving TCP and
// UDP on ports 80 and 81 (kpr-test-server answering with "<ns>/<pod>") under
// the named container ports serve-<port>-<tcp|udp>. It writes the Namespace
// and Pod objects kpr-agent's file source reads, and decodes the same text
// (plus a test's NetworkPolicies) into the input the reference evaluator
// judges, so the agent and the expectation see one cluster.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kpr/policy/policy_compiler.hpp"
#include "testbed/process.hpp"
#include "testbed/topology.hpp"

namespace kpr::testbed::netpol {

inline constexpr std::uint16_t model_ports[] = {80, 81};

struct ModelPod {
    std::string namespace_;
    std::string name;
    const Pod* pod; // its network namespace and addresses in the testbed

    // "x/a": also the name its server answers with.
    std::string key() const { return namespace_ + "/" + name; }
};

class ModelCluster {
  public:
    // The node every model pod runs on (spec.nodeName).
    static constexpr std::string_view node_name = "kpr-node";
    // Blocks holding every pod address the topology hands out.
    static constexpr std::string_view pods_v4 = "10.244.0.0/24";
    static constexpr std::string_view pods_v6 = "fd00:244::/64";

    // Builds the topology kprt-<pid>-<tag>-* and starts the nine servers.
    explicit ModelCluster(std::string_view tag);

    const Topology& topology() const { return topology_; }
    // x/a, x/b, x/c, y/a, ... in that order.
    const std::vector<ModelPod>& pods() const { return pods_; }
    // Throws std::out_of_range for a key that is not "<x|y|z>/<a|b|c>".
    const ModelPod& pod(std::string_view key) const;

    // Label changes (the upstream "updated" cases); the objects written
    // afterwards carry them.
    void set_namespace_label(const std::string& ns, const std::string& key, std::string value);
    void set_pod_label(std::string_view pod_key, const std::string& key, std::string value);
    // Back to the model's own labels: ns=<name> and pod=<name>.
    void reset_labels();

    // The Namespaces and Pods as YAML documents, each ending in "---".
    std::string objects_yaml() const;
    // The cluster kpr-agent reads from objects_yaml() + policies_yaml, decoded
    // by kpr's own decoder; throws std::runtime_error naming every problem
    // when the text does not decode cleanly.
    policy::PolicyInput input(std::string_view policies_yaml) const;

  private:
    Topology topology_;
    std::vector<ModelPod> pods_;
    std::map<std::string, std::map<std::string, std::string>> namespace_labels_;
    std::map<std::string, std::map<std::string, std::string>> pod_labels_;
    std::vector<Process> servers_;
};

} // namespace kpr::testbed::netpol
