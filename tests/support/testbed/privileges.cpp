// Reads the effective capability set with capget(2).
#include "testbed/privileges.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kpr::testbed {
namespace {

// linux/capability.h of older distributions predates CAP_BPF.
constexpr int cap_bpf = 39;

bool has_effective(const __user_cap_data_struct (&data)[_LINUX_CAPABILITY_U32S_3], int cap) {
    return (data[cap / 32].effective & (std::uint32_t{1} << (cap % 32))) != 0;
}

} // namespace

std::optional<std::string> missing_kernel_privileges() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (::syscall(SYS_capget, &header, data) != 0)
        return fmt::format("capget failed: {}", std::strerror(errno));

    struct Needed {
        int cap;
        std::string_view name;
    };
    constexpr Needed needed[] = {
        {cap_bpf, "CAP_BPF"}, {CAP_NET_ADMIN, "CAP_NET_ADMIN"}, {CAP_SYS_ADMIN, "CAP_SYS_ADMIN"}};
    std::vector<std::string_view> missing;
    for (const auto& n : needed)
        if (!has_effective(data, n.cap))
            missing.push_back(n.name);
    if (missing.empty())
        return std::nullopt;
    return fmt::format("effective uid {} lacks {}", ::geteuid(), fmt::join(missing, ", "));
}

bool running_in_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::string_view(ci) == "true";
}

} // namespace kpr::testbed
