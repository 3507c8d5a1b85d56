// List and watch one API resource the way client-go's reflector does, and
// hand every object to a WatchSink:
//
// - A paginated list (limit/continue) gives the complete set and the
//   resourceVersion to watch from; the sink sees it between list_begins()
//   and list_done(), so it can keep what did not change and drop only what
//   is gone. An expired continue token (410) starts the list over.
// - The watch (allowWatchBookmarks, timeoutSeconds) streams newline-separated
//   JSON events, each parsed with simdjson as soon as its line is complete.
//   ADDED/MODIFIED/DELETED go to the sink; BOOKMARK only moves the
//   resourceVersion; an ERROR event or HTTP status 410 Gone means the
//   resourceVersion is too old: list again.
// - The server ending the watch (its timeoutSeconds) is a normal reconnect
//   from the last resourceVersion (unless it ended at once, empty: that
//   backs off like a failure rather than spin). A dropped connection, a malformed event,
//   a stream silent for longer than idle_limit (not even a bookmark), or an
//   error status (401, 403, 500, ...) is logged in one line and retried from
//   the last resourceVersion after a jittered exponential backoff. Nothing
//   the sink holds is touched by a failure.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <simdjson.h>

#include "kpr/k8s/api/api_client.hpp"
#include "kpr/k8s/api/resource.hpp"

namespace kpr::k8s::api {

using LogFn = std::function<void(const std::string&)>;

// Where a reflector's objects go. Calls come from the reflector's thread.
class WatchSink {
  public:
    virtual ~WatchSink() = default;
    // A complete list follows (upserts), ended by list_done(): every object
    // not upserted since list_begins() no longer exists.
    virtual void list_begins() = 0;
    virtual void list_done() = 0;
    virtual void upsert(simdjson::dom::element object) = 0;
    virtual void remove(simdjson::dom::element object) = 0;
};

struct ReflectorOptions {
    std::size_t page_size = 500;
    std::chrono::milliseconds initial_backoff{800};
    std::chrono::milliseconds max_backoff{30'000};
    // The watch's timeoutSeconds, stretched by a random factor in [1, 2) so
    // that many agents do not reconnect together (client-go does the same).
    std::chrono::seconds watch_timeout{300};
    // A watch that delivers nothing, not even a bookmark, for this long is
    // taken as stalled; the API server sends a bookmark about every minute.
    std::chrono::milliseconds idle_limit{150'000};
    // Server-side filter, e.g. "spec.nodeName=node-1" for a node's own Pods.
    std::string field_selector;
};

// What a reflector has done, for tests, the status command and metrics.
struct ReflectorCounters {
    std::atomic<std::uint64_t> lists{0};             // complete lists
    std::atomic<std::uint64_t> relists_after_gone{0}; // lists forced by 410 Gone
    std::atomic<std::uint64_t> watches{0};           // watch requests made
    std::atomic<std::uint64_t> server_timeouts{0};   // watches the server ended normally
    std::atomic<std::uint64_t> failures{0};          // drops, bad events, stalls, error statuses
    std::atomic<std::uint64_t> events{0};            // ADDED, MODIFIED, DELETED applied
    std::atomic<std::uint64_t> bookmarks{0};
};

namespace detail {

// Reads an optional JSON field; out keeps its value when the field is absent.
template <class Result, class T> void read_optional(Result&& field, T& out) {
    T value;
    if (!std::forward<Result>(field).get(value))
        out = value;
}

// "410 Gone: too old resource version: 5 (9)" from a Status body, or the
// status alone when the body is not a Status.
inline std::string status_text(long status, std::string_view body) {
    simdjson::dom::parser parser;
    std::string padded(body);
    auto parsed = parser.parse(padded);
    std::string_view message;
    std::string_view reason;
    if (!parsed.error()) {
        read_optional(parsed["message"], message);
        read_optional(parsed["reason"], reason);
    }
    if (message.empty() && reason.empty())
        return fmt::format("HTTP {}", status);
    return fmt::format("HTTP {} {}: {}", status, reason, message);
}

inline std::string seconds_text(std::chrono::milliseconds d) { return fmt::format("{:.1f}s", d.count() / 1000.0); }

} // namespace detail

class Reflector {
  public:
    Reflector(ApiConfig config, const Resource& resource, WatchSink& sink, ReflectorOptions options, LogFn log)
        : client_(std::move(config)), resource_(resource), sink_(sink), options_(std::move(options)),
          log_(std::move(log)), random_(std::random_device{}()) {}

    const Resource& resource() const { return resource_; }
    const ReflectorCounters& counters() const { return counters_; }
    // True once the first complete list reached the sink.
    bool synced() const { return counters_.lists.load() > 0; }
    std::string resource_version() const {
        std::lock_guard lock(mutex_);
        return resource_version_;
    }

    // Lists and watches until stop() is called.
    void run() {
        bool must_list = true;
        while (!stopping_) {
            if (must_list) {
                if (!list()) {
                    pause();
                    continue;
                }
                must_list = false;
                backoff_ = options_.initial_backoff;
            }
            switch (watch()) {
            case WatchEnd::server_timeout:
                break;
            case WatchEnd::gone:
                must_list = true;
                ++counters_.relists_after_gone;
                break;
            case WatchEnd::failed:
                pause();
                break;
            case WatchEnd::stopped:
                return;
            }
        }
    }

    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
    }

  private:
    enum class WatchEnd { server_timeout, gone, failed, stopped };

    std::string query_selector() const {
        return options_.field_selector.empty() ? "" : fmt::format("&fieldSelector={}", escape(options_.field_selector));
    }

    static std::string escape(std::string_view text) {
        std::string out;
        for (unsigned char c : text) {
            if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
                out.push_back(static_cast<char>(c));
            else
                out += fmt::format("%{:02X}", c);
        }
        return out;
    }

    void say(std::string text) { log_(fmt::format("{}: {}", resource_.plural, text)); }

    // The next wait, with jitter, doubling up to the limit.
    std::chrono::milliseconds next_backoff() {
        const auto base = backoff_;
        backoff_ = std::min(backoff_ * 2, options_.max_backoff);
        std::uniform_real_distribution<double> jitter(1.0, 2.0);
        return std::chrono::milliseconds(static_cast<long>(static_cast<double>(base.count()) * jitter(random_)));
    }

    void pause() {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, pending_pause_, [&] { return stopping_.load(); });
    }

