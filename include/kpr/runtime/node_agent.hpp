// The node agent's life cycle, which kpr-agent's commands call:
//   run   load the data path (reusing the instance's pinned maps), attach or
//         re-attach its socket programs to the cgroup, then keep the maps in
//         sync with the Kubernetes objects in the source files until SIGTERM;
//         the programs and maps stay pinned when it exits, so traffic never
//         depends on the agent being up.
//   down  detach and unpin everything of an instance.
//   show  print what an instance's maps hold.
// After each sync `run` prints one "synced ..." line on stdout; problems with
// the input go to the log, each naming its file, object and field.
#pragma once

#include <bpf/bpf.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/k8s/file_source.hpp"
#include "kpr/k8s/file_watcher.hpp"
#include "kpr/runtime/cgroup_attachment.hpp"
#include "kpr/runtime/datapath_object.hpp"
#include "kpr/runtime/log.hpp"
#include "kpr/runtime/stop_signal.hpp"
#include "kpr/sync/load_balancer_model.hpp"
#include "kpr/sync/load_balancer_tables.hpp"

namespace kpr::runtime {

struct AgentOptions {
    std::string instance;
    std::filesystem::path bpffs{default_bpffs};
    std::filesystem::path object;
    std::filesystem::path cgroup;
    std::vector<std::filesystem::path> sources;
    std::string proxy_name;
    bool once = false; // sync once and exit: 0 when the input had no problem, 2 otherwise
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

inline int run_agent(const AgentOptions& o) {
    const InstancePaths pins(o.instance, o.bpffs);
    const StopSignal stop;
    const auto object = DatapathObject::load(o.object, pins);
    detail::log_attach(attach_socket_programs(object, o.cgroup, pins));
    sync::LoadBalancerTables tables([&](std::string_view name) { return object.map_fd(name); });

    k8s::FileSource source(o.sources);
    // Watching starts before the first read, so no change slips in between.
    k8s::FileWatcher watcher(source.watch_directories());
    // Until the input has been read once without a problem, it may lack
    // objects that exist (a file broken before the agent started), so what
    // is programmed is neither changed nor removed on its account. Later,
    // the source keeps each object's last good version itself.
    bool input_trusted = false;
    for (unsigned generation = 1;; ++generation) {
        auto problems = source.reload();
        input_trusted = input_trusted || problems.empty();
        const auto model = sync::build_model(source.state(), {o.proxy_name});
        auto report = tables.programmer().apply(
            model, input_trusted ? sync::ApplyScope::everything : sync::ApplyScope::new_frontends_only);
        problems.insert(problems.end(), report.problems.begin(), report.problems.end());
        for (const auto& p : problems)
            log("{}", p.str());
        if (!input_trusted)
            log("until the input reads without a problem, only new frontends are programmed; the others "
                "keep their backends");
        fmt::print("synced generation={} frontends={} written={} removed={} unchanged={} problems={}\n",
                   generation, tables.frontend_count(), report.written, report.removed, report.unchanged,
                   problems.size());
        std::fflush(stdout);
        if (o.once)
            return problems.empty() ? 0 : 2;
        if (watcher.wait(stop.fd()) == k8s::FileWatcher::Wake::stop)
            break;
    }
    log("stopping; the data path stays attached and programmed");
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
