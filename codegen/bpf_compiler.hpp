// Compiles an emitted BPF C source to an object in-process, with clang's
// libraries (no compiler subprocess), and in the same pass reads back the
// record layout clang gave every map struct, checking its size and field
// offsets against the C++ (Boost.Hana) declaration. Diagnostics name the
// emitted file and line. The output is reproducible: the same source gives
// byte-identical objects wherever the checkout and build directory are.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "kpr/layout/describe.hpp"

namespace kpr::codegen {

// Carries clang's diagnostics (layout mismatches among them), each
// "file:line:column: error: ..." with the offending source line.
struct CompileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct CompilerSettings {
    std::filesystem::path templates_dir;     // for lib/*.h
    std::filesystem::path multiarch_include; // /usr/include/<triplet>, for <asm/types.h>
    std::filesystem::path resource_dir;      // clang's own headers
};

struct CompileInput {
    std::string source;
    // The name the source has in diagnostics and debug info: the emitted
    // file's final path. It is compiled from memory, so it need not exist.
    std::filesystem::path source_path;
    // Structs that must match their C++ declaration exactly.
    std::vector<layout::LayoutDescription> layouts;
    // Per line of source, where it came from (may be empty): named after
    // each diagnostic on that line.
    std::vector<std::string> line_origins;
};

// Writes the object to `object` (only on success) or throws CompileError.
void compile_bpf_object(const CompilerSettings& settings, const CompileInput& input,
                        const std::filesystem::path& object);

} // namespace kpr::codegen
