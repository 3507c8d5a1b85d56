// Services and EndpointSlices for kpr-agent, through the test bed's writers.
#include "kpr_objects.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "testbed/k8s_yaml.hpp"

namespace kpr::bench {

std::string kpr_objects_yaml(const BenchCluster& c, int first, int last) {
    std::vector<std::string> documents;
    for (int i = first; i < last; ++i) {
        testbed::ServiceSpec service;
        service.name = BenchCluster::name(i);
        service.cluster_ips = {BenchCluster::vip(i)};
        testbed::EndpointSliceSpec slice;
        slice.name = BenchCluster::name(i) + "-x7k2p";
        slice.service = BenchCluster::name(i);
        slice.address_type = "IPv4";
        for (const auto& port : c.ports(i)) {
            std::string protocol(port.protocol);
            std::ranges::transform(protocol, protocol.begin(), [](unsigned char ch) { return std::toupper(ch); });
            service.ports.push_back(
                {std::string(port.name), port.port, std::to_string(backend_port), protocol});
            slice.ports.push_back({std::string(port.name), backend_port, protocol});
        }
        for (int j = 0; j < endpoints_per_service; ++j)
            slice.endpoints.push_back(testbed::EndpointSpec{c.endpoint(i, j)});
        documents.push_back(testbed::service_yaml(service));
        documents.push_back(testbed::endpoint_slice_yaml(slice));
    }
    return testbed::yaml_documents(documents);
}

} // namespace kpr::bench
