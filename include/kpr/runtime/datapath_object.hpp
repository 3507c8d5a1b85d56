// A loaded data path object, RAII over libbpf's bpf_object: open, check its
// build manifest (kpr_sock.manifest.json beside it) against this agent's
// compiled-in layouts, every map's layout against kpr's (BTF) and against
// what is already pinned (kind, sizes, capacity and the pinned map's own
// BTF layout), then load with the instance's pinned maps reused — so a
// restarted or upgraded agent carries on with the very maps the running
// programs use, and an upgrade that changed a map's layout is refused.
#pragma once

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "kpr/file_contents.hpp"
#include "kpr/manifest/manifest_check.hpp"
#include "kpr/runtime/btf_layout_check.hpp"
#include "kpr/runtime/error.hpp"
#include "kpr/runtime/instance_paths.hpp"
#include "kpr/runtime/unique_fd.hpp"

namespace kpr::runtime {

namespace detail {

inline std::string join_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines)
        out += fmt::format("\n  {}", l);
    return out;
}

// The pinned map's key and value structs, from the BTF the kernel kept
// when the map was created, against this agent's layouts: a field moved or
// resized since the pinning build is named, even if the sizes still agree.
inline void pinned_layout_conflicts(const std::string& name, const bpf_map_info& info,
                                    std::vector<std::string>& problems) {
    if (info.btf_id == 0) {
        problems.push_back(fmt::format(
            "map {}: the pinned map carries no BTF, so its layout cannot be compared", name));
        return;
    }
    std::unique_ptr<btf, decltype(&btf__free)> pinned(btf__load_from_kernel_by_id(info.btf_id),
                                                      &btf__free);
    if (!pinned) {
        problems.push_back(
            fmt::format("map {}: cannot read the pinned map's BTF: {}", name, errno_text(errno)));
        return;
    }
    boost::hana::for_each(layout::all_maps, [&](const auto& spec) {
        using Spec = std::remove_cvref_t<decltype(spec)>;
        if (spec.name != name)
            return;
        compare_key(pinned.get(), info.btf_key_type_id, spec.type,
                    layout::describe<typename Spec::key_type>(), fmt::format("map {} key", name),
                    problems, "the pinned map");
        compare_struct(pinned.get(), info.btf_value_type_id,
                       layout::describe<typename Spec::value_type>(),
                       fmt::format("map {} value", name), problems, "the pinned map");
    });
}

// A pinned map is reused only if the kernel's view of it equals the
// object's declaration; libbpf would refuse anyway, but without saying how.
inline std::vector<std::string> pinned_map_conflicts(bpf_object* object,
                                                     const InstancePaths& pins) {
    std::vector<std::string> problems;
    bpf_map* map;
    bpf_object__for_each_map(map, object) {
        if (bpf_map__is_internal(map))
            continue;
        const auto path = pins.map(bpf_map__name(map));
        if (!std::filesystem::exists(path))
            continue;
        UniqueFd fd(bpf_obj_get(path.c_str()));
        if (!fd) {
            problems.push_back(fmt::format("{}: cannot open the pinned map: {}", path.string(),
                                           errno_text(errno)));
            continue;
        }
        bpf_map_info info{};
        __u32 len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
            problems.push_back(fmt::format("{}: {}", path.string(), errno_text(errno)));
            continue;
        }
        const auto differs = [&](std::string_view what, auto pinned, auto wanted) {
            if (pinned != wanted)
                problems.push_back(fmt::format("map {}: the pinned map's {} is {}, the object's "
                                               "is {}",
                                               bpf_map__name(map), what, pinned, wanted));
        };
        differs("type", info.type, static_cast<__u32>(bpf_map__type(map)));
        differs("key size", info.key_size, bpf_map__key_size(map));
        differs("value size", info.value_size, bpf_map__value_size(map));
        differs("capacity", info.max_entries, bpf_map__max_entries(map));
        pinned_layout_conflicts(bpf_map__name(map), info, problems);
    }
    return problems;
}

} // namespace detail

class DatapathObject {
  public:
    static DatapathObject load(const std::filesystem::path& path, const InstancePaths& pins) {
        std::filesystem::create_directories(pins.maps());
        const std::string pin_root = pins.maps().string();
        bpf_object_open_opts opts{};
        opts.sz = sizeof opts;
        opts.pin_root_path = pin_root.c_str();
        DatapathObject d;
        d.object_.reset(bpf_object__open_file(path.c_str(), &opts));
        if (!d.object_)
            throw Error(fmt::format("{}: cannot open the BPF object: {}", path.string(),
                                    errno_text(errno)));
        const auto manifest_path = manifest::manifest_path_for(path);
        try {
            if (auto problems = manifest::check_manifest(manifest::read_manifest(manifest_path),
                                                         read_file_contents(path).value_or(""),
                                                         d.object_.get());
                !problems.empty())
                throw Error(fmt::format(
                    "{}: its build manifest {} does not match this kpr-agent, refusing to "
                    "load it:{}",
                    path.string(), manifest_path.string(), detail::join_lines(problems)));
        } catch (const manifest::ManifestError& e) {
            throw Error(fmt::format("{}: refusing to load it without a valid build manifest: {}",
                                    path.string(), e.what()));
        }
        if (auto problems = check_map_layouts(d.object_.get()); !problems.empty())
            throw Error(fmt::format("{}: its map layouts differ from this kpr-agent's, refusing "
                                    "to load it:{}",
                                    path.string(), detail::join_lines(problems)));
        if (auto problems = detail::pinned_map_conflicts(d.object_.get(), pins); !problems.empty())
            throw Error(fmt::format("{}: does not fit the maps instance \"{}\" has pinned; "
                                    "migrating map contents is not supported yet, so run "
                                    "`kpr-agent down --instance {}` first (this forgets the "
                                    "programmed services):{}",
                                    path.string(), pins.name(), pins.name(),
                                    detail::join_lines(problems)));
        if (int err = bpf_object__load(d.object_.get()); err != 0)
            throw Error(fmt::format("{}: the kernel refused to load it: {} (the verifier's log "
                                    "is above)",
                                    path.string(), errno_text(err)));
        return d;
    }

    bpf_object* get() const { return object_.get(); }

    // The map's descriptor, or -1 when the object has no such map.
    int map_fd(std::string_view name) const {
        const bpf_map* map = bpf_object__find_map_by_name(object_.get(), std::string(name).c_str());
        return map ? bpf_map__fd(map) : -1;
    }

    std::vector<bpf_program*> programs() const {
        std::vector<bpf_program*> out;
        bpf_program* prog;
        bpf_object__for_each_program(prog, object_.get()) out.push_back(prog);
        return out;
    }

  private:
    struct Close {
        void operator()(bpf_object* o) const { bpf_object__close(o); }
    };
    std::unique_ptr<bpf_object, Close> object_;
};

} // namespace kpr::runtime
