// Kubernetes port names (IANA_SVC_NAME, RFC 6335): what a Service's named
// targetPort, a container port's name and a NetworkPolicy's named port must
// look like.
#pragma once

#include <optional>
#include <string_view>

namespace kpr::k8s {

// Why name is not a valid port name, in the API server's words; nullopt
// when it is valid.
inline std::optional<std::string_view> port_name_problem(std::string_view name) {
    if (name.empty())
        return "must not be empty";
    if (name.size() > 15)
        return "must be no more than 15 characters";
    if (name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos)
        return "must contain only lowercase letters (a-z), digits (0-9) and hyphens (-)";
    if (name.find_first_of("abcdefghijklmnopqrstuvwxyz") == std::string_view::npos)
        return "must contain at least one letter (a-z)";
    if (name.find("--") != std::string_view::npos)
        return "must not contain consecutive hyphens";
    if (name.front() == '-' || name.back() == '-')
        return "must not begin or end with a hyphen";
    return std::nullopt;
}

} // namespace kpr::k8s
