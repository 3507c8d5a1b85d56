// Probing the model cluster's matrix and comparing it with the reference.
#include "policy_matrix/reachability.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "policy_reference.hpp"

namespace kpr::testbed::netpol {
namespace {

using policy::testing::Place;
using policy::testing::Probe;
using policy::testing::Reference;

const std::string& address_of(const ModelPod& pod, bool ipv6) {
    return ipv6 ? pod.pod->ipv6 : pod.pod->ipv4;
}

ReachProbe reach_probe(const ProbeKind& kind, const ModelPod& target) {
    return {kind.protocol, address_of(target, kind.ipv6), kind.port};
}

// The (kind, from, to) cells to probe, per source pod.
struct Cell {
    std::size_t kind, from, to;
};

// Probes the given cells, one client per source pod, all clients at once.
void probe_cells(const ModelCluster& cluster, const std::vector<ProbeKind>& kinds,
                 const std::vector<Cell>& cells, std::chrono::milliseconds timeout,
                 Observation& observed) {
    const auto& pods = cluster.pods();
    std::vector<std::vector<Cell>> by_source(pods.size());
    for (const Cell& cell : cells)
        by_source[cell.from].push_back(cell);
    std::vector<std::vector<ReachProbe>> probes(pods.size());
    std::vector<std::optional<Process>> clients(pods.size());
    for (std::size_t from = 0; from < pods.size(); ++from) {
        if (by_source[from].empty())
            continue;
        for (const Cell& cell : by_source[from])
            probes[from].push_back(reach_probe(kinds[cell.kind], pods[cell.to]));
        clients[from].emplace(ProbeClient(pods[from].pod->ns).spawn(reach_mode(probes[from], timeout)));
    }
    for (std::size_t from = 0; from < pods.size(); ++from) {
        if (!clients[from])
            continue;
        const std::vector<ReachOutcome> outcomes =
            read_reach_report(*clients[from], probes[from], timeout);
        for (std::size_t i = 0; i < outcomes.size(); ++i) {
            const Cell& cell = by_source[from][i];
            observed[cell.kind][cell.from][cell.to] = outcomes[i];
        }
    }
}

Probe reference_probe(const ProbeKind& kind) {
    return {kind.protocol == "tcp" ? policy::testing::tcp : policy::testing::udp, kind.port};
}

} // namespace

std::string ProbeKind::str() const {
    return fmt::format("{}/{} {}", protocol == "tcp" ? "TCP" : "UDP", port, ipv6 ? "IPv6" : "IPv4");
}

std::vector<ProbeKind> model_probe_kinds() {
    std::vector<ProbeKind> kinds;
    for (const bool ipv6 : {false, true})
        for (const char* protocol : {"tcp", "udp"})
            for (const std::uint16_t port : model_ports)
                kinds.push_back({protocol, port, ipv6});
    return kinds;
}

Observation observe(const ModelCluster& cluster, std::chrono::milliseconds timeout) {
    const auto kinds = model_probe_kinds();
    const std::size_t n = cluster.pods().size();
    Observation observed(kinds.size(), std::vector<std::vector<ReachOutcome>>(
                                           n, std::vector<ReachOutcome>(n)));
    std::vector<Cell> cells;
    for (std::size_t kind = 0; kind < kinds.size(); ++kind)
        for (std::size_t from = 0; from < n; ++from)
            for (std::size_t to = 0; to < n; ++to)
                cells.push_back({kind, from, to});
    probe_cells(cluster, kinds, cells, timeout, observed);
    return observed;
}

MatrixCheck check_matrix(const ModelCluster& cluster, const policy::PolicyInput& input) {
    const auto kinds = model_probe_kinds();
    const auto& pods = cluster.pods();
    const std::size_t n = pods.size();
    const Reference reference(input);
    std::vector<std::vector<std::vector<bool>>> expected(
        kinds.size(), std::vector<std::vector<bool>>(n, std::vector<bool>(n)));
    for (std::size_t kind = 0; kind < kinds.size(); ++kind)
        for (std::size_t from = 0; from < n; ++from)
            for (std::size_t to = 0; to < n; ++to)
                expected[kind][from][to] = reference.allows(
                    policy::testing::ip(address_of(pods[from], kinds[kind].ipv6)),
                    policy::testing::ip(address_of(pods[to], kinds[kind].ipv6)),
                    reference_probe(kinds[kind]));

    Observation observed = observe(cluster, deny_timeout);
    std::vector<Cell> doubtful;
    for (std::size_t kind = 0; kind < kinds.size(); ++kind)
        for (std::size_t from = 0; from < n; ++from)
            for (std::size_t to = 0; to < n; ++to)
                if (expected[kind][from][to] && !observed[kind][from][to].reached)
                    doubtful.push_back({kind, from, to});
    MatrixCheck out;
    if (!doubtful.empty()) {
        probe_cells(cluster, kinds, doubtful, confirm_timeout, observed);
        for (const Cell& c : doubtful)
            out.confirmed_late += observed[c.kind][c.from][c.to].reached;
    }

    std::vector<Place> places;
    for (const ModelPod& pod : pods)
        places.push_back({pod.key(), policy::testing::ip(pod.pod->ipv4)});
    for (std::size_t kind = 0; kind < kinds.size(); ++kind) {
        std::vector<std::vector<char>> want(n, std::vector<char>(n)), got = want;
        std::string differences;
        for (std::size_t from = 0; from < n; ++from)
            for (std::size_t to = 0; to < n; ++to) {
                const bool allow = expected[kind][from][to];
                const ReachOutcome& seen = observed[kind][from][to];
                want[from][to] = allow ? '.' : 'X';
                got[from][to] = seen.reached ? '.' : 'X';
                ++out.probes;
                ++(allow ? out.expected_allowed : out.expected_denied);
                if (allow != seen.reached)
                    differences += fmt::format("  {} -> {} {}: expected {}, observed {} ({})\n",
                                               pods[from].key(), pods[to].key(), kinds[kind].str(),
                                               allow ? "allow" : "deny",
                                               seen.reached ? "allow" : "deny", seen.detail);
            }
        if (differences.empty())
            continue;
        out.mismatches += static_cast<std::size_t>(std::ranges::count(differences, '\n'));
        out.report += fmt::format("{}: expected (reference)\n{}{}: observed (probes)\n{}{}",
                                  kinds[kind].str(), policy::testing::reachability_table(places, want),
                                  kinds[kind].str(), policy::testing::reachability_table(places, got),
                                  differences);
    }
    return out;
}

} // namespace kpr::testbed::netpol
