// Attaches the pod programs to a pod's host-side veth: kpr_from_pod at the
// clsact ingress (packets leaving the pod), kpr_to_pod at the clsact egress
// (packets entering it), and kpr_from_netdev at the clsact ingress of the
// node's external interfaces (issue 7), as direct-action cls_bpf filters at kpr's own
// handle and priority (libbpf's bpf_tc_* calls; libbpf 1.1 has no tcx
// links). Filters outlive the agent: a restarted agent finds its filters
// and swaps the program in place (NLM_F_REPLACE, atomic for a packet), and
// one whose pod has gone is removed.
//
// A filter at kpr's handle and priority is this instance's when its program
// uses a map the instance has pinned (the instance's maps are the ones its
// programs share); a filter that is not is never replaced or removed.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>

#include <cerrno>
#include <optional>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/runtime/error.hpp"
#include "kpr/runtime/instance_paths.hpp"
#include "kpr/runtime/unique_fd.hpp"

namespace kpr::runtime {

// "kpr" in ASCII; priority 1 so policy runs before any filter added later.
inline constexpr __u32 tc_filter_handle = 0x6b7072;
inline constexpr __u32 tc_filter_priority = 1;

// The two programs, as descriptors of loaded programs.
struct PodPrograms {
    int from_pod = -1; // clsact ingress of the host-side veth
    int to_pod = -1;   // clsact egress
};

enum class AttachOutcome { attached, replaced, unchanged };

namespace detail {

inline __u32 program_id(int prog_fd) {
    bpf_prog_info info{};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0)
        throw Error(fmt::format("reading a program's info: {}", errno_text(errno)));
    return info.id;
}

// The ids of the maps a program uses; empty when it has gone meanwhile.
inline std::set<__u32> program_map_ids(__u32 prog_id) {
    UniqueFd fd(bpf_prog_get_fd_by_id(prog_id));
    if (!fd)
        return {};
    bpf_prog_info info{};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0)
        return {};
    std::vector<__u32> ids(info.nr_map_ids);
    const __u32 count = info.nr_map_ids;
    info = {};
    info.nr_map_ids = count;
    info.map_ids = reinterpret_cast<__u64>(ids.data());
    len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0)
        return {};
    ids.resize(std::min(count, info.nr_map_ids));
    return {ids.begin(), ids.end()};
}

// libbpf logs the kernel's message for every failed netlink request; a
// query of an interface without clsact, or adding a clsact that exists,
// fails by design, and the caller handles the error code.
class QuietLibbpf {
  public:
    QuietLibbpf() : previous_(libbpf_set_print(nullptr)) {}
    QuietLibbpf(const QuietLibbpf&) = delete;
    QuietLibbpf& operator=(const QuietLibbpf&) = delete;
    ~QuietLibbpf() { libbpf_set_print(previous_); }

  private:
    libbpf_print_fn_t previous_;
};

inline std::string hook_name(bpf_tc_attach_point point) {
    return point == BPF_TC_INGRESS ? "clsact ingress" : "clsact egress";
}

} // namespace detail

