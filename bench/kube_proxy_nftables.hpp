// The ruleset kube-proxy's nftables mode writes for the benchmark's cluster,
// as `nft -f` input: table ip kube-proxy with the service-ips verdict map
// (ipv4_addr . inet_proto . inet_service), one service-* chain per Service
// port choosing an endpoint-* chain with `numgen random mod N vmap`, dnat
// in the endpoint chains, masquerade marking, with node ports the
// service-nodeports verdict map (inet_proto . inet_service) to external-*
// chains on the nodeport-ips addresses, and the filter-side checks.
#pragma once

#include <string>

#include "bench_cluster.hpp"

namespace kpr::bench {

// The whole table, as kube-proxy's first sync writes it in one transaction.
std::string nftables_full_ruleset(const BenchCluster& cluster);

// The transaction a later sync writes after the last Service's endpoint 0
// moved from `before` to `after`: the new endpoint chains, the rewritten
// service chains, the stale endpoint chains deleted.
std::string nftables_endpoint_change(const BenchCluster& before, const BenchCluster& after);

// Removes the table (untimed, between sizes); harmless when it is absent.
std::string nftables_delete_table();

} // namespace kpr::bench
