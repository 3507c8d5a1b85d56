// The node agent's TC side: the TC object (kpr_tc.bpf.o, loaded through the
// same checked path as the socket object, its maps shared by pins), the pod
// programs on each local pod's host-side veth, and the policy maps kept in
// step with the cluster state. One sync:
//
//   1. read the node's host routes and compile the policy for this node;
//   2. place each local pod on the veth its host route leads to (a pod
//      whose route is missing waits; an interface that is not a veth is
//      never touched);
//   3. write additions and changes (policy programmer's order), attach
//      the programs to new pods' veths (their endpoint entries exist by
//      then), detach those whose pod went, then delete;
//   4. attach kpr_from_netdev to each external interface present (issue 7;
//      one that is missing is reported and tried again on the next sync,
//      a link change being a route change).
//
// A compile that fails (an unusable identity configuration) or a change
// that would not fit a map keeps everything programmed and is reported.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/diagnostic.hpp"
#include "kpr/k8s/cluster_state.hpp"
#include "kpr/layout/maps.hpp"
#include "kpr/runtime/datapath_object.hpp"
#include "kpr/runtime/host_routes.hpp"
#include "kpr/runtime/map.hpp"
#include "kpr/runtime/per_cpu_map.hpp"
#include "kpr/runtime/tc_attachment.hpp"
#include "kpr/sync/policy_contents.hpp"
#include "kpr/sync/policy_programmer.hpp"

namespace kpr::runtime {

inline constexpr std::string_view from_pod_program = "kpr_from_pod";
inline constexpr std::string_view to_pod_program = "kpr_to_pod";
inline constexpr std::string_view from_netdev_program = "kpr_from_netdev";

struct PodSyncReport {
    std::size_t endpoints = 0;       // local pods programmed, on their veths
    std::size_t waiting = 0;         // local pods whose host route is not there (yet)
    std::vector<std::string> attached;  // interfaces, newly attached
    std::vector<std::string> detached;  // interfaces whose pod went
    sync::PolicyApplyReport apply;
    std::vector<Diagnostic> problems;

    bool changed_anything() const {
        return apply.written + apply.removed + attached.size() + detached.size() > 0;
    }
};

// Totals since the agent started, for /status and /metrics.
struct PodSyncCounters {
    std::atomic<std::uint64_t> syncs{0};
    std::atomic<std::uint64_t> entries_written{0};
    std::atomic<std::uint64_t> entries_removed{0};
    std::atomic<std::uint64_t> revisions_bumped{0};
    std::atomic<std::uint64_t> refused{0}; // syncs that changed nothing: a map too small, the compile failed
    std::atomic<std::uint64_t> attaches{0};
    std::atomic<std::uint64_t> detaches{0};
    std::atomic<std::size_t> endpoints{0};
    std::atomic<std::size_t> policy_entries{0};
    std::atomic<std::size_t> ipcache_entries{0};
};

// Per drop reason, packets summed over every CPU.
inline std::vector<std::uint64_t> read_drop_counters(int drops_fd) {
    const PerCpuMap<layout::DropKey, layout::DropCount> drops(layout::drops, drops_fd);
    std::vector<std::uint64_t> totals(layout::drop_reason_count);
    for (std::uint32_t reason = 0; reason < layout::drop_reason_count; ++reason)
        for (const auto& on_cpu : drops.lookup({reason}))
            totals[reason] += on_cpu.packets;
    return totals;
}

class PodDatapath {
  public:
    struct Options {
        std::string node_name;
        std::vector<net::Address> node_addresses;
        std::vector<std::string> external_interfaces; // kpr_from_netdev goes to their clsact ingress
    };

