// Pinned maps over libbpf's raw calls: a test needs no layout to empty one.
#include "testbed/pinned_map.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "testbed/unique_fd.hpp"

namespace kpr::testbed {

std::filesystem::path pinned_map_path(std::string_view instance, std::string_view map) {
    return std::filesystem::path("/sys/fs/bpf/kpr") / std::string(instance) / "maps" / std::string(map);
}

std::size_t clear_pinned_map(const std::filesystem::path& path) {
    UniqueFd map(::bpf_obj_get(path.c_str()));
    if (!map)
        throw std::runtime_error(fmt::format("{}: {}", path.string(), std::strerror(errno)));
    bpf_map_info info{};
    __u32 length = sizeof info;
    if (::bpf_obj_get_info_by_fd(map.get(), &info, &length) != 0)
        throw std::runtime_error(fmt::format("{}: reading its info: {}", path.string(), std::strerror(errno)));
    // Collect first: deleting while walking could restart the walk.
    std::vector<std::vector<unsigned char>> keys;
    std::vector<unsigned char> key(info.key_size);
    const void* previous = nullptr;
    while (::bpf_map_get_next_key(map.get(), previous, key.data()) == 0) {
        keys.push_back(key);
        previous = keys.back().data();
    }
    std::size_t deleted = 0;
    for (const auto& k : keys)
        if (::bpf_map_delete_elem(map.get(), k.data()) == 0)
            ++deleted;
    return deleted;
}

} // namespace kpr::testbed
