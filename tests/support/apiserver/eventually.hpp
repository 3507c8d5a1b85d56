// Polling a condition with a deadline: how the API watch's tests wait for
// something another thread or process does, instead of sleeping.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace kpr::testbed::apiserver {

// Polls cond every few milliseconds until it holds or the limit passes.
inline bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!cond()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

} // namespace kpr::testbed::apiserver
