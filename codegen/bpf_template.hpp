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

namespace kpr::codegen {

struct TemplateError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct TemplateInputs {
    std::map<std::string, std::string> slots; // every slot the template names, and no other
    std::set<std::string> features;           // enabled
    std::set<std::string> known_features;     // any other name in an @kpr:if is an error
};

// `name` is used in error messages ("bpf_sock.c:12: ...").
std::string expand_template(const std::string& text, const std::string& name,
                            const TemplateInputs& inputs);

std::string read_template(const std::filesystem::path& path);

} // namespace kpr::codegen
