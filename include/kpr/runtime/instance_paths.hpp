// Where one kpr instance keeps its pinned objects in bpffs:
//   /sys/fs/bpf/kpr/<instance>/maps/<map>    the maps, shared by every object
//   /sys/fs/bpf/kpr/<instance>/links/<prog>  the attachments, kept across restarts
// Several instances can live side by side (tests use one each).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "kpr/runtime/error.hpp"

namespace kpr::runtime {

inline constexpr std::string_view default_bpffs = "/sys/fs/bpf";

class InstancePaths {
  public:
    InstancePaths(std::string_view instance, const std::filesystem::path& bpffs)
        : name_(instance), root_(bpffs / "kpr" / std::string(instance)) {
        if (!valid_name(instance))
            throw Error(fmt::format("instance name \"{}\": use 1-63 characters of a-z, 0-9, '-' "
                                    "and '_'",
                                    instance));
    }

    const std::string& name() const { return name_; }
    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path maps() const { return root_ / "maps"; }
    std::filesystem::path links() const { return root_ / "links"; }
    std::filesystem::path map(std::string_view name) const { return maps() / std::string(name); }
    std::filesystem::path link(std::string_view program) const {
        return links() / std::string(program);
    }

  private:
    static bool valid_name(std::string_view s) {
        if (s.empty() || s.size() > 63)
            return false;
        for (char c : s)
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                return false;
        return true;
    }

    std::string name_;
    std::filesystem::path root_;
};

} // namespace kpr::runtime
