// kpr-agent: the node agent, a thin command line over kpr::runtime.
//   kpr-agent run  --instance NAME --cgroup DIR --object kpr_sock.bpf.o --source PATH...
//   kpr-agent show --instance NAME
//   kpr-agent down --instance NAME
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

    auto* run = app.add_subcommand("run", "attach the data path and keep it in sync with the source files");
    run->add_option("--instance", o.instance, "names this instance's pins under <bpffs>/kpr/")->required();
    run->add_option("--cgroup", o.cgroup, "the cgroup v2 directory whose sockets are load balanced")
        ->required()
        ->check(CLI::ExistingDirectory);
    run->add_option("--object", o.object, "the data path object kpr-gen built (kpr_sock.bpf.o)")
        ->required()
        ->check(CLI::ExistingFile);
    run->add_option("--source", o.sources,
                    "a file or directory of Kubernetes Services and EndpointSlices (YAML or JSON)")
        ->required()
        ->check(CLI::ExistingPath);
    run->add_option("--proxy-name", o.proxy_name,
                    "also proxy Services whose service.kubernetes.io/service-proxy-name label is this");
    run->add_flag("--once", o.once, "sync once and exit (status 2 when the input had problems)");

    std::string instance;
    auto* down = app.add_subcommand("down", "detach the data path and unpin its maps and links");
    down->add_option("--instance", instance, "the instance to take down")->required();
    auto* show = app.add_subcommand("show", "print the frontends and backends an instance holds");
    show->add_option("--instance", instance, "the instance to show")->required();
    CLI11_PARSE(app, argc, argv);

    try {
        if (run->parsed()) {
            o.bpffs = bpffs;
            return kpr::runtime::run_agent(o);
        }
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
