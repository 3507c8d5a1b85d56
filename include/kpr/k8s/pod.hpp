// The typed v1/Pod: what identities, the ipcache and NetworkPolicy act on —
// labels (in meta), addresses, node, phase, host networking, and the named
// container ports a policy may refer to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kpr/k8s/object_meta.hpp"
#include "kpr/k8s/protocol.hpp"
#include "kpr/net/address.hpp"

namespace kpr::k8s {

enum class PodPhase { Pending, Running, Succeeded, Failed, Unknown };

struct ContainerPort {
    std::string name; // empty when unnamed
    std::uint16_t port = 0;
    Protocol protocol = Protocol::TCP;

    bool operator==(const ContainerPort&) const = default;
};

struct Pod {
    ObjectMeta meta;
    std::string node_name;     // spec.nodeName; empty until scheduled
    bool host_network = false; // spec.hostNetwork: the pod uses its node's addresses
    PodPhase phase = PodPhase::Pending;
    // status.podIPs (or status.podIP alone), at most one per family, the
    // primary first.
    std::vector<net::Address> ips;
    // Every container's ports, in order (spec.containers[].ports[]).
    std::vector<ContainerPort> container_ports;

    ObjectKey key() const { return {"Pod", meta.namespace_, meta.name}; }
    bool operator==(const Pod&) const = default;

    // A pod that finished gives its addresses back: they may already
    // belong to another pod.
    bool terminated() const { return phase == PodPhase::Succeeded || phase == PodPhase::Failed; }

    // The number a named port resolves to on this pod for protocol, as
    // NetworkPolicy resolves it: the container port with that name and
    // protocol (names are unique within a pod).
    std::optional<std::uint16_t> named_port(const std::string& name, Protocol protocol) const {
        for (const ContainerPort& p : container_ports)
            if (p.name == name && p.protocol == protocol)
                return p.port;
        return std::nullopt;
    }
};

} // namespace kpr::k8s
