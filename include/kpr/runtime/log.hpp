// The agent's log: one line per event on stderr, prefixed with the time and
// the program, so a line can be read on its own in `kubectl logs`.
#pragma once

#include <chrono>
#include <cstdio>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace kpr::runtime {

template <class... Args> void log(fmt::format_string<Args...> format, Args&&... args) {
    const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    fmt::print(stderr, "{:%Y-%m-%dT%H:%M:%S}Z kpr-agent: {}\n", now, fmt::format(format, std::forward<Args>(args)...));
}

} // namespace kpr::runtime
