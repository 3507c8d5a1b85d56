// The typed v1/Node, as far as policy needs it: a cluster-scoped object
// whose IP addresses (status.addresses of type InternalIP and ExternalIP)
// are the node's own, so the ipcache knows them as host on that node and
// remote-node everywhere else.
#pragma once

#include <vector>

#include "kpr/k8s/object_meta.hpp"
#include "kpr/net/address.hpp"

namespace kpr::k8s {

struct Node {
    ObjectMeta meta; // namespace_ is empty: a Node is in none
    std::vector<net::Address> addresses;

    ObjectKey key() const { return {"Node", "", meta.name}; }
    bool operator==(const Node&) const = default;
};

} // namespace kpr::k8s
