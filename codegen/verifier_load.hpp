// Loads a built object into this kernel's verifier without pinning or
// attaching anything (its maps are created private and vanish with the
// process), and reports each program's verified instruction count. Used by
// `kpr-gen check` and the verifier matrix test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kpr::codegen {

struct VerifiedProgram {
    std::string name;
    std::string section;
    std::uint32_t instructions = 0;          // in the object
    std::uint32_t verified_instructions = 0; // the verifier's count of processed instructions
};

struct VerifierReport {
    // Set when this process may not load BPF programs: nothing was tried.
    std::optional<std::string> skipped;
    std::vector<VerifiedProgram> programs;
};

// Throws std::runtime_error when the kernel refuses the object (libbpf has
// printed the verifier's log to stderr).
VerifierReport load_into_verifier(const std::filesystem::path& object);

} // namespace kpr::codegen
