// BPF map declaration emission.
#include "codegen/c_maps.hpp"

#include <fmt/format.h>

namespace kpr::codegen {

std::string emit_c_maps(const std::vector<PlannedMap>& plan) {
    std::string out;
    for (const auto& map : plan) {
        if (!out.empty())
            out += "\n";
        const auto flags = layout::c_map_flags(map.type);
        out += fmt::format("struct {{\n"
                           "\t__uint(type, {});\n"
                           "\t__uint(max_entries, {});\n"
                           "{}"
                           "\t__type(key, {});\n"
                           "\t__type(value, struct {});\n"
                           "\t__uint(pinning, LIBBPF_PIN_BY_NAME);\n"
                           "}} {} SEC(\".maps\");\n",
                           layout::c_map_type(map.type), map.capacity,
                           flags.empty() ? "" : fmt::format("\t__uint(map_flags, {});\n", flags),
                           layout::has_index_key(map.type) ? std::string("__u32")
                                                           : fmt::format("struct {}", map.key.c_name),
                           map.value.c_name, map.name);
    }
    return out;
}

} // namespace kpr::codegen
