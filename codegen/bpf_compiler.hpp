// Compiles an emitted BPF C source to an object with clang (a subprocess
// for now). The output is reproducible: the same source and compiler give
// byte-identical objects wherever the checkout and build directory are.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

namespace kpr::codegen {

struct CompileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct CompilerSettings {
    std::filesystem::path clang;             // clang-14 or later with the BPF target
    std::filesystem::path templates_dir;     // for lib/*.h
    std::filesystem::path multiarch_include; // /usr/include/<triplet>, for <asm/types.h>
};

// Throws CompileError carrying clang's diagnostics.
void compile_bpf_object(const CompilerSettings& settings, const std::filesystem::path& source,
                        const std::filesystem::path& object);

} // namespace kpr::codegen
