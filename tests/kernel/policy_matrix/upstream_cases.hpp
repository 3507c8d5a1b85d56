// The policy matrix's cases, after the upstream Kubernetes network-policy
// e2e tests (test/e2e/network/netpol/network_policy.go) on the model
// cluster: each is a set of NetworkPolicies (and, for the "updated" cases,
// label changes) whose whole reachability matrix the reference evaluator
// predicts and the probes observe.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "policy_matrix/model_cluster.hpp"

namespace kpr::testbed::netpol {

struct MatrixCase {
    std::string name; // a gtest name: letters and digits
    // The NetworkPolicy documents; ipBlock cases name the model pods' addresses.
    std::function<std::string(const ModelCluster&)> policies;
    // Label changes made (from the model's own labels) before the case applies.
    std::function<void(ModelCluster&)> relabel = [](ModelCluster&) {};
};

const std::vector<MatrixCase>& upstream_cases();

// gtest prints a case by its name.
void PrintTo(const MatrixCase& c, std::ostream* out);

} // namespace kpr::testbed::netpol
