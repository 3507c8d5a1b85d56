// The node agent's life cycle, which kpr-agent's commands call:
//   run     load the data path (reusing the instance's pinned maps), attach or
//           re-attach its socket programs to the cgroup, then keep the maps in
//           sync with the Kubernetes objects of its source until SIGTERM: the
//           files of --source, or the API server's watch (a kubeconfig, or the
//           in-cluster configuration). The programs and maps stay pinned when
//           it exits, so traffic never depends on the agent being up.
//           With --tc-object it also loads the TC object, attaches its pod
//           programs to the local pods' veths and keeps the policy maps in
//           sync from Pods, Namespaces and NetworkPolicies (pod_datapath.hpp);
//           with --external-interface it attaches kpr_from_netdev there and
//           serves NodePorts, load-balancer and external IPs (issue 7), and
//           the healthCheckNodePorts of externalTrafficPolicy Local Services
//           on the node addresses.
//   down    detach and unpin everything of an instance.
//   show    print what an instance's maps hold.
//   status  ask a running agent's health endpoint what it has synced.
// After each sync `run` prints one "synced ..." line on stdout; problems with
// the input go to the log, each naming its source, object and field.
#pragma once

#include <bpf/bpf.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/k8s/api/api_source.hpp"
#include "kpr/k8s/file_source.hpp"
#include "kpr/k8s/file_watcher.hpp"
#include "kpr/runtime/cgroup_attachment.hpp"
#include "kpr/runtime/datapath_object.hpp"
#include "kpr/runtime/health_check_node_ports.hpp"
#include "kpr/runtime/health_server.hpp"
#include "kpr/runtime/log.hpp"
#include "kpr/runtime/pod_datapath.hpp"
#include "kpr/runtime/stop_signal.hpp"
#include "kpr/runtime/wait_for_wake.hpp"
#include "kpr/sync/load_balancer_model.hpp"
#include "kpr/sync/load_balancer_tables.hpp"
#include "kpr/sync/sync_engine.hpp"

