// The policy matrix's cases: the upstream Kubernetes network-policy e2e
// cases shared with the compiler's unit tests (tests/data/netpol, read by
// policy/netpol_cases.hpp) on the model cluster, plus the label changes the
// upstream "updated" cases make before they probe.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "policy_matrix/model_cluster.hpp"

namespace kpr::testbed::netpol {

struct MatrixCase {
    std::string name; // the case file's stem, a gtest name
    // Label changes made (from the model's own labels) before the case applies.
    std::function<void(ModelCluster&)> relabel;

    // The case's NetworkPolicy documents, its ipBlocks naming this cluster's addresses.
    std::string policies(const ModelCluster& cluster) const;
};

// Every case of tests/data/netpol, by name.
const std::vector<MatrixCase>& upstream_cases();

// gtest prints a case by its name.
void PrintTo(const MatrixCase& c, std::ostream* out);

} // namespace kpr::testbed::netpol
