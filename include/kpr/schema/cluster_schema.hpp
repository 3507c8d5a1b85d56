// The typed cluster schema: what one cluster's data path is built with —
// its address families, which socket hooks and TC programs to build, how
// large each map is, its feature switches, the identity schema and the
// static baseline policy. kpr-gen specialises the BPF sources from it.
// docs/schema.md says which parts today's data path consumes.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "kpr/net/address.hpp"
#include "kpr/schema/baseline_policy.hpp"
#include "kpr/schema/identity_schema.hpp"

namespace kpr::schema {

enum class SocketHook { connect, sendmsg, recvmsg, getpeername, bind };

inline constexpr SocketHook all_socket_hooks[] = {SocketHook::connect, SocketHook::sendmsg,
                                                  SocketHook::recvmsg, SocketHook::getpeername,
                                                  SocketHook::bind};

inline std::string_view to_string(SocketHook h) {
    switch (h) {
    case SocketHook::connect:
        return "connect";
    case SocketHook::sendmsg:
        return "sendmsg";
    case SocketHook::recvmsg:
        return "recvmsg";
    case SocketHook::getpeername:
        return "getpeername";
    case SocketHook::bind:
        return "bind";
    }
    return "?";
}

// The TC programs a cluster may ask for (nodeEgress: validated, not built;
// docs/datapath-nodeport.md says why).
enum class TcProgram { podIngress, podEgress, nodeIngress, nodeEgress };

inline constexpr TcProgram all_tc_programs[] = {TcProgram::podIngress, TcProgram::podEgress,
                                                TcProgram::nodeIngress, TcProgram::nodeEgress};

inline std::string_view to_string(TcProgram p) {
    switch (p) {
    case TcProgram::podIngress:
        return "podIngress";
    case TcProgram::podEgress:
        return "podEgress";
    case TcProgram::nodeIngress:
        return "nodeIngress";
    case TcProgram::nodeEgress:
        return "nodeEgress";
    }
    return "?";
}

enum class BackendSelection { random, maglev };

inline std::string_view to_string(BackendSelection b) {
    return b == BackendSelection::random ? "random" : "maglev";
}

struct SessionAffinity {
    bool enabled = false;
    std::uint32_t max_timeout_seconds = 10800; // kube-proxy's default ClientIP timeout
    bool operator==(const SessionAffinity&) const = default;
};

struct BackendSelectionSettings {
    BackendSelection algorithm = BackendSelection::random;
    std::uint32_t maglev_table_size = 16381; // prime; used only by maglev
    bool operator==(const BackendSelectionSettings&) const = default;
};

// Idle timeouts of tracked connections, in seconds.
struct ConntrackTimeouts {
    std::uint32_t tcp_new = 60; // a SYN sent, no reply yet
    std::uint32_t tcp_established = 21600;
    std::uint32_t tcp_closing = 10;
    std::uint32_t udp = 30;
    std::uint32_t icmp = 30;
    bool operator==(const ConntrackTimeouts&) const = default;
};

// The ports the external path SNATs flows to under externalTrafficPolicy
// Cluster: above Linux's default ip_local_port_range (32768-60999) and
// outside the NodePort range, so no local socket gets one by autobind.
struct NodePortSettings {
    std::uint16_t snat_port_first = 61000;
    std::uint16_t snat_port_last = 65535;
    bool operator==(const NodePortSettings&) const = default;
};

struct Features {
    SessionAffinity session_affinity;
    BackendSelectionSettings backend_selection;
    ConntrackTimeouts conntrack;
    NodePortSettings node_port;
    bool operator==(const Features&) const = default;
};

struct MapSettings {
    std::uint32_t capacity = 0;
    bool operator==(const MapSettings&) const = default;
};

struct ClusterSchema {
    std::string name;
    std::set<net::Family> families;
    std::set<SocketHook> hooks;
    std::set<TcProgram> tc_programs;
    // Keyed by the capacity names of layout/maps.hpp ("services", ...).
    std::map<std::string, MapSettings, std::less<>> maps;
    Features features;
    IdentitySchema identity;
    BaselinePolicy baseline_policy;

    bool has(net::Family f) const { return families.contains(f); }
    bool has(SocketHook h) const { return hooks.contains(h); }
    std::uint32_t capacity(std::string_view map) const {
        auto it = maps.find(map);
        if (it == maps.end())
            throw std::out_of_range(fmt::format("the schema sizes no map \"{}\"", map));
        return it->second.capacity;
    }

    bool operator==(const ClusterSchema&) const = default;
};

} // namespace kpr::schema
