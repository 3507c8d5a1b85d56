// Whether this process may load BPF programs and build network namespaces, and
// the gtest guard that skips a kernel test without them (but fails it in CI,
// where the privileges exist and a skip would hide a broken test).
#pragma once

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace kpr::testbed {

// nullopt when the process holds CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN in
// its effective set; otherwise which of them are missing.
std::optional<std::string> missing_kernel_privileges();

// True when the environment variable CI is "true".
bool running_in_ci();

} // namespace kpr::testbed

// Use first thing in a TEST body or a fixture's SetUp(); it returns from the
// enclosing function when the privileges are missing.
#define KPR_REQUIRE_KERNEL_PRIVILEGES()                                                            \
    do {                                                                                           \
        if (const auto kpr_missing_privileges = ::kpr::testbed::missing_kernel_privileges()) {     \
            if (::kpr::testbed::running_in_ci()) {                                                 \
                FAIL() << "needs CAP_BPF/CAP_NET_ADMIN (run as root), and CI=true promises "       \
                          "them: "                                                                 \
                       << *kpr_missing_privileges;                                                 \
            } else {                                                                               \
                GTEST_SKIP() << "skipped: needs CAP_BPF/CAP_NET_ADMIN (run as root): "             \
                             << *kpr_missing_privileges;                                           \
            }                                                                                      \
        }                                                                                          \
    } while (false)
