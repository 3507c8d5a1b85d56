// A node with a routed CNI, emulated in network namespaces: one "node"
// namespace and one namespace per pod, each pod joined to the node by a veth
// pair and reached through a /32 (/128) route, as Calico-style CNIs do.
// Nothing links to the machine's own namespace, so pod traffic cannot leave.
//
//   pod k:  eth0  10.244.0.<k>/32, fd00:244::<k>/128   (k = 10 + index;
//           another PodNetwork gives other prefixes, for a second node)
//           default via 169.254.1.1 (v4), via fe80::1 (v6)
//   node:   lo 169.254.1.1/32; kv<index> fe80::1/64; forwarding on
#pragma once

#include <deque>
#include <string>
#include <string_view>

#include "testbed/debris.hpp"
#include "testbed/netns.hpp"

namespace kpr::testbed {

struct Pod {
    std::string name;
    NetNs ns;
    // Without prefix length, e.g. "10.244.0.10" and "fd00:244::10".
    std::string ipv4;
    std::string ipv6;
    // The node side of the pod's veth, in the node namespace: kv<index>.
    std::string node_interface;
};

// Where a node's pods get their addresses: <prefix><k>.
struct PodNetwork {
    std::string ipv4_prefix = "10.244.0.";
    std::string ipv6_prefix = "fd00:244::";
};

class Topology {
  public:
    static constexpr std::string_view gateway_ipv4 = "169.254.1.1";
    static constexpr std::string_view gateway_ipv6 = "fe80::1";

    // Creates the node namespace kprt-<pid>-<tag>-node.
    explicit Topology(std::string_view tag, PodNetwork network = {});
    Topology(const Topology&) = delete;
    Topology& operator=(const Topology&) = delete;
    // Pods go first, then the node; their interfaces go with them.
    ~Topology() = default;

    const NetNs& node() const { return node_; }

    // Creates namespace kprt-<pid>-<tag>-<name> wired to the node. Names are
    // 1-32 characters of a-z, 0-9 and '-'; "node" and repeats are refused.
    // The reference stays valid for the Topology's lifetime.
    const Pod& add_pod(std::string_view name);
    // Throws std::out_of_range for an unknown name.
    const Pod& pod(std::string_view name) const;
    const std::deque<Pod>& pods() const { return pods_; }

  private:
    std::string namespace_prefix_;
    PodNetwork network_;
    NetNs node_;
    // A deque: add_pod hands out references that later pods must not move.
    std::deque<Pod> pods_;
};

} // namespace kpr::testbed
