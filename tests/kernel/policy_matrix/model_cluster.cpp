// The model cluster: its pods in the testbed, their servers, and the
// Kubernetes objects describing them.
#include "policy_matrix/model_cluster.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "kpr/k8s/yaml_decode.hpp"
#include "testbed/probe.hpp"

namespace kpr::testbed::netpol {
namespace {

const std::vector<std::string> model_namespaces = {"x", "y", "z"};
const std::vector<std::string> model_pod_names = {"a", "b", "c"};

// A label map as a YAML flow mapping, every key and value quoted.
std::string flow_map(const std::map<std::string, std::string>& labels) {
    std::string out = "{";
    for (const auto& [key, value] : labels)
        out += fmt::format("{}\"{}\": \"{}\"", out.size() > 1 ? ", " : "", key, value);
    return out + "}";
}

} // namespace

ModelCluster::ModelCluster(std::string_view tag) : topology_(tag) {
    for (const std::string& ns : model_namespaces)
        for (const std::string& name : model_pod_names)
            pods_.push_back({ns, name, &topology_.add_pod(fmt::format("{}-{}", ns, name))});
    reset_labels();
    std::vector<std::uint16_t> ports(std::begin(model_ports), std::end(model_ports));
    for (const ModelPod& pod : pods_)
        servers_.push_back(start_echo_server(pod.pod->ns, pod.key(), ports));
}

const ModelPod& ModelCluster::pod(std::string_view key) const {
    const auto found = std::ranges::find_if(pods_, [&](const ModelPod& p) { return p.key() == key; });
    if (found == pods_.end())
        throw std::out_of_range(fmt::format("no model pod \"{}\"", key));
    return *found;
}

void ModelCluster::reset_labels() {
    for (const std::string& ns : model_namespaces)
        namespace_labels_[ns] = {{"ns", ns}};
    for (const ModelPod& pod : pods_)
        pod_labels_[pod.key()] = {{"pod", pod.name}};
}

void ModelCluster::set_namespace_label(const std::string& ns, const std::string& key,
                                       std::string value) {
    namespace_labels_.at(ns)[key] = std::move(value);
}

void ModelCluster::set_pod_label(std::string_view pod_key, const std::string& key,
                                 std::string value) {
    pod_labels_.at(pod(pod_key).key())[key] = std::move(value);
}

std::string ModelCluster::objects_yaml() const {
    std::string out;
    for (const auto& [ns, labels] : namespace_labels_)
        out += fmt::format("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n  labels: {}\n---\n",
                           ns, flow_map(labels));
    for (const ModelPod& pod : pods_) {
        std::string ports;
        for (const std::uint16_t port : model_ports)
            for (const char* protocol : {"TCP", "UDP"})
                ports += fmt::format("    - {{name: serve-{}-{}, containerPort: {}, protocol: {}}}\n",
                                     port, protocol[0] == 'T' ? "tcp" : "udp", port, protocol);
        out += fmt::format("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {}\n  namespace: {}\n"
                           "  labels: {}\nspec:\n  nodeName: {}\n  containers:\n  - name: server\n"
                           "    ports:\n{}status:\n  phase: Running\n  podIP: {}\n"
                           "  podIPs: [{{ip: \"{}\"}}, {{ip: \"{}\"}}]\n---\n",
                           pod.name, pod.namespace_, flow_map(pod_labels_.at(pod.key())), node_name,
                           ports, pod.pod->ipv4, pod.pod->ipv4, pod.pod->ipv6);
    }
    return out;
}

policy::PolicyInput ModelCluster::input(std::string_view policies_yaml) const {
    const std::string text = objects_yaml() + std::string(policies_yaml);
    const k8s::DecodeResult decoded = k8s::decode_yaml(text, "model-cluster.yaml");
    if (!decoded.errors.empty() || !decoded.all_documents_identified) {
        std::string problems;
        for (const Diagnostic& d : decoded.errors)
            problems += d.str() + "\n";
        throw std::runtime_error(fmt::format("the model cluster does not decode:\n{}in:\n{}",
                                             problems, text));
    }
    return {decoded.pods, decoded.namespaces, decoded.network_policies,
            {{std::string(node_name), {}}}};
}

} // namespace kpr::testbed::netpol