    // Identities are numbered with the identity configuration the TC
    // object's manifest carries (the schema's), the compiler's defaults
    // when it carries none.
    PodDatapath(const std::filesystem::path& tc_object, const InstancePaths& pins, Options options)
        : options_(std::move(options)), object_(DatapathObject::load(tc_object, pins)),
          identities_(object_.manifest().identity.value_or(policy::IdentityConfig{})),
          programs_{program_fd(tc_object, from_pod_program), program_fd(tc_object, to_pod_program)},
          ipcache4_(open_map(layout::ipcache4, false)), ipcache6_(open_map(layout::ipcache6, false)),
          endpoints_(open_map(layout::endpoints, true)), policies_(open_map(layout::policies, true)),
          identity_matches_(open_map(layout::identity_matches, false)),
          programmer_({ipcache4_ ? &*ipcache4_ : nullptr, ipcache6_ ? &*ipcache6_ : nullptr, &*endpoints_,
                       &*policies_, identity_matches_ ? &*identity_matches_ : nullptr}),
          attacher_(pins), drops_fd_(object_.map_fd(layout::drops.name)),
          from_netdev_(options_.external_interfaces.empty() ? -1 : program_fd(tc_object, from_netdev_program)) {
        note_totals();
    }

    // The TC object's map of that name, or -1: the external path's maps
    // live here and the sync engine programs them.
    int map_fd(std::string_view name) const { return object_.map_fd(name); }

    PodSyncReport sync(const k8s::ClusterState& state) {
        PodSyncReport report;
        ++counters_.syncs;
        const auto routes = HostRoutes::read();
        std::map<k8s::ObjectKey, std::uint32_t> placed;
        sync::PolicyMapContents contents;
        try {
            const auto compiled = policy::compile_policy(
                sync::policy_input(state, {options_.node_name, options_.node_addresses}), options_.node_name,
                identities_);
            report.problems = compiled.diagnostics;
            placed = place_endpoints(compiled, routes, report);
            contents = sync::policy_map_contents(compiled, placed, object_.manifest().baseline_label_matches);
        } catch (const std::invalid_argument& e) {
            // An identity configuration or baseline the TC object's manifest
            // carries that cannot be used: nothing can be computed right.
            report.problems.push_back(Diagnostic{{"policy"}, "", "", fmt::format(
                "{}; the policy maps keep what they hold", e.what())});
            ++counters_.refused;
            return report;
        }
        std::set<int> wanted;
        for (const auto& [pod, ifindex] : placed)
            wanted.insert(static_cast<int>(ifindex));
        try {
            report.apply = programmer_.apply(std::move(contents),
                                             [&] { reconcile_attachments(routes, wanted, report); });
        } catch (const Error& e) {
            report.problems.push_back(Diagnostic{{"policy maps"}, "", "", fmt::format(
                "{}; read the maps back, the next sync tries again", e.what())});
        }
        if (report.apply.refused) {
            report.problems.push_back(Diagnostic{{"policy maps"}, "", "", *report.apply.refused});
            ++counters_.refused;
        }
        attach_external_interfaces(routes, report);
        report.endpoints = programmer_.endpoint_count();
        counters_.entries_written += report.apply.written;
        counters_.entries_removed += report.apply.removed;
        counters_.revisions_bumped += report.apply.revisions_bumped;
        counters_.attaches += report.attached.size();
        counters_.detaches += report.detached.size();
        note_totals();
        return report;
    }

    const PodSyncCounters& counters() const { return counters_; }

    // Readable when the node's links or routes changed: sync again, after
    // drain_route_changes().
    int route_changes_fd() const { return route_changes_.fd(); }
    void drain_route_changes() const { route_changes_.drain(); }

    // Per drop reason, packets summed over every CPU; empty when the object
    // has no drops map.
    std::vector<std::uint64_t> drops() const {
        return drops_fd_ < 0 ? std::vector<std::uint64_t>{} : read_drop_counters(drops_fd_);
    }

  private:
    int program_fd(const std::filesystem::path& path, std::string_view name) const {
        const bpf_program* prog = bpf_object__find_program_by_name(object_.get(), std::string(name).c_str());
        if (!prog)
            throw Error(fmt::format("{}: has no program {}; is it a TC object kpr-gen built?", path.string(), name));
        return bpf_program__fd(prog);
    }

