// One emulated node per benchmark mode, built from the test bed's routed-CNI
// topology: a client pod and four backend pods on veths into a node
// namespace, nothing linked to the machine's own namespace. Backend pod j
// answers every endpoint address of 10.(224 + j).0.0/16 (a local route, so
// one server serves every Service's endpoint j); the node routes that /16 to
// it. The node also holds the NodePort address (bench_cluster.hpp), which
// the client pod, standing in for an external client, reaches through the
// node. Each mode gets its own node so that one mode's rules (and the
// conntrack they switch on) never touch another's traffic.
#pragma once

#include <string_view>
#include <vector>

#include "testbed/process.hpp"
#include "testbed/topology.hpp"

namespace kpr::bench {

class BenchNode {
  public:
    // Namespaces kprt-<pid>-<tag>-node, -client, -b0..-b3.
    explicit BenchNode(std::string_view tag);

    const testbed::NetNs& node() const { return topology_.node(); }
    const testbed::Pod& client() const { return topology_.pod("client"); }
    // The client and the backend pods b0..b3, in that order.
    const std::deque<testbed::Pod>& pods() const { return topology_.pods(); }

  private:
    testbed::Topology topology_;
    std::vector<testbed::Process> servers_;
};

} // namespace kpr::bench
