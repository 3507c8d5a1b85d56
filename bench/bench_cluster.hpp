// The synthetic cluster every mode of the benchmark programs: N ClusterIP
// Services in kube-proxy's order (service 0 first, service N-1 last), each
// with one TCP port and four endpoints; the last one also has a UDP port.
// Every endpoint has its own address, so the rules, maps and conntrack
// entries are those of N distinct Services, while four backend pods answer
// them all (each owns a /16 of endpoint addresses through a local route).
//
//   Service i:     10.96.0.0 + (i + 1), port 80/TCP (and 53/UDP for the last)
//   its endpoint j: 10.(224 + j).0.0 + (i + 1), port 8080, in backend pod j
//   cluster CIDR:  10.224.0.0/11 (endpoints and the client pod, 10.244.0.x)
//
// With node ports (bench/nodeport/), Service i's TCP port also has NodePort
// 30000 + i on the node address 192.0.2.1, with externalTrafficPolicy
// Cluster: 10,000 Services need 30000-39999, so the run widens the NodePort
// range as `--service-node-port-range` would.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace kpr::bench {

inline constexpr int endpoints_per_service = 4;
inline constexpr std::uint16_t service_port = 80;
inline constexpr std::uint16_t udp_service_port = 53;
inline constexpr std::uint16_t backend_port = 8080;
inline constexpr std::string_view cluster_cidr = "10.224.0.0/11";
// The host part of addresses in a /16 that a Service may use: 1..65533.
// 65534 is the spare address the endpoint change moves an endpoint to.
inline constexpr int max_services = 65533;
inline constexpr int spare_host = 65534;
// The node's address for NodePorts (TEST-NET-1: it exists only on the bench
// node's loopback), the first NodePort, and how many Services may have one
// (their NodePorts stay below kpr's SNAT ports, 61000 and up).
inline constexpr std::string_view node_address = "192.0.2.1";
inline constexpr int first_node_port = 30000;
inline constexpr int max_node_port_services = 20000;

// One port of a Service, named as kube-proxy's ServicePortName does.
struct BenchPort {
    std::string_view name;     // "http" or "dns"
    std::string_view protocol; // "tcp" or "udp", as iptables and nft spell it
    std::uint16_t port;
};

inline std::string host_in(int first_octets, int host) {
    return fmt::format("10.{}.{}.{}", first_octets, host >> 8, host & 0xff);
}

struct BenchCluster {
    int services;
    // Whether endpoint 0 of the last Service has moved to the spare address:
    // the one endpoint change the benchmark applies, back and forth.
    bool last_endpoint_moved = false;
    // Whether each Service's TCP port also has a NodePort.
    bool node_ports = false;

    explicit BenchCluster(int n, bool with_node_ports = false) : services(n), node_ports(with_node_ports) {
        if (n < 1 || n > max_services)
            throw std::invalid_argument(fmt::format("{} services: between 1 and {}", n, max_services));
        if (with_node_ports && n > max_node_port_services)
            throw std::invalid_argument(
                fmt::format("{} services with NodePorts: at most {}", n, max_node_port_services));
    }

    int last() const { return services - 1; }
    std::vector<BenchPort> ports(int i) const {
        std::vector<BenchPort> p{{"http", "tcp", service_port}};
        if (i == last())
            p.push_back({"dns", "udp", udp_service_port});
        return p;
    }

    // The NodePort of Service i's TCP port (0: none).
    std::uint16_t node_port(int i, const BenchPort& port) const {
        return node_ports && port.protocol == "tcp" ? static_cast<std::uint16_t>(first_node_port + i) : 0;
    }

    static std::string name(int i) { return fmt::format("svc-{:05}", i); }
    // 10.96.0.0/12 holds a million addresses, far more than max_services.
    static std::string vip(int i) {
        const int host = i + 1;
        return fmt::format("10.{}.{}.{}", 96 + (host >> 16), (host >> 8) & 0xff, host & 0xff);
    }
    static std::string backend_subnet(int j) { return fmt::format("10.{}.0.0/16", 224 + j); }
    std::string endpoint(int i, int j) const {
        const bool moved = last_endpoint_moved && i == last() && j == 0;
        return host_in(224 + j, moved ? spare_host : i + 1);
    }
};

} // namespace kpr::bench