    template <class Key, class Value>
    std::optional<Map<Key, Value>> open_map(const layout::MapSpec<Key, Value>& spec, bool required) const {
        const int fd = object_.map_fd(spec.name);
        if (fd < 0) {
            if (required)
                throw Error(fmt::format("the TC object has no map {}", spec.name));
            return std::nullopt;
        }
        return Map<Key, Value>(spec, fd);
    }

    // Each local pod's endpoint id: the ifindex of the veth its addresses'
    // host routes lead to.
    std::map<k8s::ObjectKey, std::uint32_t> place_endpoints(const policy::PolicyState& compiled,
                                                            const HostRoutes& routes, PodSyncReport& report) const {
        std::map<k8s::ObjectKey, std::uint32_t> placed;
        for (const auto& [pod, endpoint] : compiled.endpoints) {
            std::set<int> found;
            std::optional<HostInterface> interface;
            for (const auto& address : endpoint.addresses)
                if (auto i = routes.interface_for(address)) {
                    found.insert(i->ifindex);
                    interface = i;
                }
            if (found.empty()) {
                ++report.waiting;
                continue;
            }
            if (found.size() > 1) {
                report.problems.push_back(Diagnostic{{"host routes"}, pod.str(), "status.podIPs",
                                                     "its addresses' host routes lead to different interfaces; "
                                                     "its veth is left alone"});
                continue;
            }
            if (!interface->veth) {
                report.problems.push_back(Diagnostic{{"host routes"}, pod.str(), "status.podIPs", fmt::format(
                    "its host route leads to {}, which is not a veth; left alone", interface->name)});
                continue;
            }
            placed.emplace(pod, static_cast<std::uint32_t>(interface->ifindex));
        }
        return placed;
    }

    // Attaches to every wanted veth and detaches this instance's programs
    // from veths no local pod is on any more.
    void reconcile_attachments(const HostRoutes& routes, const std::set<int>& wanted, PodSyncReport& report) {
        const auto name = [&](int ifindex) {
            const auto i = routes.interface(ifindex);
            return i ? i->name : fmt::format("ifindex {}", ifindex);
        };
        for (int ifindex : wanted) {
            try {
                if (attacher_.attach(ifindex, programs_) == AttachOutcome::attached)
                    report.attached.push_back(name(ifindex));
            } catch (const Error& e) {
                report.problems.push_back(Diagnostic{{"tc"}, name(ifindex), "", e.what()});
            }
        }
        std::vector<int> veths;
        for (const auto& [ifindex, interface] : routes.interfaces())
            if (interface.veth && !wanted.contains(ifindex) && !external(interface.name))
                veths.push_back(ifindex);
        for (int ifindex : attacher_.attached_among(veths)) {
            try {
                if (attacher_.detach(ifindex))
                    report.detached.push_back(name(ifindex));
            } catch (const Error& e) {
                report.problems.push_back(Diagnostic{{"tc"}, name(ifindex), "", e.what()});
            }
        }
    }

    bool external(const std::string& name) const {
        return std::find(options_.external_interfaces.begin(), options_.external_interfaces.end(), name) !=
               options_.external_interfaces.end();
    }

    void attach_external_interfaces(const HostRoutes& routes, PodSyncReport& report) {
        for (const auto& name : options_.external_interfaces) {
            const auto found = std::find_if(routes.interfaces().begin(), routes.interfaces().end(),
                                            [&](const auto& i) { return i.second.name == name; });
            if (found == routes.interfaces().end()) {
                report.problems.push_back(Diagnostic{{"tc"}, name, "", "no such interface (yet); kpr_from_netdev is "
                                                                       "attached once it appears"});
                continue;
            }
            try {
                if (attacher_.attach_ingress(found->first, from_netdev_) == AttachOutcome::attached)
                    report.attached.push_back(fmt::format("{} (external)", name));
            } catch (const Error& e) {
                report.problems.push_back(Diagnostic{{"tc"}, name, "", e.what()});
            }
        }
    }

