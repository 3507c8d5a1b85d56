// A whole file's bytes, for the inputs kpr reads at once (schemas,
// templates, objects, manifests): nullopt when it cannot be read.
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace kpr {

inline std::optional<std::string> read_file_contents(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return std::nullopt;
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return std::move(bytes).str();
}

} // namespace kpr
