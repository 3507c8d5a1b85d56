// Every BPF map kpr shares between the agent and the data path, declared
// once: its name (as pinned and as the BPF source calls it), its kind, the
// address family it serves, the schema capacity that sizes it, and its key
// and value layouts. The emitter writes the BPF definitions from this list,
// and the loader checks the object's maps against it.
#pragma once

#include <string_view>

#include <boost/hana/tuple.hpp>

#include "kpr/layout/backend.hpp"
#include "kpr/layout/describe.hpp"
#include "kpr/layout/reverse_nat.hpp"
#include "kpr/layout/service.hpp"
#include "kpr/net/address.hpp"

namespace kpr::layout {

enum class MapType { hash, lru_hash };

inline std::string_view c_map_type(MapType t) {
    return t == MapType::hash ? "BPF_MAP_TYPE_HASH" : "BPF_MAP_TYPE_LRU_HASH";
}

// The kernel keeps object names in 16 bytes with the terminating NUL.
inline constexpr std::size_t max_map_name_length = 15;

template <class Key, class Value> struct MapSpec {
    using key_type = Key;
    using value_type = Value;

    std::string_view name;
    MapType type;
    net::Family family;
    std::string_view capacity; // the schema's spec.maps.<capacity>.capacity

    consteval MapSpec(std::string_view n, MapType t, net::Family f, std::string_view c)
        : name(n), type(t), family(f), capacity(c) {
        check_key_layout<Key>();
        check_layout<Value>();
        if (n.size() > max_map_name_length)
            throw "a BPF map name has at most 15 characters";
    }
};

inline constexpr MapSpec<ServiceKey4, ServiceValue> services4{"kpr_svc4", MapType::hash,
                                                              net::Family::ipv4, "services"};
inline constexpr MapSpec<ServiceKey6, ServiceValue> services6{"kpr_svc6", MapType::hash,
                                                              net::Family::ipv6, "services"};
inline constexpr MapSpec<BackendKey, Backend4> backends4{"kpr_backend4", MapType::hash,
                                                         net::Family::ipv4, "backends"};
inline constexpr MapSpec<BackendKey, Backend6> backends6{"kpr_backend6", MapType::hash,
                                                         net::Family::ipv6, "backends"};
inline constexpr MapSpec<RevNatKey4, RevNatValue4> revnat4{"kpr_revnat4", MapType::lru_hash,
                                                           net::Family::ipv4, "sockRevNat"};
inline constexpr MapSpec<RevNatKey6, RevNatValue6> revnat6{"kpr_revnat6", MapType::lru_hash,
                                                           net::Family::ipv6, "sockRevNat"};

inline constexpr auto all_maps =
    boost::hana::make_tuple(services4, services6, backends4, backends6, revnat4, revnat6);

} // namespace kpr::layout
