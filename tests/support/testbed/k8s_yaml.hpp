// Kubernetes objects as a test or the demo writes them for kpr-agent's file
// source: a v1 Pod, Service and a discovery.k8s.io/v1 EndpointSlice, shaped as
// the API server would store them, built from the few fields a test varies.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kpr::testbed {

struct ServicePortSpec {
    std::string name;
    int port;
    std::string target_port; // a number or a container port name
    std::string protocol = "TCP";
    int node_port = 0; // written when not 0
};

struct ServiceSpec {
    std::string name;
    std::vector<std::string> cluster_ips; // "None" for headless
    std::vector<ServicePortSpec> ports;
    std::string proxy_name_label; // service.kubernetes.io/service-proxy-name, when not empty
    // The north-south fields; each written only when set.
    std::string type = "ClusterIP"; // NodePort, LoadBalancer
    std::vector<std::string> external_ips = {};
    std::vector<std::string> load_balancer_ingress = {}; // status.loadBalancer.ingress[].ip
    std::vector<std::string> load_balancer_source_ranges = {};
    std::string external_traffic_policy = {}; // Cluster or Local
    int health_check_node_port = 0;
    std::string session_affinity = {}; // None or ClientIP
    int affinity_timeout_seconds = 0;
};

struct EndpointSpec {
    std::string address;
    bool ready = true;
    bool serving = true;
    bool terminating = false;
    std::string node_name = "node-1";
};

struct SlicePortSpec {
    std::string name;
    int port;
    std::string protocol = "TCP";
};

struct EndpointSliceSpec {
    std::string name;
    std::string service;
    std::string address_type; // IPv4 or IPv6
    std::vector<SlicePortSpec> ports;
    std::vector<EndpointSpec> endpoints;
};

// A running Pod with both families' addresses, labelled app=<app>, with one
// container port named "http".
struct PodObjectSpec {
    std::string name;
    std::string ipv4;
    std::string ipv6;
    std::string app;
    std::string node_name = "node";
    int http_port = 8080;
};

// All in namespace "default", each as one YAML document ending in a newline.
std::string pod_yaml(const PodObjectSpec& pod);
std::string service_yaml(const ServiceSpec& service);
std::string endpoint_slice_yaml(const EndpointSliceSpec& slice);

// Documents joined with "---" separators.
std::string yaml_documents(const std::vector<std::string>& documents);

} // namespace kpr::testbed