    // Logs why and arranges the pause that follows.
    void failed(std::string why, std::string_view then) {
        ++counters_.failures;
        pending_pause_ = next_backoff();
        say(fmt::format("{}; {} in {}", why, then, detail::seconds_text(pending_pause_)));
    }

    bool list() {
        sink_.list_begins();
        std::string continue_token;
        std::string version;
        std::size_t pages = 0, objects = 0;
        for (;;) {
            std::string path = fmt::format("{}?limit={}{}", resource_.collection_path(), options_.page_size,
                                           query_selector());
            if (!continue_token.empty())
                path += fmt::format("&continue={}", escape(continue_token));
            const ApiResponse response = client_.get(path, std::chrono::seconds(60));
            if (stopping_)
                return false;
            if (!response.transport.empty()) {
                failed(fmt::format("list failed ({})", response.transport), "listing again");
                return false;
            }
            if (response.status == 410 && !continue_token.empty()) {
                say(fmt::format("the list's continue token expired ({}); listing again from the start",
                                detail::status_text(response.status, response.body)));
                continue_token.clear();
                pages = objects = 0;
                sink_.list_begins();
                continue;
            }
            if (!response.ok()) {
                failed(fmt::format("list refused ({})", detail::status_text(response.status, response.body)),
                       "listing again");
                return false;
            }
            simdjson::dom::element page;
            if (auto error = parser_.parse(response.body).get(page)) {
                failed(fmt::format("list page is not JSON ({})", simdjson::error_message(error)), "listing again");
                return false;
            }
            simdjson::dom::array items;
            std::string_view page_version, next;
            if (page["items"].get(items) || page["metadata"]["resourceVersion"].get(page_version)) {
                failed("list page without items or metadata.resourceVersion", "listing again");
                return false;
            }
            detail::read_optional(page["metadata"]["continue"], next);
            for (simdjson::dom::element item : items) {
                sink_.upsert(item);
                ++objects;
            }
            ++pages;
            version = page_version;
            continue_token = next;
            if (continue_token.empty())
                break;
        }
        sink_.list_done();
        {
            std::lock_guard lock(mutex_);
            resource_version_ = version;
        }
        ++counters_.lists;
        say(fmt::format("listed {} objects in {} pages at resourceVersion {}", objects, pages, version));
        return true;
    }

