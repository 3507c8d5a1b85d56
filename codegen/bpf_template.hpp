// The template language of bpf-templates/: plain BPF C in which a line
//   /* @kpr:slot NAME */   is replaced by generated text, and
//   /* @kpr:if A !B */ ... /* @kpr:endif */
// keeps its lines only when every feature named is enabled and every one
// named with a '!' is not (blocks nest).
// Marker lines themselves never reach the output, so what is emitted is
// exactly the code the cluster needs.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace kpr::codegen {

struct TemplateError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct TemplateInputs {
    std::map<std::string, std::string> slots; // every slot the template names, and no other
    std::set<std::string> features;           // enabled
    std::set<std::string> known_features;     // any other name in an @kpr:if is an error
};

// Where a line of an expanded template came from: a template line, or the
// text a slot (named by `slot`) on that template line was filled with.
struct LineOrigin {
    int template_line = 0;
    std::string slot; // empty for a line of the template itself
    bool operator==(const LineOrigin&) const = default;
};

struct ExpandedTemplate {
    std::string text;
    std::vector<LineOrigin> origins; // one per line of text
};

// `name` is used in error messages ("bpf_sock.c:12: ...").
ExpandedTemplate expand_template_with_origins(const std::string& text, const std::string& name,
                                              const TemplateInputs& inputs);

// "bpf-templates/bpf_sock.c:28", or "@kpr:slot layouts at
// bpf-templates/bpf_sock.c:10" for generated text; "" when there is no
// template line (template_line 0).
std::string describe_origin(const LineOrigin& origin, const std::string& template_name);

inline std::string expand_template(const std::string& text, const std::string& name,
                                   const TemplateInputs& inputs) {
    return expand_template_with_origins(text, name, inputs).text;
}

std::string read_template(const std::filesystem::path& path);

} // namespace kpr::codegen
