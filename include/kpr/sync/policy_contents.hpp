// From the typed cluster state to what the policy maps should hold on this
// node: the compiler's input (every Pod, Namespace, NetworkPolicy and Node,
// this node's addresses from its flags added to its Node's), and its output turned into map entries keyed
// by endpoint id, the ifindex of each local pod's host-side veth. A local
// pod whose veth has not been found yet is no endpoint (its address is
// still in the ipcache, with endpoint id 0): it gets its entries on the
// sync that finds the interface.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kpr/k8s/cluster_state.hpp"
#include "kpr/policy/policy_compiler.hpp"
#include "kpr/policy/policy_map_entries.hpp"
#include "kpr/sync/policy_programmer.hpp"

namespace kpr::sync {

inline policy::PolicyInput policy_input(const k8s::ClusterState& state, const policy::NodeAddresses& this_node) {
    policy::PolicyInput input;
    for (const auto& [key, pod] : state.pods)
        input.pods.push_back(pod);
    for (const auto& [key, ns] : state.namespaces)
        input.namespaces.push_back(ns);
    for (const auto& [key, policy] : state.network_policies)
        input.policies.push_back(policy);
    policy::NodeAddresses mine = this_node;
    for (const auto& [key, node] : state.nodes) {
        if (node.meta.name != this_node.name) {
            input.nodes.push_back({node.meta.name, node.addresses});
            continue;
        }
        for (const auto& address : node.addresses)
            if (std::find(mine.addresses.begin(), mine.addresses.end(), address) == mine.addresses.end())
                mine.addresses.push_back(address);
    }
    if (!mine.addresses.empty())
        input.nodes.push_back(std::move(mine));
    return input;
}

// endpoint_ids: the local pods that have an interface, by Pod key.
inline PolicyMapContents policy_map_contents(const policy::PolicyState& state,
                                             const std::map<k8s::ObjectKey, std::uint32_t>& endpoint_ids) {
    PolicyMapContents out;
    std::map<net::Address, std::uint32_t> endpoint_of_address;
    for (const auto& [pod, endpoint] : state.endpoints) {
        const auto id = endpoint_ids.find(pod);
        if (id == endpoint_ids.end())
            continue;
        for (const auto& address : endpoint.addresses)
            endpoint_of_address.emplace(address, id->second);
        out.endpoints.emplace(layout::EndpointKey{id->second}, policy::endpoint_value(endpoint, 0));
        for (const auto& key : endpoint.allowed)
            out.policies.emplace(policy::policy_map_key(id->second, key), policy::policy_map_value());
    }
    for (const auto& [prefix, entry] : state.ipcache) {
        std::uint32_t endpoint_id = 0;
        if (prefix.length() == net::address_bits(prefix.address().family()))
            if (const auto it = endpoint_of_address.find(prefix.address()); it != endpoint_of_address.end())
                endpoint_id = it->second;
        const auto value = policy::ipcache_value(entry, endpoint_id);
        if (prefix.address().is_v4())
            out.ipcache4.emplace(policy::ipcache_key4(prefix), value);
        else
            out.ipcache6.emplace(policy::ipcache_key6(prefix), value);
    }
    return out;
}

} // namespace kpr::sync