    WatchEnd watch() {
        std::uniform_real_distribution<double> stretch(1.0, 2.0);
        const auto timeout = static_cast<long>(static_cast<double>(options_.watch_timeout.count()) * stretch(random_));
        const std::string from = resource_version();
        const std::string path =
            fmt::format("{}?watch=1&allowWatchBookmarks=true&resourceVersion={}&timeoutSeconds={}{}",
                        resource_.collection_path(), escape(from), timeout, query_selector());
        ++counters_.watches;
        const auto started = std::chrono::steady_clock::now();
        std::string pending; // the incomplete last line
        std::optional<WatchEnd> verdict;
        std::size_t delivered = 0;
        const ApiResponse response = client_.stream(
            path,
            [&](std::string_view data) {
                pending.append(data);
                std::size_t start = 0;
                for (std::size_t end; (end = pending.find('\n', start)) != std::string::npos; start = end + 1) {
                    if (end == start)
                        continue;
                    verdict = handle_event(std::string_view(pending).substr(start, end - start));
                    if (verdict)
                        return false;
                    ++delivered;
                }
                pending.erase(0, start);
                return true;
            },
            stopping_, options_.idle_limit);
        if (stopping_)
            return WatchEnd::stopped;
        if (verdict)
            return *verdict;
        if (delivered > 0)
            backoff_ = options_.initial_backoff;
        const std::string at = fmt::format("resourceVersion {}", resource_version());
        if (response.status == 410) {
            say(fmt::format("watch from {} refused ({}); listing again", from,
                            detail::status_text(response.status, response.body)));
            return WatchEnd::gone;
        }
        if (response.idle) {
            failed(fmt::format("watch silent for {} (not even a bookmark)", detail::seconds_text(options_.idle_limit)),
                   fmt::format("reconnecting from {}", at));
            return WatchEnd::failed;
        }
        if (!response.transport.empty()) {
            const std::string cut = pending.empty() ? "" : fmt::format(", {} bytes of an unfinished event lost", pending.size());
            failed(fmt::format("watch dropped ({}{})", response.transport, cut), fmt::format("resuming from {}", at));
            return WatchEnd::failed;
        }
        if (!response.ok()) {
            failed(fmt::format("watch refused ({})", detail::status_text(response.status, response.body)),
                   fmt::format("retrying from {}", at));
            return WatchEnd::failed;
        }
        if (!pending.empty()) {
            failed(fmt::format("watch ended inside an event ({} bytes without a newline)", pending.size()),
                   fmt::format("resuming from {}", at));
            return WatchEnd::failed;
        }
        // A stream that ends at once with nothing in it is no timeout (a proxy
        // closing it, say); reconnecting at once would spin.
        if (delivered == 0 && std::chrono::steady_clock::now() - started < std::chrono::milliseconds(500)) {
            failed("watch ended at once without an event", fmt::format("reconnecting from {}", at));
            return WatchEnd::failed;
        }
        ++counters_.server_timeouts;
        return WatchEnd::server_timeout;
    }

    // One event line; a verdict ends the watch.
    std::optional<WatchEnd> handle_event(std::string_view line) {
        const auto at = [&] { return fmt::format("resuming from resourceVersion {}", resource_version()); };
        simdjson::dom::element event;
        std::string_view type;
        simdjson::dom::element object;
        const auto error = parser_.parse(line.data(), line.size()).get(event);
        if (error || event["type"].get(type) || event["object"].get(object)) {
            const std::string why = error ? simdjson::error_message(error) : "no type or object";
            failed(fmt::format("malformed watch event ({}): {:.120}", why, line), at());
            return WatchEnd::failed;
        }
        if (type == "ERROR") {
            std::int64_t code = 0;
            std::string_view message;
            detail::read_optional(object["code"], code);
            detail::read_optional(object["message"], message);
            if (code == 410) {
                say(fmt::format("watch from resourceVersion {} is gone (410: {}); listing again", resource_version(),
                                message));
                return WatchEnd::gone;
            }
            failed(fmt::format("watch error event ({}: {})", code, message), at());
            return WatchEnd::failed;
        }
        std::string_view version;
        if (object["metadata"]["resourceVersion"].get(version)) {
            failed(fmt::format("watch event without metadata.resourceVersion: {:.120}", line), at());
            return WatchEnd::failed;
        }
        if (type == "ADDED" || type == "MODIFIED") {
            sink_.upsert(object);
            ++counters_.events;
        } else if (type == "DELETED") {
            sink_.remove(object);
            ++counters_.events;
        } else if (type == "BOOKMARK") {
            ++counters_.bookmarks;
        } else {
            failed(fmt::format("unknown watch event type {:?}", type), at());
            return WatchEnd::failed;
        }
        std::lock_guard lock(mutex_);
        resource_version_ = version;
        return std::nullopt;
    }

    ApiClient client_;
    Resource resource_;
    WatchSink& sink_;
    ReflectorOptions options_;
    LogFn log_;
    std::mt19937_64 random_;
    simdjson::dom::parser parser_;
    ReflectorCounters counters_;
    std::chrono::milliseconds backoff_ = options_.initial_backoff;
    std::chrono::milliseconds pending_pause_{0};

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<bool> stopping_{false};
    std::string resource_version_;
};

} // namespace kpr::k8s::api
