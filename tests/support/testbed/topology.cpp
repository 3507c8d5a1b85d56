// Topology: the routed-CNI wiring, one ip(8) call per step so a failure names
// the step that failed.
#include "testbed/topology.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace kpr::testbed {
namespace {

// <prefix><k> with k = first_host + index must stay a host address.
constexpr int first_host = 10;
constexpr int last_host = 254;

bool valid_pod_name(std::string_view name) {
    return !name.empty() && name.size() <= 32 && name != "node" &&
           std::ranges::all_of(name, [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
           });
}

NetNs make_node(const std::string& name) {
    NetNs node(name);
    node.run({"sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"});
    // A local address answers ARP on every interface: each pod finds its
    // gateway without proxy ARP.
    node.ip({"address", "add", fmt::format("{}/32", Topology::gateway_ipv4), "dev", "lo"});
    return node;
}

} // namespace

Topology::Topology(std::string_view tag, PodNetwork network)
    : namespace_prefix_(test_object_name(tag)), network_(std::move(network)),
      node_(make_node(namespace_prefix_ + "-node")) {}

const Pod& Topology::add_pod(std::string_view name) {
    if (!valid_pod_name(name))
        throw std::invalid_argument(fmt::format("pod name \"{}\": use 1-32 characters of a-z, 0-9 "
                                                "and '-', and not \"node\"",
                                                name));
    if (std::ranges::any_of(pods_, [&](const Pod& p) { return p.name == name; }))
        throw std::invalid_argument(fmt::format("pod \"{}\" already exists", name));
    const int index = static_cast<int>(pods_.size());
    const int host = first_host + index;
    if (host > last_host)
        throw std::length_error("a Topology holds at most 245 pods");

    Pod pod{.name = std::string(name),
            .ns = NetNs(fmt::format("{}-{}", namespace_prefix_, name)),
            .ipv4 = fmt::format("{}{}", network_.ipv4_prefix, host),
            .ipv6 = fmt::format("{}{}", network_.ipv6_prefix, host),
            .node_interface = fmt::format("kv{}", index)};
    const std::string& veth = pod.node_interface;

    node_.ip({"link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pod.ns.name()});
    node_.ip({"link", "set", veth, "up"});
    node_.ip({"address", "add", fmt::format("{}/64", gateway_ipv6), "dev", veth, "nodad"});
    node_.ip({"route", "add", pod.ipv4 + "/32", "dev", veth});
    node_.ip({"-6", "route", "add", pod.ipv6 + "/128", "dev", veth});

    pod.ns.ip({"address", "add", pod.ipv4 + "/32", "dev", "eth0"});
    pod.ns.ip({"address", "add", pod.ipv6 + "/128", "dev", "eth0", "nodad"});
    pod.ns.ip({"link", "set", "eth0", "up"});
    pod.ns.ip({"route", "add", std::string(gateway_ipv4), "dev", "eth0", "scope", "link"});
    pod.ns.ip({"route", "add", "default", "via", std::string(gateway_ipv4), "dev", "eth0"});
    pod.ns.ip({"-6", "route", "add", "default", "via", std::string(gateway_ipv6), "dev", "eth0"});

    return pods_.emplace_back(std::move(pod));
}

const Pod& Topology::pod(std::string_view name) const {
    const auto found = std::ranges::find(pods_, name, &Pod::name);
    if (found == pods_.end())
        throw std::out_of_range(fmt::format("no pod \"{}\" in this topology", name));
    return *found;
}

} // namespace kpr::testbed
