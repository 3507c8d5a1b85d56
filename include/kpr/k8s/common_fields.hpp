// Field types several Kubernetes kinds share — port numbers, protocols and
// IP addresses — read with the API server's checks and defaults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include <fmt/format.h>

#include "kpr/yaml/field_reader.hpp"
#include "kpr/k8s/port_name.hpp"
#include "kpr/k8s/protocol.hpp"
#include "kpr/net/address.hpp"

namespace kpr::k8s {

// A TCP/UDP/SCTP port number, 1-65535.
inline std::optional<std::uint16_t> read_port_number(yaml::FieldReader& reader, const yaml::YamlField& field) {
    const auto value = reader.read_integer(field, 1, 65535);
    if (!value)
        return std::nullopt;
    return static_cast<std::uint16_t>(*value);
}

// A number, or the name of a container port (a Service's targetPort, a
// NetworkPolicy's port). Written without quotes and made of digits it is a
// number; otherwise it is a name.
inline std::optional<std::variant<std::uint16_t, std::string>>
read_port_number_or_name(yaml::FieldReader& reader, const yaml::YamlField& field) {
    if (!field.present())
        return std::nullopt;
    if (yaml::FieldReader::is_integer_text(field.node()))
        return read_port_number(reader, field);
    if (!field.node().IsScalar()) {
        reader.report(field, fmt::format("expected a port number or name, got {}",
                                         yaml::describe_node(field.node())));
        return std::nullopt;
    }
    const std::string& name = field.node().Scalar();
    if (auto problem = port_name_problem(name)) {
        reader.report(field, fmt::format("{:?} is not a valid port name: {}", name, *problem));
        return std::nullopt;
    }
    return name;
}

// A port's protocol; TCP when absent, as the API server defaults it.
inline Protocol read_protocol(yaml::FieldReader& reader, const yaml::YamlField& field) {
    const auto text = reader.read_string(field);
    if (!text)
        return Protocol::TCP;
    if (auto protocol = parse_protocol(*text))
        return *protocol;
    reader.report(field,
                  fmt::format("unsupported protocol {:?} (expected TCP, UDP or SCTP)", *text));
    return Protocol::TCP;
}

inline std::optional<net::Address> read_address(yaml::FieldReader& reader, const yaml::YamlField& field) {
    const auto text = reader.read_string(field);
    if (!text)
        return std::nullopt;
    if (auto address = net::Address::parse(*text))
        return address;
    reader.report(field, fmt::format("{:?} is not an IP address", *text));
    return std::nullopt;
}

} // namespace kpr::k8s
