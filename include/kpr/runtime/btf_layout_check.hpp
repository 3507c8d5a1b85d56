// Checks a BPF object's maps against kpr's compiled-in layouts before
// anything is written to them: each map must be one layout/maps.hpp
// declares, of the declared kind, and its key and value structs in the
// object's BTF must have the declared name, size, and fields at the same
// offsets with the same sizes. A mismatch means the object was built from
// other layouts than this agent; writing would corrupt the maps.
#pragma once

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <string>
#include <vector>

#include <boost/hana/for_each.hpp>
#include <fmt/format.h>

#include "kpr/layout/maps.hpp"

namespace kpr::runtime {

namespace detail {

inline std::string btf_string(const btf* b, __u32 offset) {
    const char* s = btf__name_by_offset(b, offset);
    return s ? s : "";
}

// Differences between one struct in a BTF and the C++ layout; `holder`
// names where the BTF comes from ("the object", "the pinned map").
inline void compare_struct(const btf* b, __u32 type_id, const layout::LayoutDescription& want,
                           const std::string& what, std::vector<std::string>& problems,
                           std::string_view holder = "the object") {
    const int resolved = btf__resolve_type(b, type_id);
    const btf_type* t = resolved > 0 ? btf__type_by_id(b, static_cast<__u32>(resolved)) : nullptr;
    if (!t || !btf_is_struct(t)) {
        problems.push_back(fmt::format("{}: not a struct in {}'s BTF (kpr-agent expects struct {})",
                                       what, holder, want.c_name));
        return;
    }
    const auto name = btf_string(b, t->name_off);
    if (name != want.c_name)
        problems.push_back(fmt::format("{}: {} has struct {}, kpr-agent expects struct {}", what,
                                       holder, name, want.c_name));
    if (t->size != want.size)
        problems.push_back(fmt::format("{}: struct {} is {} bytes in {}, {} in kpr-agent", what,
                                       name, t->size, holder, want.size));
    // Fields are matched by name, so a reordering reads as moved fields.
    const auto* members = btf_members(t);
    const auto count = static_cast<__u32>(btf_vlen(t));
    std::vector<bool> matched(count, false);
    for (const auto& f : want.fields) {
        __u32 i = 0;
        while (i < count && btf_string(b, members[i].name_off) != f.name)
            ++i;
        if (i == count) {
            problems.push_back(
                fmt::format("{}: struct {} has no field {} in {}", what, name, f.name, holder));
            continue;
        }
        matched[i] = true;
        const auto offset = btf_member_bit_offset(t, i) / 8;
        const auto size = btf__resolve_size(b, members[i].type);
        if (offset != f.offset)
            problems.push_back(
                fmt::format("{}: field {} of struct {} is at offset {} in {}, {} in kpr-agent",
                            what, f.name, name, offset, holder, f.offset));
        if (size < 0 || static_cast<std::size_t>(size) != f.size)
            problems.push_back(
                fmt::format("{}: field {} of struct {} is {} bytes in {}, {} in kpr-agent", what,
                            f.name, name, size, holder, f.size));
    }
    for (__u32 i = 0; i < count; ++i)
        if (!matched[i])
            problems.push_back(
                fmt::format("{}: struct {} has field {} in {}, which kpr-agent does not know", what,
                            name, btf_string(b, members[i].name_off), holder));
}

// A map's key in a BTF against its layout: an array's index is a 4-byte
// integer there (layout::has_index_key), any other key the layout's struct.
inline void compare_key(const btf* b, __u32 type_id, layout::MapType type,
                        const layout::LayoutDescription& want, const std::string& what,
                        std::vector<std::string>& problems,
                        std::string_view holder = "the object") {
    if (!layout::has_index_key(type)) {
        compare_struct(b, type_id, want, what, problems, holder);
        return;
    }
    const int resolved = btf__resolve_type(b, type_id);
    const btf_type* t = resolved > 0 ? btf__type_by_id(b, static_cast<__u32>(resolved)) : nullptr;
    if (!t || !btf_is_int(t) || t->size != 4)
        problems.push_back(fmt::format("{}: not a 4-byte integer in {}'s BTF (an array's index)",
                                       what, holder));
}

inline bpf_map_type kernel_map_type(layout::MapType t) {
    switch (t) {
    case layout::MapType::hash:
        return BPF_MAP_TYPE_HASH;
    case layout::MapType::lru_hash:
        return BPF_MAP_TYPE_LRU_HASH;
    case layout::MapType::lpm_trie:
        return BPF_MAP_TYPE_LPM_TRIE;
    case layout::MapType::array:
        return BPF_MAP_TYPE_ARRAY;
    case layout::MapType::percpu_array:
        return BPF_MAP_TYPE_PERCPU_ARRAY;
    }
    return BPF_MAP_TYPE_UNSPEC;
}

} // namespace detail

// Every problem found, each naming the map, the struct and the field; empty
// when the object's maps are exactly kpr's. The object need only be opened.
inline std::vector<std::string> check_map_layouts(const bpf_object* object) {
    std::vector<std::string> problems;
    const btf* b = bpf_object__btf(object);
    if (!b)
        return {"the object carries no BTF, so its map layouts cannot be checked"};
    const bpf_map* map;
    bpf_object__for_each_map(map, object) {
        if (bpf_map__is_internal(map))
            continue;
        const std::string name = bpf_map__name(map);
        bool known = false;
        boost::hana::for_each(layout::all_maps, [&](const auto& spec) {
            using Spec = std::remove_cvref_t<decltype(spec)>;
            if (spec.name != name)
                return;
            known = true;
            if (bpf_map__type(map) != detail::kernel_map_type(spec.type))
                problems.push_back(fmt::format("map {}: the object declares map type {}, "
                                               "kpr-agent expects {}",
                                               name, static_cast<int>(bpf_map__type(map)),
                                               layout::c_map_type(spec.type)));
            detail::compare_key(b, bpf_map__btf_key_type_id(map), spec.type,
                                layout::describe<typename Spec::key_type>(),
                                fmt::format("map {} key", name), problems);
            detail::compare_struct(b, bpf_map__btf_value_type_id(map),
                                   layout::describe<typename Spec::value_type>(),
                                   fmt::format("map {} value", name), problems);
        });
        if (!known)
            problems.push_back(fmt::format("map {}: not a map this kpr-agent knows", name));
    }
    return problems;
}

} // namespace kpr::runtime
