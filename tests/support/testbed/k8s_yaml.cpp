// YAML text for the Kubernetes objects tests feed kpr-agent.
#include "testbed/k8s_yaml.hpp"

#include <fmt/format.h>

namespace kpr::testbed {

std::string pod_yaml(const PodObjectSpec& pod) {
    return fmt::format(R"(apiVersion: v1
kind: Pod
metadata:
  name: {0}
  namespace: default
  labels:
    app: {1}
spec:
  nodeName: {2}
  containers:
  - name: main
    ports:
    - name: http
      containerPort: {3}
status:
  phase: Running
  podIP: {4}
  podIPs:
  - ip: {4}
  - ip: {5}
)",
                       pod.name, pod.app, pod.node_name, pod.http_port, pod.ipv4, pod.ipv6);
}

std::string service_yaml(const ServiceSpec& s) {
    std::string out = fmt::format("apiVersion: v1\n"
                                  "kind: Service\n"
                                  "metadata:\n"
                                  "  name: {}\n"
                                  "  namespace: default\n",
                                  s.name);
    if (!s.proxy_name_label.empty())
        out += fmt::format("  labels:\n    service.kubernetes.io/service-proxy-name: {}\n", s.proxy_name_label);
    out += fmt::format("spec:\n  type: {}\n", s.type);
    if (!s.cluster_ips.empty()) {
        out += fmt::format("  clusterIP: {}\n  clusterIPs:\n", s.cluster_ips.front());
        for (const auto& ip : s.cluster_ips)
            out += fmt::format("  - {}\n", ip);
    }
    const auto list = [&out](std::string_view key, const std::vector<std::string>& items) {
        if (items.empty())
            return;
        out += fmt::format("  {}:\n", key);
        for (const auto& item : items)
            out += fmt::format("  - \"{}\"\n", item);
    };
    list("externalIPs", s.external_ips);
    list("loadBalancerSourceRanges", s.load_balancer_source_ranges);
    if (!s.external_traffic_policy.empty())
        out += fmt::format("  externalTrafficPolicy: {}\n", s.external_traffic_policy);
    if (s.health_check_node_port != 0)
        out += fmt::format("  healthCheckNodePort: {}\n", s.health_check_node_port);
    if (!s.session_affinity.empty())
        out += fmt::format("  sessionAffinity: {}\n", s.session_affinity);
    if (s.affinity_timeout_seconds != 0)
        out += fmt::format("  sessionAffinityConfig:\n    clientIP:\n      timeoutSeconds: {}\n",
                           s.affinity_timeout_seconds);
    out += "  ports:\n";
    for (const auto& p : s.ports) {
        out += fmt::format("  - name: {}\n    port: {}\n    protocol: {}\n    targetPort: {}\n",
                           p.name.empty() ? "\"\"" : p.name, p.port, p.protocol, p.target_port);
        if (p.node_port != 0)
            out += fmt::format("    nodePort: {}\n", p.node_port);
    }
    if (!s.load_balancer_ingress.empty()) {
        out += "status:\n  loadBalancer:\n    ingress:\n";
        for (const auto& ip : s.load_balancer_ingress)
            out += fmt::format("    - ip: \"{}\"\n", ip);
    }
    return out;
}

std::string endpoint_slice_yaml(const EndpointSliceSpec& s) {
    std::string out = fmt::format("apiVersion: discovery.k8s.io/v1\n"
                                  "kind: EndpointSlice\n"
                                  "metadata:\n"
                                  "  name: {}\n"
                                  "  namespace: default\n"
                                  "  labels:\n"
                                  "    kubernetes.io/service-name: {}\n"
                                  "    endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io\n"
                                  "addressType: {}\n"
                                  "ports:\n",
                                  s.name, s.service, s.address_type);
    for (const auto& p : s.ports)
        out += fmt::format("- name: {}\n  port: {}\n  protocol: {}\n", p.name.empty() ? "\"\"" : p.name, p.port,
                           p.protocol);
    out += s.endpoints.empty() ? "endpoints: []\n" : "endpoints:\n";
    for (const auto& e : s.endpoints)
        out += fmt::format("- addresses: [\"{}\"]\n"
                           "  conditions: {{ready: {}, serving: {}, terminating: {}}}\n"
                           "  nodeName: {}\n",
                           e.address, e.ready, e.serving, e.terminating, e.node_name);
    return out;
}

std::string yaml_documents(const std::vector<std::string>& documents) {
    std::string out;
    for (const auto& d : documents) {
        if (!out.empty())
            out += "---\n";
        out += d;
    }
    return out;
}

} // namespace kpr::testbed
