// Decoding a v1/Service's spec into the typed Service, checking what the API
// server would check of the fields kpr acts on, and the load-balancer
// ingress addresses of its status. Fields kpr does not model (selector,
// ipFamilyPolicy, ...) are not looked at.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "kpr/k8s/common_fields.hpp"
#include "kpr/yaml/field_reader.hpp"
#include "kpr/k8s/service.hpp"

namespace kpr::k8s {

inline std::optional<ServiceType> parse_service_type(std::string_view s) {
    if (s == "ClusterIP")
        return ServiceType::ClusterIP;
    if (s == "NodePort")
        return ServiceType::NodePort;
    if (s == "LoadBalancer")
        return ServiceType::LoadBalancer;
    if (s == "ExternalName")
        return ServiceType::ExternalName;
    return std::nullopt;
}

struct ServiceClusterIps {
    std::vector<net::Address> addresses;
    bool headless = false;
};

// spec.clusterIP and spec.clusterIPs. The API server keeps clusterIP equal
// to clusterIPs[0]; either may be given alone. "None" (the only entry) makes
// the service headless.
inline ServiceClusterIps decode_cluster_ips(yaml::FieldReader& reader, const yaml::YamlField& spec) {
    const yaml::YamlField single = spec.child("clusterIP");
    const yaml::YamlField listed = spec.child("clusterIPs");
    const std::optional<std::string> single_text = reader.read_string(single);
    const std::vector<yaml::YamlField> listed_fields = reader.read_list(listed);

    // The texts to read, each with the field it came from.
    std::vector<std::pair<const yaml::YamlField*, std::string>> entries;
    for (const yaml::YamlField& field : listed_fields)
        if (auto text = reader.read_string(field))
            entries.emplace_back(&field, std::move(*text));
    if (listed_fields.empty() && single_text && !single_text->empty())
        entries.emplace_back(&single, *single_text);
    else if (!entries.empty() && single_text && !single_text->empty() &&
             entries.front().second != *single_text)
        reader.report(*entries.front().first, fmt::format("{:?} does not match spec.clusterIP {:?}",
                                                          entries.front().second, *single_text));

    ServiceClusterIps out;
    if (entries.size() == 1 && entries.front().second == "None") {
        out.headless = true;
        return out;
    }
    if (entries.size() > 2)
        reader.report(listed, fmt::format("at most two addresses (one IPv4, one IPv6), got {}",
                                          entries.size()));
    for (const auto& [field, text] : entries) {
        if (text == "None") {
            reader.report(*field, "\"None\" (headless) must be the only cluster IP");
            continue;
        }
        const auto address = read_address(reader, *field);
        if (!address)
            continue;
        if (!out.addresses.empty() && out.addresses.front().family() == address->family())
            reader.report(*field,
                          fmt::format("{:?} is {} like {:?}; a dual-stack service has one IPv4 and "
                                      "one IPv6 address",
                                      text, net::to_string(address->family()),
                                      out.addresses.front().str()));
        out.addresses.push_back(*address);
    }
    return out;
}

inline ServicePort decode_service_port(yaml::FieldReader& reader, const yaml::YamlField& field) {
    ServicePort port;
    port.name = reader.read_string(field.child("name")).value_or("");
    const yaml::YamlField number = field.child("port");
    if (reader.require(number))
        port.port = read_port_number(reader, number).value_or(0);
    port.protocol = read_protocol(reader, field.child("protocol"));
    if (const yaml::YamlField node_port = field.child("nodePort"); node_port.present())
        port.node_port = read_port_number(reader, node_port).value_or(0);
    const yaml::YamlField target = field.child("targetPort");
    if (auto target_port = read_port_number_or_name(reader, target))
        port.target_port = std::move(*target_port);
    else
        port.target_port = port.port;
    return port;
}

// spec.ports: each port valid, named when there are several, names unique
// and (port, protocol) pairs unique.
inline std::vector<ServicePort> decode_service_ports(yaml::FieldReader& reader, const yaml::YamlField& spec) {
    const std::vector<yaml::YamlField> fields = reader.read_list(spec.child("ports"));
    std::vector<ServicePort> ports;
    std::map<std::string, std::size_t> index_by_name;
    std::map<std::pair<std::uint16_t, Protocol>, std::size_t> index_by_number;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (!reader.require_map(fields[i]))
            continue;
        ServicePort port = decode_service_port(reader, fields[i]);
        const yaml::YamlField name = fields[i].child("name");
        if (port.name.empty()) {
            // A name that is not a string was reported already.
            if (fields.size() > 1 && (!name.present() || name.node().IsScalar()))
                reader.report(name, "required when the service has more than one port");
        } else if (auto [it, fresh] = index_by_name.try_emplace(port.name, i); !fresh) {
            reader.report(name, fmt::format("duplicate name {:?} (also spec.ports[{}])", port.name,
                                            it->second));
        }
        if (port.port != 0) {
            const auto [it, fresh] = index_by_number.try_emplace({port.port, port.protocol}, i);
            if (!fresh)
                reader.report(fields[i].child("port"),
                              fmt::format("duplicate port {}/{} (also spec.ports[{}])", port.port,
                                          to_string(port.protocol), it->second));
        }
        ports.push_back(std::move(port));
    }
    return ports;
}

