// The reachability matrix of the model cluster: every pod probes every pod
// (itself included) over TCP and UDP on ports 80 and 81, IPv4 and IPv6, with
// one kpr-test-client per source pod probing all its targets at once, and
// the result is compared with what the reference evaluator
// (policy_reference.hpp) expects of the same cluster. On a difference the
// report holds, per kind of probe that differs, the expected and observed
// tables and each differing pair with the error the probe saw.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "kpr/policy/policy_compiler.hpp"
#include "policy_matrix/model_cluster.hpp"
#include "testbed/probe.hpp"

namespace kpr::testbed::netpol {

// A denied probe is a probe that times out, so this bounds each case's cost:
// a row is one connect or one answer waited for at most this long.
inline constexpr std::chrono::milliseconds deny_timeout{400};
// A probe the reference expects to pass that failed within deny_timeout is
// tried again with this much, so that a slow moment of a loaded machine is
// not taken for a deny.
inline constexpr std::chrono::milliseconds confirm_timeout{2000};

// One kind of probe: protocol, port and address family.
struct ProbeKind {
    std::string protocol; // "tcp" or "udp"
    std::uint16_t port;
    bool ipv6;

    std::string str() const; // "TCP/80 IPv4"
};

// TCP and UDP, ports 80 and 81, IPv4 and IPv6: eight kinds.
std::vector<ProbeKind> model_probe_kinds();

// observed[kind][from][to] for the model pods in ModelCluster::pods() order.
using Observation = std::vector<std::vector<std::vector<ReachOutcome>>>;

// Runs the whole matrix once with the given timeout.
Observation observe(const ModelCluster& cluster, std::chrono::milliseconds timeout);

struct MatrixCheck {
    std::size_t probes = 0;
    std::size_t expected_allowed = 0;
    std::size_t expected_denied = 0;
    std::size_t mismatches = 0;
    // Expected allows that failed the first round and passed the confirming one.
    std::size_t confirmed_late = 0;
    std::string report; // empty when nothing differs
};

// Observes the matrix (confirming would-be denies of expected allows with
// confirm_timeout) and compares it with the reference's verdicts on input.
MatrixCheck check_matrix(const ModelCluster& cluster, const policy::PolicyInput& input);

} // namespace kpr::testbed::netpol