    void note_totals() {
        counters_.endpoints = programmer_.endpoint_count();
        counters_.policy_entries = programmer_.policy_entries();
        counters_.ipcache_entries = programmer_.ipcache_entries();
    }

    Options options_;
    RouteChanges route_changes_; // subscribed before the first read of the routes
    DatapathObject object_;
    policy::IdentityConfig identities_;
    PodPrograms programs_;
    std::optional<Map<layout::IpcacheKey4, layout::IpcacheValue>> ipcache4_;
    std::optional<Map<layout::IpcacheKey6, layout::IpcacheValue>> ipcache6_;
    std::optional<Map<layout::EndpointKey, layout::EndpointValue>> endpoints_;
    std::optional<Map<layout::PolicyKey, layout::PolicyValue>> policies_;
    std::optional<Map<layout::IdmatchKey, layout::IdmatchValue>> identity_matches_;
    sync::PolicyProgrammer programmer_;
    TcAttacher attacher_;
    int drops_fd_;
    int from_netdev_; // -1 without external interfaces
    PodSyncCounters counters_;
};

// The TC side's lines in /status and `kpr-agent show`.
inline std::string describe_pod_datapath(const PodSyncCounters& c, const std::vector<std::uint64_t>& drops) {
    std::string out = fmt::format(
        "pod policy: endpoints={} policy_entries={} ipcache_entries={}; syncs={} written={} removed={} "
        "revisions_bumped={} refused={} attached={} detached={}\n",
        c.endpoints.load(), c.policy_entries.load(), c.ipcache_entries.load(), c.syncs.load(),
        c.entries_written.load(), c.entries_removed.load(), c.revisions_bumped.load(), c.refused.load(),
        c.attaches.load(), c.detaches.load());
    for (std::size_t r = 0; r < drops.size(); ++r)
        out += fmt::format("drops {}: {} ({})\n", layout::drop_reasons[r].name, drops[r],
                           layout::drop_reasons[r].meaning);
    return out;
}

// The same in the Prometheus text format.
inline std::string pod_datapath_metrics(const PodSyncCounters& c, const std::vector<std::uint64_t>& drops) {
    std::string out = fmt::format("kpr_policy_endpoints {}\n"
                                  "kpr_policy_entries {}\n"
                                  "kpr_policy_ipcache_entries {}\n"
                                  "kpr_policy_syncs_total {}\n"
                                  "kpr_policy_entries_written_total {}\n"
                                  "kpr_policy_entries_removed_total {}\n"
                                  "kpr_policy_revisions_bumped_total {}\n"
                                  "kpr_policy_syncs_refused_total {}\n"
                                  "kpr_pod_attaches_total {}\n"
                                  "kpr_pod_detaches_total {}\n",
                                  c.endpoints.load(), c.policy_entries.load(), c.ipcache_entries.load(),
                                  c.syncs.load(), c.entries_written.load(), c.entries_removed.load(),
                                  c.revisions_bumped.load(), c.refused.load(), c.attaches.load(), c.detaches.load());
    for (std::size_t r = 0; r < drops.size(); ++r)
        out += fmt::format("kpr_drops_total{{reason=\"{}\"}} {}\n", layout::drop_reasons[r].name, drops[r]);
    return out;
}

// Removes the instance's TC programs from every interface of this network
// namespace, pods' veths and external interfaces alike (for `kpr-agent
// down`); the names of the interfaces. Filters not the instance's stay.
inline std::vector<std::string> detach_tc_programs(const InstancePaths& pins) {
    const TcAttacher attacher(pins);
    const auto routes = HostRoutes::read();
    std::vector<std::string> detached;
    for (const auto& [ifindex, interface] : routes.interfaces())
        if (attacher.detach(ifindex))
            detached.push_back(interface.name);
    return detached;
}

} // namespace kpr::runtime
