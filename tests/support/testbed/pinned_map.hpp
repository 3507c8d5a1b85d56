// A test's own reach into an agent instance's pinned maps: emptying a map,
// as `conntrack -F` would the kernel's table, so flows already tracked can be
// replayed through the data path's backend choice.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace kpr::testbed {

// /sys/fs/bpf/kpr/<instance>/maps/<map>, where kpr-agent pins its maps.
std::filesystem::path pinned_map_path(std::string_view instance, std::string_view map);

// Deletes every entry of the map pinned at path and returns how many it
// deleted; throws std::runtime_error naming the path when it cannot.
std::size_t clear_pinned_map(const std::filesystem::path& path);

} // namespace kpr::testbed
