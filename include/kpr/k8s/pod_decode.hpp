// Decoding a v1/Pod into the typed Pod, checking what the API server would
// check of the fields kpr acts on: container ports (number, protocol, name
// syntax, names unique within a container), the phase, and the pod's
// addresses (status.podIP equal to status.podIPs[0], at most one address
// per family). Everything else in a Pod is not looked at.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kpr/k8s/common_fields.hpp"
#include "kpr/k8s/pod.hpp"
#include "kpr/k8s/port_name.hpp"
#include "kpr/yaml/field_reader.hpp"

namespace kpr::k8s {

inline std::optional<PodPhase> parse_pod_phase(std::string_view s) {
    if (s == "Pending")
        return PodPhase::Pending;
    if (s == "Running")
        return PodPhase::Running;
    if (s == "Succeeded")
        return PodPhase::Succeeded;
    if (s == "Failed")
        return PodPhase::Failed;
    if (s == "Unknown")
        return PodPhase::Unknown;
    return std::nullopt;
}

// One container's spec.containers[i].ports.
inline void decode_container_ports(yaml::FieldReader& reader, const yaml::YamlField& container,
                                   std::vector<ContainerPort>& out) {
    std::map<std::string, std::string> path_by_name;
    for (const yaml::YamlField& field : reader.read_list(container.child("ports"))) {
        if (!reader.require_map(field))
            continue;
        ContainerPort port;
        const yaml::YamlField number = field.child("containerPort");
        if (reader.require(number))
            port.port = read_port_number(reader, number).value_or(0);
        port.protocol = read_protocol(reader, field.child("protocol"));
        const yaml::YamlField name = field.child("name");
        port.name = reader.read_string(name).value_or("");
        if (!port.name.empty()) {
            if (auto problem = port_name_problem(port.name))
                reader.report(
                    name, fmt::format("{:?} is not a valid port name: {}", port.name, *problem));
            else if (auto [it, fresh] = path_by_name.try_emplace(port.name, field.path()); !fresh)
                reader.report(
                    name, fmt::format("duplicate port name {:?} (also {})", port.name, it->second));
        }
        out.push_back(std::move(port));
    }
}

// status.podIPs, or status.podIP alone.
inline std::vector<net::Address> decode_pod_ips(yaml::FieldReader& reader,
                                                const yaml::YamlField& status) {
    std::vector<net::Address> ips;
    const yaml::YamlField single = status.child("podIP");
    const std::optional<net::Address> primary = read_address(reader, single);
    for (const yaml::YamlField& item : reader.read_list(status.child("podIPs"))) {
        if (!reader.require_map(item))
            continue;
        const yaml::YamlField ip = item.child("ip");
        if (!reader.require(ip))
            continue;
        const auto address = read_address(reader, ip);
        if (!address)
            continue;
        if (ips.empty() && primary && *primary != *address)
            reader.report(ip, fmt::format("{:?} does not match status.podIP {:?}", address->str(),
                                          primary->str()));
        for (const net::Address& earlier : ips)
            if (earlier.family() == address->family())
                reader.report(ip, fmt::format("{:?} is the second {} address; a pod has at most "
                                              "one per family",
                                              address->str(), net::to_string(address->family())));
        ips.push_back(*address);
    }
    if (ips.empty() && primary)
        ips.push_back(*primary);
    return ips;
}

// The Pod in the document; meaningful only when the reader reported no new
// error.
inline Pod decode_pod(yaml::FieldReader& reader, const yaml::YamlField& document, ObjectMeta meta) {
    Pod pod;
    pod.meta = std::move(meta);
    const yaml::YamlField spec = document.child("spec");
    if (reader.require_map(spec)) {
        pod.node_name = reader.read_string(spec.child("nodeName")).value_or("");
        pod.host_network = reader.read_bool(spec.child("hostNetwork")).value_or(false);
        for (const yaml::YamlField& container : reader.read_list(spec.child("containers")))
            if (reader.require_map(container))
                decode_container_ports(reader, container, pod.container_ports);
    }
    const yaml::YamlField status = document.child("status");
    if (reader.expect_map(status)) {
        const yaml::YamlField phase = status.child("phase");
        if (auto text = reader.read_string(phase)) {
            if (auto parsed = parse_pod_phase(*text))
                pod.phase = *parsed;
            else
                reader.report(phase, fmt::format("unsupported phase {:?} (expected Pending, "
                                                 "Running, Succeeded, Failed or Unknown)",
                                                 *text));
        }
        pod.ips = decode_pod_ips(reader, status);
    }
    return pod;
}

} // namespace kpr::k8s
