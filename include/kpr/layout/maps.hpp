// Every BPF map kpr shares between the agent and the data path, declared
// once: its name (as pinned and as the BPF source calls it), its kind, the
// address family it serves, how many entries it holds, which program object
// declares it, and its key and value layouts. The emitter writes the BPF
// definitions from this list, and the loader checks the object's maps
// against it. A map declared by the socket object that the TC external
// path also reads (services, backends, affinity) is declared by the TC
// object too when it builds kpr_from_netdev: libbpf then reuses the pin the
// first object to load made, so both objects see one map.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/hana/tuple.hpp>

#include "kpr/layout/affinity.hpp"
#include "kpr/layout/backend.hpp"
#include "kpr/layout/conntrack.hpp"
#include "kpr/layout/describe.hpp"
#include "kpr/layout/drop_reason.hpp"
#include "kpr/layout/endpoint_policy.hpp"
#include "kpr/layout/idmatch.hpp"
#include "kpr/layout/ipcache.hpp"
#include "kpr/layout/maglev.hpp"
#include "kpr/layout/nat.hpp"
#include "kpr/layout/node_address.hpp"
#include "kpr/layout/node_port.hpp"
#include "kpr/layout/policy.hpp"
#include "kpr/layout/reverse_nat.hpp"
#include "kpr/layout/service.hpp"
#include "kpr/layout/source_range.hpp"
#include "kpr/net/address.hpp"

