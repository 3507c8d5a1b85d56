// kpr-agent: the node agent, a thin command line over kpr::runtime.
//   kpr-agent run    --instance NAME --cgroup DIR --object kpr_sock.bpf.o
//                    (--source PATH... | --kubeconfig FILE [--context NAME] | --in-cluster)
//                    [--tc-object kpr_tc.bpf.o --node-name NAME [--node-address IP]...
//                     [--external-interface IFNAME]... [--service-node-port-range FIRST-LAST]]
//   kpr-agent show   --instance NAME
//   kpr-agent down   --instance NAME
//   kpr-agent status [--health-address HOST:PORT]
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "kpr/runtime/node_agent.hpp"

int main(int argc, char** argv) {
    CLI::App app{"kpr-agent: programs a node's eBPF Service load balancer from Kubernetes objects"};
    app.require_subcommand(1);
    kpr::runtime::AgentOptions o;
    std::string bpffs(kpr::runtime::default_bpffs);
    app.add_option("--bpffs", bpffs, "where bpffs is mounted")->capture_default_str();
    // kube-proxy's health port, on loopback only.
    const std::string default_health = "127.0.0.1:10256";

    auto* run = app.add_subcommand("run", "attach the data path and keep it in sync with the source");
    run->add_option("--instance", o.instance, "names this instance's pins under <bpffs>/kpr/")->required();
    run->add_option("--cgroup", o.cgroup, "the cgroup v2 directory whose sockets are load balanced")
        ->required()
        ->check(CLI::ExistingDirectory);
    run->add_option("--object", o.object, "the data path object kpr-gen built (kpr_sock.bpf.o)")
        ->required()
        ->check(CLI::ExistingFile);
    auto* source = run->add_option("--source", o.sources,
                                   "a file or directory of Kubernetes Services and EndpointSlices (YAML or JSON)")
                       ->check(CLI::ExistingPath);
    auto* kubeconfig = run->add_option("--kubeconfig", o.kubeconfig, "follow the API server this kubeconfig names")
                           ->check(CLI::ExistingFile);
    run->add_option("--context", o.context, "the kubeconfig context to use (default: its current-context)")
        ->needs(kubeconfig);
    auto* in_cluster = run->add_flag("--in-cluster", o.in_cluster,
                                     "follow the API server of the cluster this pod runs in (service account)");
    source->excludes(kubeconfig)->excludes(in_cluster);
    kubeconfig->excludes(in_cluster);
    run->add_option("--proxy-name", o.proxy_name,
                    "also proxy Services whose service.kubernetes.io/service-proxy-name label is this");
    run->add_option("--health-address", o.health_address,
                    fmt::format("HOST:PORT for /healthz, /readyz, /status and /metrics, e.g. {} (default: none)",
                                default_health));
    int backoff_ms = static_cast<int>(o.watch.initial_backoff.count());
    int backoff_max_ms = static_cast<int>(o.watch.max_backoff.count());
    int idle_limit_ms = static_cast<int>(o.watch.idle_limit.count());
    int watch_timeout_s = static_cast<int>(o.watch.watch_timeout.count());
    run->add_option("--watch-backoff-ms", backoff_ms, "first wait before retrying the API server")->capture_default_str();
    run->add_option("--watch-backoff-max-ms", backoff_max_ms, "longest wait before retrying")->capture_default_str();
    run->add_option("--watch-idle-limit-ms", idle_limit_ms, "reconnect a watch silent for this long")->capture_default_str();
    run->add_option("--watch-timeout-s", watch_timeout_s, "the watch's timeoutSeconds (stretched at random by up to 2x)")
        ->capture_default_str();
    auto* tc_object = run->add_option("--tc-object", o.tc_object,
                                      "the TC object kpr-gen built (kpr_tc.bpf.o): enforce NetworkPolicy on this "
                                      "node's pods")
                          ->check(CLI::ExistingFile);
    auto* node_name = run->add_option("--node-name", o.node_name, "this node's name: pods with this spec.nodeName are local")
                          ->needs(tc_object);
    tc_object->needs(node_name);
    std::vector<std::string> node_addresses;
    run->add_option("--node-address", node_addresses,
                    "an address of this node (repeat for each): the host identity, where NodePorts and "
                    "healthCheckNodePorts are served, and (the first of each family) the SNAT address")
        ->needs(tc_object)
        ->check([](const std::string& text) {
            return kpr::net::Address::parse(text) ? std::string() : fmt::format("{} is not an IP address", text);
        });
    run->add_option("--external-interface", o.external_interfaces,
                    "an interface traffic from outside the node comes in on (repeat for each): kpr_from_netdev at "
                    "its clsact ingress serves NodePorts, load-balancer and external IPs")
        ->needs(tc_object);
    std::string node_port_range = o.node_port_range.str();
    run->add_option("--service-node-port-range", node_port_range,
                    "the NodePorts kpr serves, as the API server's --service-node-port-range")
        ->capture_default_str()
        ->check([](const std::string& text) {
            return kpr::sync::NodePortRange::parse(text) ? std::string()
                                                            : fmt::format("{} is not FIRST-LAST (ports, FIRST <= LAST)", text);
        });
    run->add_flag("--once", o.once, "files only: sync once and exit (status 2 when the input had problems)")
        ->needs(source);

    std::string instance;
    auto* down = app.add_subcommand("down", "detach the data path and unpin its maps and links");
    down->add_option("--instance", instance, "the instance to take down")->required();
    auto* show = app.add_subcommand("show", "print the frontends and backends an instance holds, and its pod "
                                            "policy maps and drop counters when it has them");
    show->add_option("--instance", instance, "the instance to show")->required();
    std::string health_address = default_health;
    auto* status = app.add_subcommand("status", "print what a running agent has synced, when, and from where");
    status->add_option("--health-address", health_address, "the agent's --health-address")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    try {
        if (run->parsed()) {
            if (o.sources.empty() && o.kubeconfig.empty() && !o.in_cluster)
                throw kpr::runtime::Error("choose a source: --source, --kubeconfig or --in-cluster");
            o.bpffs = bpffs;
            o.watch.initial_backoff = std::chrono::milliseconds(backoff_ms);
            o.watch.max_backoff = std::chrono::milliseconds(backoff_max_ms);
            o.watch.idle_limit = std::chrono::milliseconds(idle_limit_ms);
            o.watch.watch_timeout = std::chrono::seconds(watch_timeout_s);
            for (const auto& a : node_addresses)
                o.node_addresses.push_back(*kpr::net::Address::parse(a));
            o.node_port_range = *kpr::sync::NodePortRange::parse(node_port_range);
            return kpr::runtime::run_agent(o);
        }
        if (status->parsed())
            return kpr::runtime::print_status(health_address);
        if (down->parsed())
            kpr::runtime::take_down(instance, bpffs);
        else
            kpr::runtime::show(instance, bpffs);
        return 0;
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr-agent: {}\n", e.what());
        return 1;
    }
}
