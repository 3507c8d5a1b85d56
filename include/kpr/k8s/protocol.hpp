// The transport protocols a Service or EndpointSlice port can name, with the
// IANA numbers the kernel and the BPF maps use.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace kpr::k8s {

enum class Protocol : std::uint8_t { TCP = 6, UDP = 17, SCTP = 132 };

inline std::optional<Protocol> parse_protocol(std::string_view s) {
    if (s == "TCP")
        return Protocol::TCP;
    if (s == "UDP")
        return Protocol::UDP;
    if (s == "SCTP")
        return Protocol::SCTP;
    return std::nullopt;
}

inline std::string_view to_string(Protocol p) {
    switch (p) {
    case Protocol::TCP:
        return "TCP";
    case Protocol::UDP:
        return "UDP";
    case Protocol::SCTP:
        return "SCTP";
    }
    return "?";
}

inline std::uint8_t ip_protocol_number(Protocol p) { return static_cast<std::uint8_t>(p); }

} // namespace kpr::k8s
