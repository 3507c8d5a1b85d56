// BenchNode: the test bed's topology plus the backend subnets and the client's
// TCP settings.
#include "bench_node.hpp"

#include <fmt/format.h>

#include "bench_cluster.hpp"
#include "testbed/probe.hpp"

namespace kpr::bench {

BenchNode::BenchNode(std::string_view tag) : topology_(tag) {
    // The address NodePorts answer on; the pods reach it through their default route.
    topology_.node().ip({"address", "add", fmt::format("{}/32", node_address), "dev", "lo"});
    const auto& client = topology_.add_pod("client");
    // A client opening thousands of connections a second to a few backends
    // runs out of ephemeral ports to TIME_WAIT within seconds; reusing
    // TIME_WAIT ports (safe with timestamps) and a wide range avoid it.
    client.ns.run({"sysctl", "-q", "-w", "net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=1024 65000"});
    for (int j = 0; j < endpoints_per_service; ++j) {
        const auto& backend = topology_.add_pod(fmt::format("b{}", j));
        const auto subnet = BenchCluster::backend_subnet(j);
        backend.ns.ip({"route", "add", "local", subnet, "dev", "lo"});
        topology_.node().ip(
            {"route", "add", subnet, "via", backend.ipv4, "dev", backend.node_interface, "onlink"});
        servers_.push_back(testbed::start_echo_server(backend.ns, backend.name, {backend_port}));
    }
}

} // namespace kpr::bench
