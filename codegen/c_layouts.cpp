// C struct emission from layout descriptions.
#include "codegen/c_layouts.hpp"

#include <fmt/format.h>

namespace kpr::codegen {

std::string emit_c_layout(const layout::LayoutDescription& layout) {
    std::string out = fmt::format("struct {} {{\n", layout.c_name);
    for (const auto& f : layout.fields) {
        if (f.extent == 0)
            out += fmt::format("\t{} {};\n", f.c_type, f.name);
        else
            out += fmt::format("\t{} {}[{}];\n", f.c_type, f.name, f.extent);
    }
    out += "};\n";
    out += fmt::format("_Static_assert(sizeof(struct {0}) == {1}, \"struct {0}: size differs from "
                       "the C++ layout\");\n",
                       layout.c_name, layout.size);
    for (const auto& f : layout.fields)
        out += fmt::format("_Static_assert(__builtin_offsetof(struct {0}, {1}) == {2}, \"struct "
                           "{0}: offset of {1} differs from the C++ layout\");\n",
                           layout.c_name, f.name, f.offset);
    return out;
}

std::string emit_c_layouts(const std::vector<PlannedMap>& plan) {
    std::string out;
    for (const auto& layout : planned_layouts(plan)) {
        if (!out.empty())
            out += "\n";
        out += emit_c_layout(layout);
    }
    return out;
}

} // namespace kpr::codegen