// One of the spellings in `names` (the enum's values in order).
template <class Enum, std::size_t N>
std::optional<Enum> read_enum(yaml::FieldReader& reader, const yaml::YamlField& field,
                              const std::array<std::string_view, N>& names) {
    const auto text = reader.read_string(field);
    if (!text)
        return std::nullopt;
    for (std::size_t i = 0; i < N; ++i)
        if (*text == names[i])
            return static_cast<Enum>(i);
    reader.report(field, fmt::format("unsupported value {:?} (expected {})", *text, fmt::join(names, " or ")));
    return std::nullopt;
}

inline std::vector<net::Address> read_address_list(yaml::FieldReader& reader, const yaml::YamlField& field) {
    std::vector<net::Address> out;
    for (const yaml::YamlField& item : reader.read_list(field))
        if (auto address = read_address(reader, item))
            out.push_back(*address);
    return out;
}

// status.loadBalancer.ingress: the entries with an ip; those with only a
// hostname name no address kpr could claim, and those with ipMode Proxy
// are reached through the NodePort by the load balancer itself.
inline std::vector<net::Address> decode_load_balancer_ingress(yaml::FieldReader& reader,
                                                              const yaml::YamlField& document) {
    std::vector<net::Address> out;
    const yaml::YamlField status = document.child("status");
    if (!status.present() || !reader.expect_map(status))
        return out;
    const yaml::YamlField balancer = status.child("loadBalancer");
    if (!balancer.present() || !reader.expect_map(balancer))
        return out;
    for (const yaml::YamlField& entry : reader.read_list(balancer.child("ingress"))) {
        if (!reader.require_map(entry))
            continue;
        const yaml::YamlField ip = entry.child("ip");
        if (!ip.present())
            continue;
        const auto address = read_address(reader, ip);
        if (address && reader.read_string(entry.child("ipMode")).value_or("VIP") != "Proxy")
            out.push_back(*address);
    }
    return out;
}

// spec.sessionAffinity and its timeout (1..86400 seconds, default 10800).
inline void decode_session_affinity(yaml::FieldReader& reader, const yaml::YamlField& spec, Service& service) {
    static constexpr std::array<std::string_view, 2> names{"None", "ClientIP"};
    service.session_affinity =
        read_enum<SessionAffinity>(reader, spec.child("sessionAffinity"), names).value_or(SessionAffinity::None);
    const yaml::YamlField config = spec.child("sessionAffinityConfig");
    if (!config.present() || !reader.expect_map(config))
        return;
    const yaml::YamlField client_ip = config.child("clientIP");
    if (!client_ip.present() || !reader.expect_map(client_ip))
        return;
    if (auto timeout = reader.read_integer(client_ip.child("timeoutSeconds"), 1, 86400))
        service.affinity_timeout_seconds = static_cast<std::uint32_t>(*timeout);
}

// The Service in the document; meaningful only when the reader reported no
// new error.
inline Service decode_service(yaml::FieldReader& reader, const yaml::YamlField& document, ObjectMeta meta) {
    Service service;
    service.meta = std::move(meta);
    const yaml::YamlField spec = document.child("spec");
    reader.expect_map(spec);
    const yaml::YamlField type = spec.child("type");
    if (auto text = reader.read_string(type)) {
        if (auto parsed = parse_service_type(*text))
            service.type = *parsed;
        else
            reader.report(type, fmt::format("unsupported service type {:?} (expected ClusterIP, "
                                            "NodePort, LoadBalancer or ExternalName)",
                                            *text));
    }
    ServiceClusterIps cluster_ips = decode_cluster_ips(reader, spec);
    service.cluster_ips = std::move(cluster_ips.addresses);
    service.headless = cluster_ips.headless;
    service.ports = decode_service_ports(reader, spec);
    service.external_ips = read_address_list(reader, spec.child("externalIPs"));
    for (const yaml::YamlField& item : reader.read_list(spec.child("loadBalancerSourceRanges")))
        if (auto text = reader.read_string(item))
            service.load_balancer_source_ranges.push_back(std::move(*text));
    static constexpr std::array<std::string_view, 2> policies{"Cluster", "Local"};
    service.external_traffic_policy =
        read_enum<TrafficPolicy>(reader, spec.child("externalTrafficPolicy"), policies).value_or(TrafficPolicy::Cluster);
    service.internal_traffic_policy =
        read_enum<TrafficPolicy>(reader, spec.child("internalTrafficPolicy"), policies).value_or(TrafficPolicy::Cluster);
    if (const yaml::YamlField health = spec.child("healthCheckNodePort"); health.present())
        service.health_check_node_port = read_port_number(reader, health).value_or(0);
    decode_session_affinity(reader, spec, service);
    service.load_balancer_ingress = decode_load_balancer_ingress(reader, document);
    return service;
}

} // namespace kpr::k8s
