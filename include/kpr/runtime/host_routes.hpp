// Which host-side interface leads to a local pod, found the way the node's
// own routing finds it (DESIGN.md, "Where kpr sits in a cluster"): a routed
// CNI installs a /32 (/128) route to each pod address through the pod's
// veth. HostRoutes is one snapshot of the node's main routing table and
// interfaces, read over rtnetlink with libnl-route-3; only single-device
// unicast host routes count, and the agent acts only on veth interfaces
// reached that way, so it never touches an interface that is not a pod's.
// RouteChanges wakes the agent when links or routes change, so a pod whose
// route appears after its Pod object (or whose veth goes) is seen at once.
#pragma once

#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <netlink/route/link.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "kpr/net/address.hpp"
#include "kpr/net/prefix.hpp"
#include "kpr/runtime/error.hpp"

namespace kpr::runtime {

struct HostInterface {
    int ifindex = 0;
    std::string name;
    bool veth = false;

    bool operator==(const HostInterface&) const = default;
};

namespace detail {

struct NlSocketDeleter {
    void operator()(nl_sock* s) const { nl_socket_free(s); }
};
using NlSocketPtr = std::unique_ptr<nl_sock, NlSocketDeleter>;

inline NlSocketPtr connected_socket() {
    NlSocketPtr sock(nl_socket_alloc());
    if (!sock)
        throw Error("netlink: cannot allocate a socket");
    if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
        throw Error(fmt::format("netlink: connecting to rtnetlink: {}", nl_geterror(err)));
    return sock;
}

struct NlCacheDeleter {
    void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using NlCachePtr = std::unique_ptr<nl_cache, NlCacheDeleter>;

inline std::optional<net::Address> address_of(nl_addr* addr) {
    const auto* bytes = static_cast<const std::uint8_t*>(nl_addr_get_binary_addr(addr));
    if (nl_addr_get_family(addr) == AF_INET && nl_addr_get_len(addr) == 4) {
        std::uint32_t network_order;
        std::memcpy(&network_order, bytes, 4);
        return net::Address::v4(network_order);
    }
    if (nl_addr_get_family(addr) == AF_INET6 && nl_addr_get_len(addr) == 16) {
        std::array<std::uint8_t, 16> v6;
        std::memcpy(v6.data(), bytes, 16);
        return net::Address::v6(v6);
    }
    return std::nullopt;
}

} // namespace detail

class HostRoutes {
  public:
    // Reads the current network namespace's interfaces and main-table routes.
    static HostRoutes read() {
        const auto sock = detail::connected_socket();
        nl_cache* raw = nullptr;
        if (int err = rtnl_link_alloc_cache(sock.get(), AF_UNSPEC, &raw); err < 0)
            throw Error(fmt::format("netlink: reading the interfaces: {}", nl_geterror(err)));
        const detail::NlCachePtr links(raw);
        if (int err = rtnl_route_alloc_cache(sock.get(), AF_UNSPEC, 0, &raw); err < 0)
            throw Error(fmt::format("netlink: reading the routes: {}", nl_geterror(err)));
        const detail::NlCachePtr routes(raw);

        HostRoutes out;
        for (nl_object* o = nl_cache_get_first(links.get()); o; o = nl_cache_get_next(o)) {
            auto* link = reinterpret_cast<rtnl_link*>(o);
            const char* type = rtnl_link_get_type(link);
            out.interfaces_[rtnl_link_get_ifindex(link)] =
                HostInterface{rtnl_link_get_ifindex(link), rtnl_link_get_name(link),
                              type != nullptr && std::string_view(type) == "veth"};
        }
        for (nl_object* o = nl_cache_get_first(routes.get()); o; o = nl_cache_get_next(o)) {
            auto* route = reinterpret_cast<rtnl_route*>(o);
            if (rtnl_route_get_table(route) != RT_TABLE_MAIN || rtnl_route_get_type(route) != RTN_UNICAST ||
                rtnl_route_get_nnexthops(route) != 1)
                continue;
            nl_addr* dst = rtnl_route_get_dst(route);
            const auto address = dst ? detail::address_of(dst) : std::nullopt;
            if (!address || nl_addr_get_prefixlen(dst) != net::address_bits(address->family()))
                continue;
            out.host_routes_[*address] = rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, 0));
        }
        return out;
    }

    // The interface the host route to address leaves by, if there is one.
    std::optional<HostInterface> interface_for(const net::Address& address) const {
        const auto route = host_routes_.find(address);
        if (route == host_routes_.end())
            return std::nullopt;
        return interface(route->second);
    }

    std::optional<HostInterface> interface(int ifindex) const {
        const auto it = interfaces_.find(ifindex);
        if (it == interfaces_.end())
            return std::nullopt;
        return it->second;
    }

    const std::map<int, HostInterface>& interfaces() const { return interfaces_; }

  private:
    std::map<int, HostInterface> interfaces_;
    std::map<net::Address, int> host_routes_;
};

// A descriptor that becomes readable when the node's links or routes
// change; drain() reads the notifications (their content does not matter:
// the agent reads the routes again).
class RouteChanges {
  public:
    RouteChanges() : sock_(detail::connected_socket()) {
        nl_socket_disable_seq_check(sock_.get());
        if (int err = nl_socket_add_memberships(sock_.get(), RTNLGRP_LINK, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE, 0);
            err < 0)
            throw Error(fmt::format("netlink: subscribing to route changes: {}", nl_geterror(err)));
        if (int err = nl_socket_set_nonblocking(sock_.get()); err < 0)
            throw Error(fmt::format("netlink: {}", nl_geterror(err)));
    }

    int fd() const { return nl_socket_get_fd(sock_.get()); }

    void drain() const {
        // Each call takes what one read returns (a count of messages);
        // 0 once nothing is left, negative when the socket overran (the
        // routes are read whole anyway).
        while (nl_recvmsgs_default(sock_.get()) > 0) {
        }
    }

  private:
    detail::NlSocketPtr sock_;
};

} // namespace kpr::runtime
