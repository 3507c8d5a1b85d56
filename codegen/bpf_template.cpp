// Expansion of @kpr:slot and @kpr:if markers in BPF C templates.
#include "codegen/bpf_template.hpp"

#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "kpr/file_contents.hpp"

namespace kpr::codegen {
namespace {

constexpr std::string_view marker_open = "/* @kpr:";
constexpr std::string_view marker_close = " */";

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos)
        return {};
    const auto last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    std::istringstream in{std::string(s)};
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

// The directive and its arguments when the line is a marker.
std::optional<std::vector<std::string>> marker(std::string_view line) {
    line = trim(line);
    if (!line.starts_with(marker_open) || !line.ends_with(marker_close))
        return std::nullopt;
    line.remove_prefix(marker_open.size());
    line.remove_suffix(marker_close.size());
    return words(line);
}

// Removed blocks leave runs of blank lines behind; keep one.
void append_line(ExpandedTemplate& out, std::string_view line, LineOrigin origin) {
    const bool blank = trim(line).empty();
    if (blank && (out.text.empty() || out.text.ends_with("\n\n")))
        return;
    out.text += line;
    out.text += '\n';
    out.origins.push_back(std::move(origin));
}

} // namespace

ExpandedTemplate expand_template_with_origins(const std::string& text, const std::string& name,
                                              const TemplateInputs& inputs) {
    ExpandedTemplate out;
    std::vector<bool> active{true};
    std::vector<int> open_lines;
    std::set<std::string> used_slots;
    std::istringstream in(text);
    int line_no = 0;
    const auto fail = [&](const std::string& what) {
        throw TemplateError(fmt::format("{}:{}: {}", name, line_no, what));
    };

    for (std::string line; std::getline(in, line);) {
        ++line_no;
        const auto directive = marker(line);
        if (!directive) {
            if (active.back())
                append_line(out, line, {line_no, {}});
            continue;
        }
        const auto& d = *directive;
        if (d.empty())
            fail("empty @kpr: marker");
        if (d[0] == "slot") {
            if (d.size() != 2)
                fail("@kpr:slot takes one name");
            const auto slot = inputs.slots.find(d[1]);
            if (slot == inputs.slots.end())
                fail(fmt::format("no text for slot \"{}\"", d[1]));
            used_slots.insert(d[1]);
            if (active.back()) {
                std::istringstream slot_lines(slot->second);
                for (std::string slot_line; std::getline(slot_lines, slot_line);)
                    append_line(out, slot_line, {line_no, d[1]});
            }
            continue;
        }
        if (d[0] == "if") {
            if (d.size() < 2)
                fail("@kpr:if names no feature");
            bool enabled = true;
            for (std::size_t i = 1; i < d.size(); ++i) {
                const bool negated = d[i].starts_with('!');
                const auto feature = d[i].substr(negated ? 1 : 0);
                if (!inputs.known_features.contains(feature))
                    fail(fmt::format("unknown feature \"{}\"", feature));
                enabled = enabled && inputs.features.contains(feature) != negated;
            }
            active.push_back(active.back() && enabled);
            open_lines.push_back(line_no);
        } else if (d[0] == "endif") {
            if (open_lines.empty())
                fail("@kpr:endif without @kpr:if");
            active.pop_back();
            open_lines.pop_back();
        } else {
            fail(fmt::format("unknown directive @kpr:{}", d[0]));
        }
    }
    if (!open_lines.empty()) {
        line_no = open_lines.back();
        fail("@kpr:if is never closed");
    }
    for (const auto& slot : inputs.slots)
        if (!used_slots.contains(slot.first))
            throw TemplateError(fmt::format("{}: has no slot \"{}\"", name, slot.first));
    return out;
}

std::string describe_origin(const LineOrigin& origin, const std::string& template_name) {
    if (origin.template_line == 0)
        return {};
    if (origin.slot.empty())
        return fmt::format("{}:{}", template_name, origin.template_line);
    return fmt::format("@kpr:slot {} at {}:{}", origin.slot, template_name, origin.template_line);
}

std::string read_template(const std::filesystem::path& path) {
    auto text = read_file_contents(path);
    if (!text)
        throw TemplateError(fmt::format("cannot read template {}", path.string()));
    return std::move(*text);
}

} // namespace kpr::codegen