namespace kpr::runtime {

struct AgentOptions {
    std::string instance;
    std::filesystem::path bpffs{default_bpffs};
    std::filesystem::path object;
    std::filesystem::path cgroup;
    // The source: files, a kubeconfig, or the in-cluster configuration.
    std::vector<std::filesystem::path> sources;
    std::filesystem::path kubeconfig;
    std::string context; // the kubeconfig's current context when empty
    bool in_cluster = false;
    k8s::api::ReflectorOptions watch;
    std::string proxy_name;
    std::string health_address; // HOST:PORT of the health endpoints; none when empty
    bool once = false; // files only: sync once and exit, 0 when the input had no problem, 2 otherwise
    // The TC data path: none when empty.
    std::filesystem::path tc_object;
    std::string node_name; // pods with this spec.nodeName are local
    std::vector<net::Address> node_addresses;
    std::vector<std::string> external_interfaces; // kpr_from_netdev at their clsact ingress
    sync::NodePortRange node_port_range;
};

namespace detail {

inline void log_attach(const AttachReport& r) {
    if (!r.attached.empty())
        log("attached {}", fmt::join(r.attached, ", "));
    if (!r.replaced.empty())
        log("replaced the running {} in place", fmt::join(r.replaced, ", "));
    if (!r.detached.empty())
        log("detached {} (no longer in the data path)", fmt::join(r.detached, ", "));
}

} // namespace detail

namespace detail {

// The sync's one line on stdout, its problems in the log, and the status.
inline void report_sync(unsigned generation, std::string_view source, const sync::LoadBalancerTables& tables,
                        const sync::SyncResult& result, const std::vector<Diagnostic>& problems,
                        const std::optional<PodSyncReport>& pods, AgentStatus& status) {
    for (const auto& p : problems)
        log("{}", p.str());
    std::string pod_fields;
    if (pods) {
        for (const auto& p : pods->problems)
            log("{}", p.str());
        if (!pods->attached.empty())
            log("attached the pod programs to {}", fmt::join(pods->attached, ", "));
        if (!pods->detached.empty())
            log("detached the pod programs from {} (no local pod there any more)", fmt::join(pods->detached, ", "));
        pod_fields = fmt::format(" endpoints={} waiting={} policy_written={} policy_removed={} policy_unchanged={} "
                                 "revisions_bumped={} policy_problems={}",
                                 pods->endpoints, pods->waiting, pods->apply.written, pods->apply.removed,
                                 pods->apply.unchanged, pods->apply.revisions_bumped, pods->problems.size());
    }
    // The status first: whoever reads the line may ask the status next.
    status.synced({generation, tables.frontend_count(), problems.size(), result.full, std::chrono::system_clock::now()});
    fmt::print("synced generation={} source={} frontends={} written={} removed={} unchanged={} problems={} mode={}{}\n",
               generation, source, tables.frontend_count(), result.report.written, result.report.removed,
               result.report.unchanged, problems.size(), result.full ? "full" : "incremental", pod_fields);
    std::fflush(stdout);
}

// After the node's links or routes changed: the pods' side alone (a pod's
// route appeared, a veth went), reported only when it changed something.
inline void resync_pods(PodDatapath& pods, const k8s::ClusterState& state, unsigned& generation,
                        const sync::LoadBalancerTables& tables, AgentStatus& status) {
    pods.drain_route_changes();
    auto report = pods.sync(state);
    if (report.changed_anything())
        report_sync(++generation, "routes", tables, {}, {}, report, status);
}

inline std::unique_ptr<HealthServer> serve_health(const AgentOptions& o, AgentStatus& status, PodDatapath* pods) {
    if (pods)
        status.set_pod_datapath([pods] { return describe_pod_datapath(pods->counters(), pods->drops()); },
                                [pods] { return pod_datapath_metrics(pods->counters(), pods->drops()); });
    std::unique_ptr<HealthServer> server;
    if (!o.health_address.empty()) {
        server = std::make_unique<HealthServer>(o.health_address, status);
        log("health endpoints on http://{}/ (healthz, readyz, status, metrics)", o.health_address);
    }
    return server;
}

inline sync::ModelOptions model_options(const AgentOptions& o) {
    return {o.proxy_name, o.node_name, o.node_addresses, o.node_port_range};
}

// Opens, updates and closes the healthCheckNodePort listeners after a sync.
inline void serve_health_checks(HealthCheckNodePorts& servers, const sync::SyncEngine& engine) {
    std::vector<ServiceHealth> wanted;
    for (const auto& [service, check] : engine.health_checks())
        wanted.push_back({service, check.port, check.local_endpoints});
    for (const auto& problem : servers.update(wanted))
        log("{}", problem);
}

inline int run_from_files(const AgentOptions& o, const StopSignal& stop, sync::LoadBalancerTables& tables,
                          PodDatapath* pods) {
    sync::SyncCounters counters;
    sync::SyncEngine engine(tables.programmer(), model_options(o), counters);
    HealthCheckNodePorts health_checks(o.node_addresses);
    std::vector<std::string> paths;
    for (const auto& p : o.sources)
        paths.push_back(p.string());
    AgentStatus status(fmt::format("files {}", fmt::join(paths, ", ")), counters);
    const auto health = serve_health(o, status, pods);
    k8s::FileSource source(o.sources);
    // Watching starts before the first read, so no change slips in between.
    k8s::FileWatcher watcher(source.watch_directories());
    // Until the input has been read once without a problem, it may lack
    // objects that exist (a file broken before the agent started), so what
    // is programmed is neither changed nor removed on its account. Later,
    // the source keeps each object's last good version itself.
    bool input_trusted = false;
    for (unsigned generation = 1;; ++generation) {
        counters.received();
        auto problems = source.reload();
        input_trusted = input_trusted || problems.empty();
        sync::PendingChanges changes{true, {}, {sync::Clock::now()}};
        auto result = engine.sync(source.state(), changes,
                                  input_trusted ? sync::ApplyScope::everything : sync::ApplyScope::new_frontends_only);
        problems.insert(problems.end(), result.report.problems.begin(), result.report.problems.end());
        serve_health_checks(health_checks, engine);
        if (!input_trusted)
            log("until the input reads without a problem, only new frontends are programmed; the others "
                "keep their backends{}",
                pods ? ", and the policy maps and pod programs stay as they are" : "");
        result.full = result.full && input_trusted;
        std::optional<PodSyncReport> pod_report;
        if (pods && input_trusted)
            pod_report = pods->sync(source.state());
        report_sync(generation, "files", tables, result, problems, pod_report, status);
        if (o.once)
            return problems.empty() ? 0 : 2;
        // A route change touches only the pods' side; a file change syncs all.
        for (;;) {
            const auto wake = watcher.wait(stop.fd(), pods ? pods->route_changes_fd() : -1);
            if (wake == k8s::FileWatcher::Wake::stop)
                return 0;
            if (wake == k8s::FileWatcher::Wake::changed)
                break;
            if (input_trusted)
                resync_pods(*pods, source.state(), generation, tables, status);
            else
                pods->drain_route_changes();
        }
    }
}

// What each watched resource has done, for the status report.
inline std::string describe_reflectors(const k8s::api::ApiSource& source) {
    std::string out;
    for (const auto& r : source.reflectors()) {
        const auto& c = r->counters();
        out += fmt::format("{}: {} resourceVersion={} lists={} relists_after_410={} watches={} server_timeouts={} "
                           "failures={} events={} bookmarks={}\n",
                           r->resource().plural, r->synced() ? "listed" : "not listed yet", r->resource_version(),
                           c.lists.load(), c.relists_after_gone.load(), c.watches.load(), c.server_timeouts.load(),
                           c.failures.load(), c.events.load(), c.bookmarks.load());
    }
    return out;
}

inline int run_from_api(const AgentOptions& o, const StopSignal& stop, sync::LoadBalancerTables& tables,
                        PodDatapath* pods) {
    const auto config = o.in_cluster ? k8s::api::in_cluster_config() : k8s::api::load_kubeconfig(o.kubeconfig, o.context);
    sync::SyncCounters counters;
    sync::SyncEngine engine(tables.programmer(), model_options(o), counters);
    HealthCheckNodePorts health_checks(o.node_addresses);
    AgentStatus status(fmt::format("{} ({})", config.origin, config.server), counters);
    const auto health = serve_health(o, status, pods);
    log("following the API server at {} ({})", config.server, config.origin);
    k8s::api::ApiSource source(config, o.watch, [](const std::string& line) { log("{}", line); }, counters,
                               pods != nullptr);
    status.set_source_details([&source] { return describe_reflectors(source); });
    // Nothing is written before every resource has been listed completely:
    // the pinned maps keep serving what they hold until then.
    unsigned generation = 0; // the last one reported
    for (;;) {
        const auto woke = wait_for_any({source.wake_fd(), pods ? pods->route_changes_fd() : -1}, stop.fd());
        if (!woke)
            break;
        if (*woke == 1) {
            if (source.synced())
                source.with_state([&](const k8s::ClusterState& state) {
                    resync_pods(*pods, state, generation, tables, status);
                });
            else
                pods->drain_route_changes();
            continue;
        }
        if (!source.synced()) {
            source.drain_wake();
            continue;
        }
        std::optional<PodSyncReport> pod_report;
        const auto result = source.with_changes([&](const k8s::ClusterState& state, const sync::PendingChanges& changes) {
            auto r = engine.sync(state, changes, sync::ApplyScope::everything);
            if (pods && (changes.policy_objects || changes.everything || generation == 0))
                pod_report = pods->sync(state);
            return r;
        });
        serve_health_checks(health_checks, engine);
        report_sync(++generation, "api", tables, result, result.report.problems, pod_report, status);
    }
    return 0;
}

} // namespace detail

inline int run_agent(const AgentOptions& o) {
    const InstancePaths pins(o.instance, o.bpffs);
    const StopSignal stop;
    const auto object = DatapathObject::load(o.object, pins);
    detail::log_attach(attach_socket_programs(object, o.cgroup, pins));
    std::unique_ptr<PodDatapath> pods;
    if (!o.tc_object.empty())
        pods = std::make_unique<PodDatapath>(o.tc_object, pins,
                                             PodDatapath::Options{o.node_name, o.node_addresses, o.external_interfaces});
    // The load balancer's maps: the socket object's, and the external
    // path's from the TC object.
    const auto& built = object.manifest();
    sync::LoadBalancerTables tables(
        [&](std::string_view name) {
            const int fd = object.map_fd(name);
            return fd >= 0 || !pods ? fd : pods->map_fd(name);
        },
        {built.backend_selection == schema::BackendSelection::maglev, built.maglev_table_size, built.maglev_tables});
    if (tables.set_node_addresses(o.node_addresses))
        log("the external path SNATs to {}", o.node_addresses.empty()
                                                 ? std::string("nothing (no --node-address): eTP Cluster flows are dropped")
                                                 : fmt::format("the first --node-address of each family"));
    const int status = o.sources.empty() ? detail::run_from_api(o, stop, tables, pods.get())
                                         : detail::run_from_files(o, stop, tables, pods.get());
    if (!o.once)
        log("stopping; the data path stays attached and programmed");
    return status;
}

// Prints what the agent serving the health endpoints at address reports.
inline int print_status(const std::string& address) {
    split_host_port(address);
    k8s::api::ApiConfig config;
    config.server = fmt::format("http://{}", address);
    k8s::api::ApiClient client(config);
    const auto response = client.get("/status", std::chrono::seconds(5));
    if (!response.ok())
        throw Error(fmt::format("no agent answers at {}: {}", address,
                                response.transport.empty() ? fmt::format("HTTP {}", response.status) : response.transport));
    fmt::print("{}", response.body);
    return 0;
}

inline void take_down(const std::string& instance, const std::filesystem::path& bpffs) {
    const InstancePaths pins(instance, bpffs);
    if (std::filesystem::exists(pins.maps()))
        if (const auto detached = detach_tc_programs(pins); !detached.empty())
            log("detached the TC programs from {}", fmt::join(detached, ", "));
    remove_instance(pins);
    log("instance \"{}\" detached and unpinned", instance);
}

// The TC data path's maps, when the instance has them: each endpoint, the
// number of policy and ipcache entries, and the drop counters.
template <class Pinned> void show_pod_policy(const Pinned& pinned) {
    const int endpoint_fd = pinned(layout::endpoints.name);
    if (endpoint_fd < 0)
        return;
    const auto count = [](const auto& map) {
        std::size_t n = 0;
        map.for_each([&](const auto&, const auto&) { ++n; });
        return n;
    };
    const auto routes = HostRoutes::read();
    Map<layout::EndpointKey, layout::EndpointValue>(layout::endpoints, endpoint_fd)
        .for_each([&](const layout::EndpointKey& k, const layout::EndpointValue& v) {
            if (k == sync::PolicyProgrammer::revision_counter) {
                fmt::print("policy revisions issued: {}\n", v.policy_revision);
                return;
            }
            const auto interface = routes.interface(static_cast<int>(k.endpoint_id));
            fmt::print("endpoint {} ({}): identity={} policy_revision={} ingress={} egress={}\n", k.endpoint_id,
                       interface ? interface->name : "not in this network namespace", v.identity, v.policy_revision,
                       v.flags & layout::endpoint_ingress_enforced ? "enforced" : "open",
                       v.flags & layout::endpoint_egress_enforced ? "enforced" : "open");
        });
    if (const int fd = pinned(layout::policies.name); fd >= 0)
        fmt::print("policy entries: {}\n", count(Map<layout::PolicyKey, layout::PolicyValue>(layout::policies, fd)));
    std::size_t ipcache = 0;
    if (const int fd = pinned(layout::ipcache4.name); fd >= 0)
        ipcache += count(Map<layout::IpcacheKey4, layout::IpcacheValue>(layout::ipcache4, fd));
    if (const int fd = pinned(layout::ipcache6.name); fd >= 0)
        ipcache += count(Map<layout::IpcacheKey6, layout::IpcacheValue>(layout::ipcache6, fd));
    fmt::print("ipcache entries: {}\n", ipcache);
    if (const int fd = pinned(layout::drops.name); fd >= 0) {
        const auto drops = read_drop_counters(fd);
        for (std::size_t r = 0; r < drops.size(); ++r)
            fmt::print("drops {}: {}\n", layout::drop_reasons[r].name, drops[r]);
    }
}

// " [external local_only maglev=3 affinity=10800s ...]" for a frontend's
// slot-0 fields; empty for a plain cluster IP.
inline std::string describe_head(const std::optional<sync::FrontendHead>& head) {
    if (!head || head->flags == 0)
        return "";
    std::vector<std::string> parts;
    for (const auto& flag : layout::service_flags) {
        if (!(head->flags & flag.bit))
            continue;
        if (flag.bit == layout::service_flag_maglev)
            parts.push_back(fmt::format("maglev=table{}", head->maglev_table));
        else if (flag.bit == layout::service_flag_affinity)
            parts.push_back(fmt::format("affinity={}s", head->affinity_seconds));
        else
            parts.emplace_back(flag.name);
    }
    return fmt::format(" [{}]", fmt::join(parts, " "));
}

inline void show(const std::string& instance, const std::filesystem::path& bpffs) {
    const InstancePaths pins(instance, bpffs);
    if (!std::filesystem::exists(pins.maps()))
        throw Error(fmt::format("instance \"{}\" has nothing pinned at {}", instance, pins.root().string()));
    std::vector<UniqueFd> opened;
    const auto pinned = [&](std::string_view name) {
        const auto path = pins.map(name);
        if (!std::filesystem::exists(path))
            return -1;
        opened.emplace_back(bpf_obj_get(path.c_str()));
        if (!opened.back())
            throw Error(fmt::format("{}: {}", path.string(), errno_text(errno)));
        return opened.back().get();
    };
    const sync::LoadBalancerTables tables(pinned);
    for (const auto& [frontend, backends] : tables.contents()) {
        std::vector<std::string> names;
        for (const auto& b : backends)
            names.push_back(b.str());
        fmt::print("{} -> {}{}\n", frontend.str(),
                   names.empty() ? "(no backend: connections are refused)" : fmt::format("{}", fmt::join(names, " ")),
                   describe_head(tables.head_of(frontend)));
    }
    show_pod_policy(pinned);
}

} // namespace kpr::runtime