class TcAttacher {
  public:
    // The instance's maps must be pinned already (the objects are loaded).
    explicit TcAttacher(const InstancePaths& pins) {
        if (!std::filesystem::exists(pins.maps()))
            return;
        for (const auto& entry : std::filesystem::directory_iterator(pins.maps())) {
            UniqueFd fd(bpf_obj_get(entry.path().c_str()));
            if (!fd)
                throw Error(fmt::format("{}: {}", entry.path().string(), errno_text(errno)));
            bpf_map_info info{};
            __u32 len = sizeof info;
            if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0)
                throw Error(fmt::format("{}: {}", entry.path().string(), errno_text(errno)));
            instance_maps_.insert(info.id);
        }
    }

    // The program id of kpr's filter at the hook, if there is one.
    std::optional<__u32> filter(int ifindex, bpf_tc_attach_point point) const {
        LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
        LIBBPF_OPTS(bpf_tc_opts, opts, .handle = tc_filter_handle, .priority = tc_filter_priority);
        const int err = [&] {
            const detail::QuietLibbpf quiet;
            return bpf_tc_query(&hook, &opts);
        }();
        if (err != 0) {
            // No clsact qdisc (EINVAL) or no such filter (ENOENT).
            if (err == -ENOENT || err == -EINVAL)
                return std::nullopt;
            throw Error(fmt::format("interface {}: querying its {} filters: {}", ifindex,
                                    detail::hook_name(point), errno_text(err)));
        }
        return opts.prog_id;
    }

    bool ours(__u32 prog_id) const {
        for (__u32 map : detail::program_map_ids(prog_id))
            if (instance_maps_.contains(map))
                return true;
        return false;
    }

    // Both programs on the interface, each attached or swapped in place;
    // nothing is attached when either hook holds a filter not this instance's.
    AttachOutcome attach(int ifindex, const PodPrograms& programs) const {
        const auto egress = filter(ifindex, BPF_TC_EGRESS);
        const auto ingress = filter(ifindex, BPF_TC_INGRESS);
        for (const auto& [current, point] : {std::pair{egress, BPF_TC_EGRESS}, std::pair{ingress, BPF_TC_INGRESS}})
            if (current && !ours(*current))
                throw Error(fmt::format("interface {}: its {} holds a filter at kpr's handle {:#x} and priority "
                                        "{} that is not this instance's; left alone",
                                        ifindex, detail::hook_name(point), tc_filter_handle, tc_filter_priority));
        const auto a = attach_one(ifindex, BPF_TC_EGRESS, egress, programs.to_pod);
        const auto b = attach_one(ifindex, BPF_TC_INGRESS, ingress, programs.from_pod);
        if (a == AttachOutcome::attached || b == AttachOutcome::attached)
            return AttachOutcome::attached;
        if (a == AttachOutcome::replaced || b == AttachOutcome::replaced)
            return AttachOutcome::replaced;
        return AttachOutcome::unchanged;
    }

    // One program at the interface's clsact ingress (kpr_from_netdev on an
    // external interface), attached or swapped in place.
    AttachOutcome attach_ingress(int ifindex, int prog_fd) const {
        const auto ingress = filter(ifindex, BPF_TC_INGRESS);
        if (ingress && !ours(*ingress))
            throw Error(fmt::format("interface {}: its clsact ingress holds a filter at kpr's handle {:#x} and "
                                    "priority {} that is not this instance's; left alone",
                                    ifindex, tc_filter_handle, tc_filter_priority));
        return attach_one(ifindex, BPF_TC_INGRESS, ingress, prog_fd);
    }

    // Removes this instance's filters from the interface; false when it had
    // none. The clsact qdisc stays: other filters may hang on it.
    bool detach(int ifindex) const {
        bool removed = false;
        for (const auto point : {BPF_TC_INGRESS, BPF_TC_EGRESS}) {
            const auto id = filter(ifindex, point);
            if (!id || !ours(*id))
                continue;
            LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
            LIBBPF_OPTS(bpf_tc_opts, opts, .handle = tc_filter_handle, .priority = tc_filter_priority);
            if (int err = bpf_tc_detach(&hook, &opts); err != 0 && err != -ENOENT)
                throw Error(fmt::format("interface {}: removing kpr's {} filter: {}", ifindex,
                                        detail::hook_name(point), errno_text(err)));
            removed = true;
        }
        return removed;
    }

    // Of the given interfaces, those holding a filter of this instance.
    template <class Interfaces> std::set<int> attached_among(const Interfaces& ifindexes) const {
        std::set<int> out;
        for (int ifindex : ifindexes)
            for (const auto point : {BPF_TC_INGRESS, BPF_TC_EGRESS})
                if (const auto id = filter(ifindex, point); id && ours(*id))
                    out.insert(ifindex);
        return out;
    }

  private:
    static AttachOutcome attach_one(int ifindex, bpf_tc_attach_point point, std::optional<__u32> current,
                                    int prog_fd) {
        if (current == detail::program_id(prog_fd))
            return AttachOutcome::unchanged;
        LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
        if (!current) {
            const int err = [&] {
                const detail::QuietLibbpf quiet;
                return bpf_tc_hook_create(&hook);
            }();
            if (err != 0 && err != -EEXIST)
                throw Error(fmt::format("interface {}: adding the clsact qdisc: {}", ifindex, errno_text(err)));
        }
        LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .flags = current ? static_cast<__u32>(BPF_TC_F_REPLACE) : 0u,
                    .handle = tc_filter_handle, .priority = tc_filter_priority);
        if (int err = bpf_tc_attach(&hook, &opts); err != 0)
            throw Error(fmt::format("interface {}: attaching to its {}: {}", ifindex, detail::hook_name(point),
                                    errno_text(err)));
        return current ? AttachOutcome::replaced : AttachOutcome::attached;
    }

    std::set<__u32> instance_maps_;
};

} // namespace kpr::runtime
