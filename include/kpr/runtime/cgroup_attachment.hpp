// Attaches a data path's cgroup socket programs to a cgroup v2 directory
// through pinned BPF links. A link that is already pinned (the agent is
// restarting or being upgraded) gets the new program atomically instead of a
// detach and re-attach, so no connect() slips through untranslated. Links
// survive the agent; `detach_all` removes them.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kpr/runtime/datapath_object.hpp"
#include "kpr/runtime/error.hpp"
#include "kpr/runtime/instance_paths.hpp"
#include "kpr/runtime/unique_fd.hpp"

namespace kpr::runtime {

struct AttachReport {
    std::vector<std::string> attached; // newly attached programs
    std::vector<std::string> replaced; // pinned links given the new program
    std::vector<std::string> detached; // pinned links of programs the object no longer has
};

namespace detail {

struct LinkDeleter {
    void operator()(bpf_link* l) const {
        // The link is pinned: closing our descriptor leaves it attached.
        bpf_link__disconnect(l);
        bpf_link__destroy(l);
    }
};
using LinkPtr = std::unique_ptr<bpf_link, LinkDeleter>;

// cgroup v2 identifies a cgroup by its directory's inode number.
inline std::uint64_t cgroup_id(const std::filesystem::path& cgroup) {
    struct statfs fs {};
    if (::statfs(cgroup.c_str(), &fs) != 0)
        throw Error(fmt::format("cgroup {}: {}", cgroup.string(), errno_text(errno)));
    if (fs.f_type != CGROUP2_SUPER_MAGIC)
        throw Error(fmt::format("{} is not a cgroup v2 directory (see /proc/self/mounts for "
                                "where cgroup2 is mounted)",
                                cgroup.string()));
    struct stat st {};
    if (::stat(cgroup.c_str(), &st) != 0)
        throw Error(fmt::format("cgroup {}: {}", cgroup.string(), errno_text(errno)));
    return st.st_ino;
}

inline std::uint64_t link_cgroup_id(const bpf_link* link) {
    bpf_link_info info{};
    __u32 len = sizeof info;
    if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) != 0)
        throw Error(fmt::format("reading a pinned link: {}", errno_text(errno)));
    return info.cgroup.cgroup_id;
}

inline bool is_socket_program(const bpf_program* prog) {
    return bpf_program__type(prog) == BPF_PROG_TYPE_CGROUP_SOCK_ADDR;
}

} // namespace detail

inline AttachReport attach_socket_programs(const DatapathObject& object,
                                           const std::filesystem::path& cgroup,
                                           const InstancePaths& pins) {
    const auto id = detail::cgroup_id(cgroup);
    std::filesystem::create_directories(pins.links());
    AttachReport report;
    std::set<std::string> wanted;
    for (bpf_program* prog : object.programs()) {
        if (!detail::is_socket_program(prog))
            continue;
        const std::string name = bpf_program__name(prog);
        wanted.insert(name);
        const auto pin = pins.link(name);
        if (std::filesystem::exists(pin)) {
            detail::LinkPtr link(bpf_link__open(pin.c_str()));
            if (!link)
                throw Error(fmt::format("{}: cannot open the pinned link: {}", pin.string(),
                                        errno_text(errno)));
            if (detail::link_cgroup_id(link.get()) != id)
                throw Error(fmt::format("instance \"{}\" is attached to another cgroup than {}; "
                                        "run `kpr-agent down --instance {}` first",
                                        pins.name(), cgroup.string(), pins.name()));
            if (int err = bpf_link__update_program(link.get(), prog); err != 0)
                throw Error(fmt::format("program {}: replacing the attached program: {}", name,
                                        errno_text(err)));
            report.replaced.push_back(name);
            continue;
        }
        UniqueFd cgroup_fd(::open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!cgroup_fd)
            throw Error(fmt::format("cgroup {}: {}", cgroup.string(), errno_text(errno)));
        detail::LinkPtr link(bpf_program__attach_cgroup(prog, cgroup_fd.get()));
        if (!link)
            throw Error(fmt::format("program {}: attaching to {}: {}", name, cgroup.string(),
                                    errno_text(errno)));
        if (int err = bpf_link__pin(link.get(), pin.c_str()); err != 0)
            throw Error(fmt::format("program {}: pinning its link at {}: {}", name, pin.string(),
                                    errno_text(err)));
        report.attached.push_back(name);
    }
    // Only now, with every wanted program in place, drop the ones the new
    // object no longer has (a hook the schema stopped asking for).
    for (const auto& entry : std::filesystem::directory_iterator(pins.links())) {
        const auto name = entry.path().filename().string();
        if (wanted.contains(name))
            continue;
        std::filesystem::remove(entry.path());
        report.detached.push_back(name);
    }
    return report;
}

// Unpins every link and map of the instance: the programs detach and the
// maps are freed once no process holds them any more.
inline void remove_instance(const InstancePaths& pins) {
    if (!std::filesystem::exists(pins.root()))
        throw Error(fmt::format("instance \"{}\" has nothing pinned at {}", pins.name(),
                                pins.root().string()));
    std::filesystem::remove_all(pins.root());
}

} // namespace kpr::runtime