namespace kpr::layout {

enum class MapType { hash, lru_hash, lpm_trie, array, percpu_array };

inline std::string_view c_map_type(MapType t) {
    switch (t) {
    case MapType::hash:
        return "BPF_MAP_TYPE_HASH";
    case MapType::lru_hash:
        return "BPF_MAP_TYPE_LRU_HASH";
    case MapType::lpm_trie:
        return "BPF_MAP_TYPE_LPM_TRIE";
    case MapType::array:
        return "BPF_MAP_TYPE_ARRAY";
    case MapType::percpu_array:
        return "BPF_MAP_TYPE_PERCPU_ARRAY";
    }
    return "";
}

// The map_flags a map of this kind is created with: the kernel refuses an
// LPM trie that is not created with BPF_F_NO_PREALLOC ("" for none).
inline std::string_view c_map_flags(MapType t) {
    return t == MapType::lpm_trie ? "BPF_F_NO_PREALLOC" : "";
}

// A per-CPU map holds one value per possible CPU under each key.
constexpr bool is_per_cpu(MapType t) {
    return t == MapType::percpu_array;
}

// An array's key is its index: the kernel wants a plain 32-bit integer in
// its BTF (a struct is refused), so the C side declares it __u32 while the
// C++ layout is a struct of one u32 field.
constexpr bool has_index_key(MapType t) {
    return t == MapType::array || t == MapType::percpu_array;
}

// How many entries a map holds: the schema's spec.maps.<schema_name>
// capacity (times the Maglev table size for a map of Maglev tables), or a
// number fixed by kpr (schema_name empty).
struct MapCapacity {
    std::string_view schema_name;
    std::uint32_t fixed = 0;
    bool per_maglev_slot = false;
};

consteval MapCapacity schema_capacity(std::string_view name) {
    return {name, 0};
}

consteval MapCapacity maglev_tables_capacity(std::string_view name) {
    return {name, 0, true};
}

consteval MapCapacity fixed_capacity(std::uint32_t entries) {
    return {{}, entries};
}

// What, beyond its address family, makes the schema build a map
// (codegen::map_built decides it for a schema).
enum class MapCondition {
    always,
    baseline_label_matches, // the baseline rules use label matches
    node_ingress,           // spec.tcPrograms has nodeIngress
    maglev,                 // nodeIngress, and backendSelection is maglev
    session_affinity,       // features.sessionAffinity.enabled
    bind_hook,              // spec.socketHooks has bind
};

// The program object that declares a map; the other objects of a node
// reach it through its pin.
enum class Datapath { socket, tc };

inline std::string_view to_string(Datapath d) {
    return d == Datapath::socket ? "socket" : "tc";
}

// The kernel keeps object names in 16 bytes with the terminating NUL.
inline constexpr std::size_t max_map_name_length = 15;

template <class Key, class Value> struct MapSpec {
    using key_type = Key;
    using value_type = Value;

    std::string_view name;
    MapType type;
    std::optional<net::Family> family; // empty: serves both families
    MapCapacity capacity;
    Datapath datapath; // the object that declares it
    MapCondition condition = MapCondition::always;
    // The TC object declares it too, reusing the pin, when it builds
    // kpr_from_netdev (nodeIngress).
    bool read_by_node_ingress = false;

    consteval MapSpec(std::string_view n, MapType t, std::optional<net::Family> f, MapCapacity c,
                      Datapath d, MapCondition when = MapCondition::always,
                      bool node_ingress_reads = false)
        : name(n), type(t), family(f), capacity(c), datapath(d), condition(when),
          read_by_node_ingress(node_ingress_reads) {
        check_key_layout<Key>();
        check_layout<Value>();
        if (n.size() > max_map_name_length)
            throw "a BPF map name has at most 15 characters";
        if (c.schema_name.empty() == (c.fixed == 0))
            throw "a map is sized either by a schema capacity or by a fixed number";
        if (t == MapType::percpu_array && !c.schema_name.empty())
            throw "a per-CPU array's size is the range of its index, fixed by kpr";
        if (c.per_maglev_slot && t != MapType::array)
            throw "Maglev tables are an array indexed by table and slot";
        if (has_index_key(t) && sizeof(Key) != 4)
            throw "an array map's key is a 4-byte index";
    }
};

inline constexpr MapSpec<ServiceKey4, ServiceValue> services4{
    "kpr_svc4", MapType::hash, net::Family::ipv4, schema_capacity("services"),
    Datapath::socket, MapCondition::always, true};
inline constexpr MapSpec<ServiceKey6, ServiceValue> services6{
    "kpr_svc6", MapType::hash, net::Family::ipv6, schema_capacity("services"),
    Datapath::socket, MapCondition::always, true};
inline constexpr MapSpec<BackendKey, Backend4> backends4{
    "kpr_backend4", MapType::hash, net::Family::ipv4, schema_capacity("backends"),
    Datapath::socket, MapCondition::always, true};
inline constexpr MapSpec<BackendKey, Backend6> backends6{
    "kpr_backend6", MapType::hash, net::Family::ipv6, schema_capacity("backends"),
    Datapath::socket, MapCondition::always, true};
inline constexpr MapSpec<AffinityKey, AffinityValue> affinity{
    "kpr_affinity", MapType::lru_hash, std::nullopt, schema_capacity("affinity"),
    Datapath::socket, MapCondition::session_affinity, true};
inline constexpr MapSpec<NodePortKey, NodePortValue> node_ports{
    "kpr_nodeport", MapType::hash, std::nullopt, fixed_capacity(node_port_entries),
    Datapath::socket, MapCondition::bind_hook};
inline constexpr MapSpec<RevNatKey4, RevNatValue4> revnat4{
    "kpr_revnat4", MapType::lru_hash, net::Family::ipv4, schema_capacity("sockRevNat"),
    Datapath::socket};
inline constexpr MapSpec<RevNatKey6, RevNatValue6> revnat6{
    "kpr_revnat6", MapType::lru_hash, net::Family::ipv6, schema_capacity("sockRevNat"),
    Datapath::socket};

inline constexpr MapSpec<IpcacheKey4, IpcacheValue> ipcache4{
    "kpr_ipcache4", MapType::lpm_trie, net::Family::ipv4, schema_capacity("ipcache"),
    Datapath::tc};
inline constexpr MapSpec<IpcacheKey6, IpcacheValue> ipcache6{
    "kpr_ipcache6", MapType::lpm_trie, net::Family::ipv6, schema_capacity("ipcache"),
    Datapath::tc};
inline constexpr MapSpec<EndpointKey, EndpointValue> endpoints{
    "kpr_endpoint", MapType::hash, std::nullopt, schema_capacity("endpoints"), Datapath::tc};
inline constexpr MapSpec<PolicyKey, PolicyValue> policies{
    "kpr_policy", MapType::hash, std::nullopt, schema_capacity("policy"), Datapath::tc};
inline constexpr MapSpec<ConntrackKey4, ConntrackValue> conntrack4{
    "kpr_ct4", MapType::lru_hash, net::Family::ipv4, schema_capacity("conntrack"), Datapath::tc};
inline constexpr MapSpec<ConntrackKey6, ConntrackValue> conntrack6{
    "kpr_ct6", MapType::lru_hash, net::Family::ipv6, schema_capacity("conntrack"), Datapath::tc};
inline constexpr MapSpec<DropKey, DropCount> drops{"kpr_drops", MapType::percpu_array,
                                                   std::nullopt, fixed_capacity(drop_reason_count),
                                                   Datapath::tc};

// Declared only when the baseline rules use label matches (the generator
// leaves it out otherwise; codegen::baseline_uses_idmatch).
inline constexpr MapSpec<IdmatchKey, IdmatchValue> identity_matches{
    "kpr_idmatch", MapType::hash, std::nullopt, schema_capacity("identityMatches"), Datapath::tc,
    MapCondition::baseline_label_matches};

// The external path's own maps (kpr_from_netdev, nodeIngress).
inline constexpr MapSpec<NatKey4, NatValue4> nat4{
    "kpr_nat4", MapType::lru_hash, net::Family::ipv4, schema_capacity("nat"), Datapath::tc,
    MapCondition::node_ingress};
inline constexpr MapSpec<NatKey6, NatValue6> nat6{
    "kpr_nat6", MapType::lru_hash, net::Family::ipv6, schema_capacity("nat"), Datapath::tc,
    MapCondition::node_ingress};
inline constexpr MapSpec<SourceRangeKey4, SourceRangeValue> source_ranges4{
    "kpr_srcrange4", MapType::lpm_trie, net::Family::ipv4, schema_capacity("sourceRanges"),
    Datapath::tc, MapCondition::node_ingress};
inline constexpr MapSpec<SourceRangeKey6, SourceRangeValue> source_ranges6{
    "kpr_srcrange6", MapType::lpm_trie, net::Family::ipv6, schema_capacity("sourceRanges"),
    Datapath::tc, MapCondition::node_ingress};
inline constexpr MapSpec<NodeAddressKey, NodeAddress> node_addresses{
    "kpr_nodeaddr", MapType::array, std::nullopt, fixed_capacity(node_address_entries),
    Datapath::tc, MapCondition::node_ingress};
inline constexpr MapSpec<MaglevKey, MaglevValue> maglev_tables{
    "kpr_maglev", MapType::array, std::nullopt, maglev_tables_capacity("maglevTables"),
    Datapath::tc, MapCondition::maglev};

inline constexpr auto all_maps = boost::hana::make_tuple(
    services4, services6, backends4, backends6, revnat4, revnat6, affinity, node_ports, ipcache4,
    ipcache6, endpoints, policies, conntrack4, conntrack6, drops, identity_matches, nat4, nat6,
    source_ranges4, source_ranges6, node_addresses, maglev_tables);

} // namespace kpr::layout
