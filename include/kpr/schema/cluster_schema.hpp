// The typed cluster schema: what one cluster's data path is built with —
// its address families, which socket hooks to attach, and how large each
// map is. kpr-gen specialises the BPF sources from it.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "kpr/net/address.hpp"

namespace kpr::schema {

enum class SocketHook { connect, sendmsg, recvmsg, getpeername };

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
    }
    return "?";
}

struct MapSettings {
    std::uint32_t capacity = 0;
    bool operator==(const MapSettings&) const = default;
};

struct ClusterSchema {
    std::string name;
    std::set<net::Family> families;
    std::set<SocketHook> hooks;
    // Keyed by the capacity names of layout/maps.hpp ("services", ...).
    std::map<std::string, MapSettings, std::less<>> maps;

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
