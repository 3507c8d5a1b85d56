// The build manifest kpr-gen writes next to each object
// (kpr_sock.bpf.o -> kpr_sock.manifest.json): which schema built it, the
// object's own hash, every map with its capacity and layout hash, and the
// programs with their sections and instruction counts. kpr-agent reads it
// before loading the object (manifest_check.hpp). JSON, so any tool can
// read it; parsed here with yaml-cpp, whose YAML is a superset of JSON.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "kpr/file_contents.hpp"

namespace kpr::manifest {

inline constexpr int manifest_format = 1;

struct ManifestMap {
    std::string name;
    std::string type; // BPF_MAP_TYPE_...
    std::uint32_t capacity = 0;
    std::string key; // C struct names
    std::string value;
    std::string layout_hash;
    bool operator==(const ManifestMap&) const = default;
};

struct ManifestProgram {
    std::string name;
    std::string section; // "cgroup/connect4": the hook it attaches to
    std::uint32_t instructions = 0;
    bool operator==(const ManifestProgram&) const = default;
};

struct BuildManifest {
    std::string schema_name;
    std::string schema_hash;
    std::string object_file; // the file name, next to the manifest
    std::string object_hash;
    std::vector<ManifestMap> maps;
    std::vector<ManifestProgram> programs;
    bool operator==(const BuildManifest&) const = default;
};

inline std::filesystem::path manifest_path_for(const std::filesystem::path& object) {
    std::string name = object.filename().string();
    if (const auto dot = name.find('.'); dot != std::string::npos)
        name.resize(dot);
    return object.parent_path() / (name + ".manifest.json");
}

// Every string written is an identifier, a section name or a hash: none
// needs escaping, which to_json checks rather than assumes.
inline std::string to_json(const BuildManifest& m) {
    const auto quoted = [](const std::string& s) {
        for (char c : s)
            if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20)
                throw std::invalid_argument(fmt::format("manifest: {:?} needs escaping", s));
        return fmt::format("\"{}\"", s);
    };
    std::string out =
        fmt::format("{{\n  \"kprManifest\": {},\n  \"schema\": {{\"name\": {}, \"hash\": {}}},\n"
                    "  \"object\": {{\"file\": {}, \"hash\": {}}},\n  \"maps\": [",
                    manifest_format, quoted(m.schema_name), quoted(m.schema_hash),
                    quoted(m.object_file), quoted(m.object_hash));
    for (std::size_t i = 0; i < m.maps.size(); ++i) {
        const auto& map = m.maps[i];
        out += fmt::format(
            "{}\n    {{\"name\": {}, \"type\": {}, \"capacity\": {}, \"key\": {}, \"value\": {}, "
            "\"layoutHash\": {}}}",
            i ? "," : "", quoted(map.name), quoted(map.type), map.capacity, quoted(map.key),
            quoted(map.value), quoted(map.layout_hash));
    }
    out += "\n  ],\n  \"programs\": [";
    for (std::size_t i = 0; i < m.programs.size(); ++i) {
        const auto& p = m.programs[i];
        out += fmt::format("{}\n    {{\"name\": {}, \"section\": {}, \"instructions\": {}}}",
                           i ? "," : "", quoted(p.name), quoted(p.section), p.instructions);
    }
    out += "\n  ]\n}\n";
    return out;
}

struct ManifestError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Throws ManifestError naming the file and what is missing or malformed.
inline BuildManifest read_manifest(const std::filesystem::path& path) {
    const auto text = read_file_contents(path);
    if (!text)
        throw ManifestError(
            fmt::format("{}: cannot read the build manifest (kpr-gen writes it next to the object)",
                        path.string()));
    try {
        const YAML::Node root = YAML::Load(*text);
        if (root["kprManifest"].as<int>() != manifest_format)
            throw ManifestError(
                fmt::format("{}: manifest format {} is not {}, the one this kpr-agent reads",
                            path.string(), root["kprManifest"].as<int>(), manifest_format));
        BuildManifest m;
        m.schema_name = root["schema"]["name"].as<std::string>();
        m.schema_hash = root["schema"]["hash"].as<std::string>();
        m.object_file = root["object"]["file"].as<std::string>();
        m.object_hash = root["object"]["hash"].as<std::string>();
        for (const auto& map : root["maps"])
            m.maps.push_back({map["name"].as<std::string>(), map["type"].as<std::string>(),
                              map["capacity"].as<std::uint32_t>(), map["key"].as<std::string>(),
                              map["value"].as<std::string>(), map["layoutHash"].as<std::string>()});
        for (const auto& p : root["programs"])
            m.programs.push_back({p["name"].as<std::string>(), p["section"].as<std::string>(),
                                  p["instructions"].as<std::uint32_t>()});
        return m;
    } catch (const YAML::Exception& e) {
        throw ManifestError(
            fmt::format("{}: not a kpr build manifest: {}", path.string(), e.what()));
    }
}

} // namespace kpr::manifest
