// What the API watch's tests share: the stand-in's certificates (made once
// per test program), a log that tests can wait on, a sink that records what
// a reflector delivered, and polling a condition with a deadline.
#pragma once

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "apiserver/eventually.hpp"
#include "apiserver/fake_api_server.hpp"
#include "kpr/k8s/api/reflector.hpp"

namespace kpr::testbed::apiserver {

// The stand-in's certificates, made on first use in a directory of this process.
inline const TestCertificates& test_certificates() {
    static const TestCertificates certificates = TestCertificates::generate(
        std::filesystem::temp_directory_path() / fmt::format("kprt-{}-certs", ::getpid()));
    return certificates;
}

class CapturedLog {
  public:
    k8s::api::LogFn fn() {
        return [this](const std::string& line) {
            std::lock_guard lock(mutex_);
            lines_.push_back(line);
        };
    }
    std::vector<std::string> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    bool contains(const std::string& text) const {
        std::lock_guard lock(mutex_);
        for (const auto& l : lines_)
            if (l.find(text) != std::string::npos)
                return true;
        return false;
    }
    bool wait_for(const std::string& text) const {
        return eventually([&] { return contains(text); });
    }
    std::string text() const { return fmt::format("{}", fmt::join(lines(), "\n")); }

  private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

// Records objects by namespace/name with their resourceVersion.
class RecordingSink final : public k8s::api::WatchSink {
  public:
    void list_begins() override {
        std::lock_guard lock(mutex_);
        listing_.clear();
        in_list_ = true;
    }
    void list_done() override {
        std::lock_guard lock(mutex_);
        objects_ = listing_;
        in_list_ = false;
        ++lists_;
    }
    void upsert(simdjson::dom::element object) override {
        if (on_upsert)
            on_upsert();
        std::lock_guard lock(mutex_);
        (in_list_ ? listing_ : objects_)[key(object)] = version(object);
    }
    void remove(simdjson::dom::element object) override {
        std::lock_guard lock(mutex_);
        objects_.erase(key(object));
    }

    std::map<std::string, std::string> objects() const {
        std::lock_guard lock(mutex_);
        return objects_;
    }
    bool has(const std::string& key) const { return objects().contains(key); }
    int lists() const {
        std::lock_guard lock(mutex_);
        return lists_;
    }

    std::function<void()> on_upsert;

  private:
    static std::string key(simdjson::dom::element o) {
        std::string_view ns, name;
        if (o["metadata"]["namespace"].get(ns))
            ns = "";
        if (o["metadata"]["name"].get(name))
            name = "?";
        return fmt::format("{}/{}", ns, name);
    }
    static std::string version(simdjson::dom::element o) {
        std::string_view rv;
        if (o["metadata"]["resourceVersion"].get(rv))
            rv = "";
        return std::string(rv);
    }

    mutable std::mutex mutex_;
    std::map<std::string, std::string> objects_, listing_;
    bool in_list_ = false;
    int lists_ = 0;
};

} // namespace kpr::testbed::apiserver
