// Two emulated nodes and an external client, for the north-south (NodePort,
// LoadBalancer, ExternalIP) tests. Everything lives in namespaces the test
// made; no interface links to the machine's own namespace, so no packet can
// leave it, and every route below points at another test namespace.
//
//   client  eth0  198.51.100.2/24  2001:db8:5::2/64   default via node1
//      |
//   node1   ext0  198.51.100.1/24  2001:db8:5::1/64   (faces the client)
//           n2    10.0.12.1/24     fd00:12::1/64      (faces node2)
//           pods  10.244.1.<k>/32  fd00:244:1::<k>/128, /32 routes (Topology)
//           10.244.2.0/24, fd00:244:2::/64 via node2
//      |
//   node2   n1    10.0.12.2/24     fd00:12::2/64
//           pods  10.244.2.<k>/32  fd00:244:2::<k>/128
//           10.244.1.0/24, 198.51.100.0/24 (and the v6 twins) via node1
//
// The agent runs in node1 with --external-interface ext0 and n2: ext0 takes
// the client's requests, n2 the replies of node2's pods to node1's address
// (eTP Cluster SNATs to it). node2 has no agent: it only routes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "testbed/netns.hpp"
#include "testbed/topology.hpp"

namespace kpr::testbed {

class NorthSouthTopology {
  public:
    static constexpr std::string_view client_ipv4 = "198.51.100.2";
    static constexpr std::string_view client_ipv6 = "2001:db8:5::2";
    // node1's address on the client's network: its NodePort address and the
    // SNAT source of eTP Cluster flows (the agent's --node-address).
    static constexpr std::string_view node1_ipv4 = "198.51.100.1";
    static constexpr std::string_view node1_ipv6 = "2001:db8:5::1";
    static constexpr std::string_view node1_link_ipv4 = "10.0.12.1";
    static constexpr std::string_view node1_link_ipv6 = "fd00:12::1";
    static constexpr std::string_view node2_link_ipv4 = "10.0.12.2";
    static constexpr std::string_view node2_link_ipv6 = "fd00:12::2";
    // node1's interfaces facing the client and node2.
    static constexpr std::string_view client_facing_interface = "ext0";
    static constexpr std::string_view node2_facing_interface = "n2";

    // Creates kprt-<pid>-<tag>-client, kprt-<pid>-<tag>-n1-node and
    // kprt-<pid>-<tag>-n2-node (pods: kprt-<pid>-<tag>-n1-<name>, ...) and
    // wires them as drawn above.
    explicit NorthSouthTopology(std::string_view tag);
    NorthSouthTopology(const NorthSouthTopology&) = delete;
    NorthSouthTopology& operator=(const NorthSouthTopology&) = delete;

    const NetNs& client() const { return client_; }
    Topology& node1() { return node1_; }
    Topology& node2() { return node2_; }
    const Topology& node1() const { return node1_; }
    const Topology& node2() const { return node2_; }

    // The interfaces the agent in node1 attaches kpr_from_netdev to.
    static std::vector<std::string> external_interfaces() {
        return {std::string(client_facing_interface), std::string(node2_facing_interface)};
    }
    static std::vector<std::string> node1_addresses() {
        return {std::string(node1_ipv4), std::string(node1_ipv6)};
    }

  private:
    Topology node1_;
    Topology node2_;
    NetNs client_;
};

} // namespace kpr::testbed
