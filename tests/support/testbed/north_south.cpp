// NorthSouthTopology: the client and the link between the nodes, one ip(8)
// call per step so a failure names the step that failed.
#include "testbed/north_south.hpp"

#include <fmt/format.h>

#include "testbed/debris.hpp"

namespace kpr::testbed {
namespace {

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

// One end of a link: its namespace, interface name and addresses.
struct LinkEnd {
    const NetNs& ns;
    std::string interface;
    std::string_view ipv4; // in a /24
    std::string_view ipv6; // in a /64
};

// A veth pair from a to b, both ends addressed and up.
void link(const LinkEnd& a, const LinkEnd& b) {
    a.ns.ip({"link", "add", a.interface, "type", "veth", "peer", "name", b.interface, "netns", b.ns.name()});
    for (const LinkEnd* end : {&a, &b}) {
        address(end->ns, end->interface, end->ipv4, 24);
        address(end->ns, end->interface, end->ipv6, 64);
        end->ns.ip({"link", "set", end->interface, "up"});
    }
}

} // namespace

NorthSouthTopology::NorthSouthTopology(std::string_view tag)
    : node1_(fmt::format("{}-n1", tag), node1_pods), node2_(fmt::format("{}-n2", tag), node2_pods),
      client_(test_object_name(fmt::format("{}-client", tag))) {
    const NetNs& n1 = node1_.node();
    const NetNs& n2 = node2_.node();
    link({n1, std::string(client_facing_interface), node1_ipv4, node1_ipv6},
         {client_, "eth0", client_ipv4, client_ipv6});
    // The client's default route ends in node1: Service addresses
    // (LoadBalancer, ExternalIP) reach it as a router would send them.
    route(client_, "default", node1_ipv4);
    route(client_, "default", node1_ipv6);

    link({n1, std::string(node2_facing_interface), node1_link_ipv4, node1_link_ipv6},
         {n2, "n1", node2_link_ipv4, node2_link_ipv6});
    route(n1, node2_pod_cidr4, node2_link_ipv4);
    route(n1, node2_pod_cidr6, node2_link_ipv6);
    route(n2, node1_pod_cidr4, node1_link_ipv4);
    route(n2, node1_pod_cidr6, node1_link_ipv6);
    route(n2, client_cidr4, node1_link_ipv4);
    route(n2, client_cidr6, node1_link_ipv6);
}

} // namespace kpr::testbed
