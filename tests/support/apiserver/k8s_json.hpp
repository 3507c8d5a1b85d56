// Kubernetes objects as kube-apiserver v1.35 stores and serves them (JSON,
// with uid, creationTimestamp, managedFields, defaults filled in and the
// status), built from the few fields a test varies, for the API server
// stand-in. kind, apiVersion and resourceVersion are left to the server.
#pragma once

#include <map>
#include <string>

#include "testbed/k8s_yaml.hpp"

namespace kpr::testbed::apiserver {

// In namespace "default", like the YAML builders' objects.
std::string service_json(const ServiceSpec& service);
std::string endpoint_slice_json(const EndpointSliceSpec& slice);

std::string pod_json(const std::string& namespace_, const std::string& name, const std::string& node,
                     const std::string& ip, const std::map<std::string, std::string>& labels);
std::string namespace_json(const std::string& name, const std::map<std::string, std::string>& labels);
std::string network_policy_json(const std::string& namespace_, const std::string& name);

} // namespace kpr::testbed::apiserver
