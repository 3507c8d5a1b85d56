// The node agent's life cycle, which kpr-agent's commands call:
//   run     load the data path (reusing the instance's pinned maps), attach or
//           re-attach its socket programs to the cgroup, then keep the maps in
//           sync with the Kubernetes objects of its source until SIGTERM: the
//           files of --source, or the API server's watch (a kubeconfig, or the
//           in-cluster configuration). The programs and maps stay pinned when
//           it exits, so traffic never depends on the agent being up.
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
#include "kpr/runtime/health_server.hpp"
#include "kpr/runtime/log.hpp"
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
                        AgentStatus& status) {
    for (const auto& p : problems)
        log("{}", p.str());
    fmt::print("synced generation={} source={} frontends={} written={} removed={} unchanged={} problems={} mode={}\n",
               generation, source, tables.frontend_count(), result.report.written, result.report.removed,
               result.report.unchanged, problems.size(), result.full ? "full" : "incremental");
    std::fflush(stdout);
    status.synced({generation, tables.frontend_count(), problems.size(), result.full, std::chrono::system_clock::now()});
}

inline std::unique_ptr<HealthServer> serve_health(const AgentOptions& o, const AgentStatus& status,
                                                  const sync::SyncCounters& counters) {
    std::unique_ptr<HealthServer> server;
    if (!o.health_address.empty()) {
        server = std::make_unique<HealthServer>(o.health_address, status, counters);
        log("health endpoints on http://{}/ (healthz, readyz, status, metrics)", o.health_address);
    }
    return server;
}

inline int run_from_files(const AgentOptions& o, const StopSignal& stop, sync::LoadBalancerTables& tables) {
    sync::SyncCounters counters;
    sync::SyncEngine engine(tables.programmer(), {o.proxy_name}, counters);
    std::vector<std::string> paths;
    for (const auto& p : o.sources)
        paths.push_back(p.string());
    AgentStatus status(fmt::format("files {}", fmt::join(paths, ", ")), counters);
    const auto health = serve_health(o, status, counters);
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
        if (!input_trusted)
            log("until the input reads without a problem, only new frontends are programmed; the others "
                "keep their backends");
        result.full = result.full && input_trusted;
        report_sync(generation, "files", tables, result, problems, status);
        if (o.once)
            return problems.empty() ? 0 : 2;
        if (watcher.wait(stop.fd()) == k8s::FileWatcher::Wake::stop)
            break;
    }
    return 0;
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

inline int run_from_api(const AgentOptions& o, const StopSignal& stop, sync::LoadBalancerTables& tables) {
    const auto config = o.in_cluster ? k8s::api::in_cluster_config() : k8s::api::load_kubeconfig(o.kubeconfig, o.context);
    sync::SyncCounters counters;
    sync::SyncEngine engine(tables.programmer(), {o.proxy_name}, counters);
    AgentStatus status(fmt::format("{} ({})", config.origin, config.server), counters);
    const auto health = serve_health(o, status, counters);
    log("following the API server at {} ({})", config.server, config.origin);
    k8s::api::ApiSource source(config, o.watch, [](const std::string& line) { log("{}", line); }, counters);
    status.set_source_details([&source] { return describe_reflectors(source); });
    // Nothing is written before every resource has been listed completely:
    // the pinned maps keep serving what they hold until then.
    for (unsigned generation = 1;;) {
        if (wait_for_wake(source.wake_fd(), stop.fd()))
            break;
        if (!source.synced()) {
            source.drain_wake();
            continue;
        }
        std::vector<Diagnostic> problems;
        const auto result = source.with_changes([&](const k8s::ClusterState& state, const sync::PendingChanges& changes) {
            return engine.sync(state, changes, sync::ApplyScope::everything);
        });
        report_sync(generation++, "api", tables, result, result.report.problems, status);
    }
    return 0;
}

} // namespace detail

inline int run_agent(const AgentOptions& o) {
    const InstancePaths pins(o.instance, o.bpffs);
    const StopSignal stop;
    const auto object = DatapathObject::load(o.object, pins);
    detail::log_attach(attach_socket_programs(object, o.cgroup, pins));
    sync::LoadBalancerTables tables([&](std::string_view name) { return object.map_fd(name); });
    const int status = o.sources.empty() ? detail::run_from_api(o, stop, tables) : detail::run_from_files(o, stop, tables);
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
    remove_instance(pins);
    log("instance \"{}\" detached and unpinned", instance);
}

inline void show(const std::string& instance, const std::filesystem::path& bpffs) {
    const InstancePaths pins(instance, bpffs);
    if (!std::filesystem::exists(pins.maps()))
        throw Error(fmt::format("instance \"{}\" has nothing pinned at {}", instance, pins.root().string()));
    std::vector<UniqueFd> opened;
    const sync::LoadBalancerTables tables([&](std::string_view name) {
        const auto path = pins.map(name);
        if (!std::filesystem::exists(path))
            return -1;
        opened.emplace_back(bpf_obj_get(path.c_str()));
        if (!opened.back())
            throw Error(fmt::format("{}: {}", path.string(), errno_text(errno)));
        return opened.back().get();
    });
    for (const auto& [frontend, backends] : tables.contents()) {
        std::vector<std::string> names;
        for (const auto& b : backends)
            names.push_back(b.str());
        fmt::print("{} -> {}\n", frontend.str(),
                   names.empty() ? "(no backend: connections are refused)" : fmt::format("{}", fmt::join(names, " ")));
    }
}

} // namespace kpr::runtime
