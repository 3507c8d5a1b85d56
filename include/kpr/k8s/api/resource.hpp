// The Kubernetes API resources kpr can list and watch, each described once:
// its kind, its API group and version, and the collection path the list and
// watch requests go to. The reflector is generic over these descriptors, and
// the RBAC manifest in deploy/ is checked against the ones the agent requests.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace kpr::k8s::api {

struct Resource {
    std::string_view kind;    // "EndpointSlice"
    std::string_view group;   // "discovery.k8s.io"; empty for the core group
    std::string_view version; // "v1"
    std::string_view plural;  // "endpointslices"

    // "discovery.k8s.io/v1", or "v1" for the core group.
    std::string api_version() const {
        return group.empty() ? std::string(version) : fmt::format("{}/{}", group, version);
    }

    // The cluster-wide collection: "/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices".
    std::string collection_path() const {
        return group.empty() ? fmt::format("/api/{}/{}", version, plural)
                             : fmt::format("/apis/{}/{}/{}", group, version, plural);
    }

    bool operator==(const Resource&) const = default;
};

inline constexpr Resource services{"Service", "", "v1", "services"};
inline constexpr Resource endpoint_slices{"EndpointSlice", "discovery.k8s.io", "v1", "endpointslices"};
inline constexpr Resource pods{"Pod", "", "v1", "pods"};
inline constexpr Resource namespaces{"Namespace", "", "v1", "namespaces"};
inline constexpr Resource network_policies{"NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies"};
inline constexpr Resource nodes{"Node", "", "v1", "nodes"};

inline constexpr std::array watchable_resources{services, endpoint_slices, pods, namespaces, network_policies, nodes};

} // namespace kpr::k8s::api
