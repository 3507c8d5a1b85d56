// The rules kube-proxy's iptables mode writes for the benchmark's cluster, as
// iptables-restore input: the nat table's KUBE-SERVICES -> KUBE-SVC-* ->
// KUBE-SEP-* chains (statistic --mode random, DNAT, KUBE-MARK-MASQ), with
// node ports KUBE-NODEPORTS -> KUBE-EXT-* (masquerade mark), the
// filter table's KUBE-FORWARD and friends, and the jumps from the built-in
// chains that kube-proxy installs. Fed to iptables-nft-restore and
// iptables-legacy-restore alike.
#pragma once

#include <string>

#include "bench_cluster.hpp"

namespace kpr::bench {

// Everything, as a full sync writes it (iptables-restore without --noflush
// replaces both tables).
std::string iptables_full_restore(const BenchCluster& cluster);

// What a kube-proxy partial sync (MinimizeIPTablesRestore, the default since
// 1.27) writes for iptables-restore --noflush after the last Service's
// endpoint 0 moved from `before` to `after`: the top-level chains in full,
// the last Service's KUBE-SVC chains, the new KUBE-SEP chains, and -X for
// the stale ones.
std::string iptables_partial_restore(const BenchCluster& before, const BenchCluster& after);

// Empties both tables (untimed, between sizes).
std::string iptables_flush_restore();

} // namespace kpr::bench
