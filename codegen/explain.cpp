// The text of `kpr-gen explain`.
#include "codegen/explain.hpp"

#include <bit>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "codegen/schema_coverage.hpp"

namespace kpr::codegen {
namespace {

std::string mebibytes(std::uint64_t bytes) {
    return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20));
}

std::uint64_t round8(std::uint64_t n) {
    return (n + 7) / 8 * 8;
}

// "cgroup/connect4" -> "cgroup connect (IPv4)": the hook a section attaches to.
std::string hook_of(std::string_view section) {
    if (section == "tc")
        return "tc clsact of a pod's host-side veth or an external interface, spec.tcPrograms";
    const auto slash = section.find('/');
    if (slash == std::string_view::npos)
        return std::string(section);
    auto hook = section.substr(slash + 1);
    const char family = hook.empty() ? ' ' : hook.back();
    if (family == '4' || family == '6')
        return fmt::format("{} {} (IPv{}), spec.socketHooks", section.substr(0, slash),
                           hook.substr(0, hook.size() - 1), family);
    return fmt::format("{} {}", section.substr(0, slash), hook);
}

std::string capacity_origin(const PlannedMap& map) {
    if (map.capacity_name.empty())
        return "fixed";
    if (map.type == layout::MapType::array) // only Maglev's tables are sized by the schema
        return fmt::format("spec.maps.{} x maglevTableSize", map.capacity_name);
    return fmt::format("spec.maps.{}", map.capacity_name);
}

} // namespace

std::uint64_t estimated_map_bytes(const PlannedMap& map) {
    switch (map.type) {
    case layout::MapType::lpm_trie: // a node per entry, allocated as entries arrive
        return (48 + round8(map.key.size) + round8(map.value.size)) * map.capacity;
    case layout::MapType::array:
    case layout::MapType::percpu_array: // per CPU
        return round8(map.value.size) * map.capacity;
    case layout::MapType::hash:
    case layout::MapType::lru_hash:
        break;
    }
    const std::uint64_t element = 48 + round8(map.key.size) + round8(map.value.size);
    return element * map.capacity + 16 * std::bit_ceil(std::uint64_t{map.capacity});
}

std::string explain_datapath(const schema::ClusterSchema& schema,
                             const std::vector<DatapathBuild>& builds) {
    std::vector<std::string_view> families;
    for (auto f : schema.families)
        families.push_back(net::to_string(f));
    std::string out = fmt::format("data path \"{}\" (schema {})\n  families: {}\n", schema.name,
                                  builds.front().contents.schema_hash, fmt::join(families, ", "));
    for (const auto& build : builds) {
        out += fmt::format("\nobject {} ({})\n maps:\n", build.object.filename().string(),
                           build.contents.object_hash);
        std::uint64_t preallocated = 0, as_filled = 0, per_cpu = 0;
        for (const auto& map : plan_maps(schema, build.datapath)) {
            const auto bytes = estimated_map_bytes(map);
            const bool trie = map.type == layout::MapType::lpm_trie;
            const bool cpu = layout::is_per_cpu(map.type);
            (trie ? as_filled : cpu ? per_cpu : preallocated) += bytes;
            out += fmt::format("  {:<13} {:<25} key {:>2} B  value {:>2} B  capacity {:>8}  "
                               "~{:>9}{}  ({}, {})\n",
                               map.name, layout::c_map_type(map.type), map.key.size,
                               map.value.size, map.capacity, mebibytes(bytes),
                               trie ? " at most" : cpu ? " per CPU" : "", capacity_origin(map),
                               map.family ? net::to_string(*map.family) : "both families");
        }
        out += fmt::format("  total ~{} of kernel memory preallocated", mebibytes(preallocated));
        if (per_cpu)
            out += fmt::format(", ~{} per CPU", mebibytes(per_cpu));
        if (as_filled)
            out += fmt::format(", up to ~{} allocated as entries arrive", mebibytes(as_filled));
        out += "\n programs:\n";
        for (const auto& p : build.contents.programs)
            out += fmt::format("  {:<16} {:<22} {:>5} instructions  ({})\n", p.name, p.section,
                               p.instructions, hook_of(p.section));
    }
    const auto unbuilt = unbuilt_requests(schema);
    out += "\nvalidated, not built yet:\n";
    if (unbuilt.empty())
        out += "  nothing: the schema asks only for what this kpr-gen builds\n";
    for (const auto& line : unbuilt)
        out += fmt::format("  {}\n", line);
    return out;
}

} // namespace kpr::codegen
