// JSON text for the Kubernetes objects the API server stand-in serves.
#include "apiserver/k8s_json.hpp"

#include <functional>
#include <vector>

#include <fmt/format.h>

namespace kpr::testbed::apiserver {

namespace {

// A stable uid derived from the object's identity.
std::string uid_of(const std::string& kind, const std::string& namespace_, const std::string& name) {
    const auto h = std::hash<std::string>{}(kind + "/" + namespace_ + "/" + name);
    return fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", h & 0xffffffffu, (h >> 32) & 0xffffu, (h >> 48) & 0xfffu,
                       (h >> 20) & 0xfffu, h & 0xffffffffffffu);
}

std::string labels_json(const std::map<std::string, std::string>& labels) {
    std::vector<std::string> entries;
    for (const auto& [k, v] : labels)
        entries.push_back(fmt::format("{:?}:{:?}", k, v));
    return fmt::format("{{{}}}", fmt::join(entries, ","));
}

std::string metadata_json(const std::string& kind, const std::string& namespace_, const std::string& name,
                          const std::map<std::string, std::string>& labels, const std::string& manager,
                          const std::string& extra = "") {
    const std::string ns = namespace_.empty() ? "" : fmt::format(R"("namespace":{:?},)", namespace_);
    return fmt::format(R"("metadata":{{"name":{:?},{}"uid":"{}","creationTimestamp":"2026-11-25T08:00:00Z",)"
                       R"("labels":{},{}"managedFields":[{{"manager":"{}","operation":"Update",)"
                       R"("apiVersion":"v1","time":"2026-11-25T08:00:00Z","fieldsType":"FieldsV1",)"
                       R"("fieldsV1":{{"f:metadata":{{"f:labels":{{}}}},"f:spec":{{}}}}}}]}})",
                       name, ns, uid_of(kind, namespace_, name), labels_json(labels), extra, manager);
}

} // namespace

std::string service_json(const ServiceSpec& s) {
    std::map<std::string, std::string> labels{{"app", s.name}};
    if (!s.proxy_name_label.empty())
        labels["service.kubernetes.io/service-proxy-name"] = s.proxy_name_label;
    std::vector<std::string> ports, families;
    for (const auto& p : s.ports) {
        const bool numeric = !p.target_port.empty() && p.target_port.find_first_not_of("0123456789") == std::string::npos;
        ports.push_back(fmt::format(R"({{"name":{:?},"protocol":"{}","port":{},"targetPort":{}}})", p.name, p.protocol,
                                    p.port, numeric ? p.target_port : fmt::format("{:?}", p.target_port)));
    }
    std::vector<std::string> ips;
    for (const auto& ip : s.cluster_ips) {
        ips.push_back(fmt::format("{:?}", ip));
        if (ip != "None")
            families.push_back(ip.find(':') == std::string::npos ? "\"IPv4\"" : "\"IPv6\"");
    }
    const std::string cluster_ip = s.cluster_ips.empty() ? "" : fmt::format(R"("clusterIP":{:?},"clusterIPs":[{}],)",
                                                                            s.cluster_ips.front(), fmt::join(ips, ","));
    return fmt::format(R"({{{},"spec":{{"ports":[{}],"selector":{{"app":{:?}}},{}"type":"ClusterIP",)"
                       R"("sessionAffinity":"None","ipFamilies":[{}],"ipFamilyPolicy":"{}",)"
                       R"("internalTrafficPolicy":"Cluster"}},"status":{{"loadBalancer":{{}}}}}})",
                       metadata_json("Service", "default", s.name, labels, "kubectl-client-side-apply"),
                       fmt::join(ports, ","), s.name, cluster_ip, fmt::join(families, ","),
                       families.size() > 1 ? "PreferDualStack" : "SingleStack");
}

std::string endpoint_slice_json(const EndpointSliceSpec& s) {
    const std::map<std::string, std::string> labels{
        {"kubernetes.io/service-name", s.service},
        {"endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io"}};
    const std::string owner = fmt::format(
        R"("generateName":"{}-","ownerReferences":[{{"apiVersion":"v1","kind":"Service","name":{:?},"uid":"{}",)"
        R"("controller":true,"blockOwnerDeletion":true}}],)",
        s.service, s.service, uid_of("Service", "default", s.service));
    std::vector<std::string> endpoints, ports;
    for (std::size_t i = 0; i < s.endpoints.size(); ++i) {
        const auto& e = s.endpoints[i];
        endpoints.push_back(fmt::format(
            R"({{"addresses":[{:?}],"conditions":{{"ready":{},"serving":{},"terminating":{}}},)"
            R"("targetRef":{{"kind":"Pod","namespace":"default","name":"{}-{}","uid":"{}"}},"nodeName":"node-1","zone":"zone-a"}})",
            e.address, e.ready, e.serving, e.terminating, s.service, i, uid_of("Pod", "default", e.address)));
    }
    for (const auto& p : s.ports)
        ports.push_back(fmt::format(R"({{"name":{:?},"protocol":"{}","port":{}}})", p.name, p.protocol, p.port));
    return fmt::format(R"({{{},"addressType":"{}","endpoints":[{}],"ports":[{}]}})",
                       metadata_json("EndpointSlice", "default", s.name, labels, "kube-controller-manager", owner),
                       s.address_type, fmt::join(endpoints, ","), fmt::join(ports, ","));
}

std::string pod_json(const std::string& namespace_, const std::string& name, const std::string& node,
                     const std::string& ip, const std::map<std::string, std::string>& labels) {
    return fmt::format(R"({{{},"spec":{{"nodeName":{:?},"containers":[{{"name":"app","image":"registry.k8s.io/pause:3.10",)"
                       R"("ports":[{{"name":"http","containerPort":8080,"protocol":"TCP"}}]}}]}},)"
                       R"("status":{{"phase":"Running","podIP":{:?},"podIPs":[{{"ip":{:?}}}]}}}})",
                       metadata_json("Pod", namespace_, name, labels, "kubelet"), node, ip, ip);
}

std::string namespace_json(const std::string& name, const std::map<std::string, std::string>& labels) {
    auto all = labels;
    all["kubernetes.io/metadata.name"] = name;
    return fmt::format(R"({{{},"spec":{{"finalizers":["kubernetes"]}},"status":{{"phase":"Active"}}}})",
                       metadata_json("Namespace", "", name, all, "kubectl-create"));
}

std::string network_policy_json(const std::string& namespace_, const std::string& name) {
    return fmt::format(R"({{{},"spec":{{"podSelector":{{"matchLabels":{{"app":"web"}}}},)"
                       R"("ingress":[{{"from":[{{"podSelector":{{"matchLabels":{{"role":"client"}}}}}}],)"
                       R"("ports":[{{"protocol":"TCP","port":8080}}]}}],"policyTypes":["Ingress"]}}}})",
                       metadata_json("NetworkPolicy", namespace_, name, {}, "kubectl-client-side-apply"));
}

} // namespace kpr::testbed::apiserver
