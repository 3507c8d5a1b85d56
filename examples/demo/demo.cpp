// The demo the README's first command runs. On this machine, inside network
// namespaces it creates (nothing leaves them), it builds a node with three
// backend pods answering with their own name and a client pod, starts
// kpr-agent on a Service, sends requests to the Service's ClusterIP and shows
// how they spread; then takes one backend out of the EndpointSlice, as a
// rolling update would, and shows the traffic moving off it. It removes
// everything it made, also on failure, and exits non-zero if kpr did not do
// what the demo shows.
#include <cstdlib>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "testbed/cgroup.hpp"
#include "testbed/debris.hpp"
#include "testbed/k8s_yaml.hpp"
#include "testbed/kpr_agent.hpp"
#include "testbed/paths.hpp"
#include "testbed/privileges.hpp"
#include "testbed/probe.hpp"
#include "testbed/topology.hpp"

namespace {

using namespace kpr::testbed;

constexpr int skipped = 77; // ctest's SKIP_RETURN_CODE

const std::vector<std::string> pod_names{"web-1", "web-2", "web-3"};

std::string web_objects(const Topology& topo, const std::vector<std::string>& ready) {
    std::vector<EndpointSpec> v4, v6;
    for (const auto& name : pod_names) {
        const bool is_ready = std::find(ready.begin(), ready.end(), name) != ready.end();
        // A pod on its way out: not ready, still serving, terminating.
        const EndpointSpec conditions{"", is_ready, true, !is_ready};
        auto e = conditions;
        e.address = topo.pod(name).ipv4;
        v4.push_back(e);
        e.address = topo.pod(name).ipv6;
        v6.push_back(e);
    }
    const std::vector<SlicePortSpec> ports{{"http", 8080}};
    return yaml_documents({service_yaml({"web", {"10.96.0.10", "fd00:96::10"}, {{"http", 80, "8080"}}}),
                           endpoint_slice_yaml({"web-ipv4", "web", "IPv4", ports, v4}),
                           endpoint_slice_yaml({"web-ipv6", "web", "IPv6", ports, v6})});
}

void print_spread(const ProbeReport& r) {
    for (const auto& name : pod_names) {
        const int n = r.responses.count(name) ? r.responses.at(name) : 0;
        fmt::print("    {:6} {:4}  {}\n", name, n, std::string(static_cast<std::size_t>(n / 5), '#'));
    }
    for (const auto& [peer, n] : r.peers)
        fmt::print("    getpeername() said {} ({} times)\n", peer, n);
    for (const auto& [error, n] : r.errors)
        fmt::print("    failed: {} ({} times)\n", error, n);
}

ProbeReport requests(const ProbeClient& client, const std::string& vip, int count) {
    fmt::print("\n  {} connections to {} port 80:\n", count, vip);
    auto r = client.report({"tcp", "--to", vip, "--port", "80", "--count", std::to_string(count)});
    print_spread(r);
    return r;
}

int demo() {
    if (auto missing = missing_kernel_privileges()) {
        fmt::print(stderr, "kpr-demo needs root (CAP_BPF, CAP_NET_ADMIN): {}\n", *missing);
        return skipped;
    }
    sweep_debris();
    fmt::print("kpr demo: socket-level Service load balancing in this kernel, no iptables.\n\n"
               "Creating a node with a client pod and three backend pods (network namespaces)...\n");
    Topology topo("demo");
    const Pod& client = topo.add_pod("client");
    std::vector<Process> servers;
    for (const auto& name : pod_names) {
        const Pod& pod = topo.add_pod(name);
        servers.push_back(start_echo_server(pod.ns, name, {8080}));
        fmt::print("  pod {} at {} and {}, answering on port 8080 with its name\n", name, pod.ipv4, pod.ipv6);
    }
    TestCgroup cgroup("demo");
    KprAgent agent("demo", std::string(example_datapath_object), cgroup.path());
    fmt::print("\nStarting kpr-agent (instance {}) on cgroup {}\n  with {}\n", agent.instance(),
               cgroup.path().string(), example_datapath_object);
    agent.start();
    const auto synced = agent.apply("web.yaml", web_objects(topo, pod_names));
    fmt::print("  wrote Service web (ClusterIP 10.96.0.10, fd00:96::10) and its EndpointSlices to {}\n  agent: {}\n",
               (agent.source_dir() / "web.yaml").string(), synced);
    fmt::print("\n$ kpr-agent show --instance {}\n{}", agent.instance(), agent.show());

    const ProbeClient probe(client.ns, cgroup);
    const auto before = requests(probe, "10.96.0.10", 300);
    const auto before6 = requests(probe, "fd00:96::10", 150);

    fmt::print("\nTaking web-2 out of the EndpointSlices (not ready, terminating), as a rolling update does...\n");
    fmt::print("  agent: {}\n", agent.apply("web.yaml", web_objects(topo, {"web-1", "web-3"})));
    const auto after = requests(probe, "10.96.0.10", 300);

    const bool spread = before.responses.size() == 3 && before6.responses.size() == 3 &&
                        before.total_responses() == 300 && before6.total_responses() == 150;
    const bool moved = after.total_responses() == 300 && !after.responses.count("web-2");
    fmt::print("\n{}\n{}\n\nCleaning up: the agent, its pinned maps and links, the cgroup and the namespaces.\n\n",
               spread ? "Requests spread over all three backends." : "UNEXPECTED: requests did not reach all three.",
               moved ? "After the change, web-2 got no new connection." : "UNEXPECTED: web-2 still got connections.");
    return spread && moved ? 0 : 1;
}

} // namespace

int main() {
    try {
        return demo();
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr-demo: {}\n", e.what());
        return 1;
    }
}
