// The benchmark's cluster as the Kubernetes objects kpr-agent reads: one v1
// Service and one discovery.k8s.io/v1 EndpointSlice per Service.
#pragma once

#include <string>

#include "bench_cluster.hpp"

namespace kpr::bench {

// YAML documents for Services first..last-1 and their EndpointSlices.
std::string kpr_objects_yaml(const BenchCluster& cluster, int first, int last);

} // namespace kpr::bench
