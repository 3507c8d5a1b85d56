// NorthSouthTopology: the client and the link between the nodes, one ip(8)
// call per step so a failure names the step that failed.
#include "testbed/north_south.hpp"

#include <fmt/format.h>

#include "testbed/debris.hpp"

namespace kpr::testbed {
namespace {

using NS = NorthSouthTopology;

const PodNetwork node1_pods{.ipv4_prefix = "10.244.1.", .ipv6_prefix = "fd00:244:1::"};
const PodNetwork node2_pods{.ipv4_prefix = "10.244.2.", .ipv6_prefix = "fd00:244:2::"};
constexpr std::string_view node1_pod_cidr4 = "10.244.1.0/24";
constexpr std::string_view node1_pod_cidr6 = "fd00:244:1::/64";
constexpr std::string_view node2_pod_cidr4 = "10.244.2.0/24";
constexpr std::string_view node2_pod_cidr6 = "fd00:244:2::/64";
constexpr std::string_view client_cidr4 = "198.51.100.0/24";
constexpr std::string_view client_cidr6 = "2001:db8:5::/64";

std::string with_prefix(std::string_view address, int length) {
    return fmt::format("{}/{}", address, length);
}

void route(const NetNs& ns, std::string_view destination, std::string_view via) {
    const bool v6 = via.find(':') != std::string_view::npos;
    std::vector<std::string> args;
    if (v6)
        args.push_back("-6");
    args.insert(args.end(), {"route", "add", std::string(destination), "via", std::string(via)});
    ns.ip(args);
}

void address(const NetNs& ns, std::string_view interface, std::string_view address, int length) {
    std::vector<std::string> args{"address", "add", with_prefix(address, length), "dev",
                                  std::string(interface)};
    if (address.find(':') != std::string_view::npos)
        args.push_back("nodad");
    ns.ip(args);
}

} // namespace

NorthSouthTopology::NorthSouthTopology(std::string_view tag)
    : node1_(fmt::format("{}-n1", tag), node1_pods), node2_(fmt::format("{}-n2", tag), node2_pods),
      client_(test_object_name(fmt::format("{}-client", tag))) {
    const NetNs& n1 = node1_.node();
    const NetNs& n2 = node2_.node();
    const std::string client_facing(client_facing_interface);
    const std::string node2_facing(node2_facing_interface);

    n1.ip({"link", "add", client_facing, "type", "veth", "peer", "name", "eth0", "netns", client_.name()});
    address(n1, client_facing, node1_ipv4, 24);
    address(n1, client_facing, node1_ipv6, 64);
    n1.ip({"link", "set", client_facing, "up"});
    address(client_, "eth0", client_ipv4, 24);
    address(client_, "eth0", client_ipv6, 64);
    client_.ip({"link", "set", "eth0", "up"});
    // The client's default route ends in node1: Service addresses
    // (LoadBalancer, ExternalIP) reach it as a router would send them.
    route(client_, "default", node1_ipv4);
    route(client_, "default", node1_ipv6);

    n1.ip({"link", "add", node2_facing, "type", "veth", "peer", "name", "n1", "netns", n2.name()});
    address(n1, node2_facing, node1_link_ipv4, 24);
    address(n1, node2_facing, node1_link_ipv6, 64);
    n1.ip({"link", "set", node2_facing, "up"});
    address(n2, "n1", node2_link_ipv4, 24);
    address(n2, "n1", node2_link_ipv6, 64);
    n2.ip({"link", "set", "n1", "up"});

    route(n1, node2_pod_cidr4, node2_link_ipv4);
    route(n1, node2_pod_cidr6, node2_link_ipv6);
    route(n2, node1_pod_cidr4, node1_link_ipv4);
    route(n2, node1_pod_cidr6, node1_link_ipv6);
    route(n2, client_cidr4, node1_link_ipv4);
    route(n2, client_cidr6, node1_link_ipv6);
}

} // namespace kpr::testbed
