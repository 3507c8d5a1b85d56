// A stand-in for kube-apiserver, for tests and benchmarks: HTTPS on
// 127.0.0.1 (a port of its own choosing) with a test CA, bearer tokens or
// client certificates, and the wire protocol kpr's reflector speaks for
// Services, EndpointSlices, Pods, Namespaces and NetworkPolicies:
//
// - GET <collection>?limit=&continue=   paginated lists served from a
//   snapshot, items without kind/apiVersion, metadata.resourceVersion and
//   continue as kube-apiserver sends them; a continue token older than the
//   compacted history is 410 Expired.
// - GET <collection>?watch=1&resourceVersion=&timeoutSeconds=&allowWatchBookmarks=
//   a chunked stream of {"type":...,"object":...} lines: ADDED, MODIFIED,
//   DELETED, BOOKMARK; a resourceVersion older than the compacted history
//   gets an ERROR event with a 410 Status, as kube-apiserver does. The
//   stream ends cleanly at timeoutSeconds.
// - fieldSelector=spec.nodeName=<node> for Pods.
//
// Faults a test injects (an event fault is taken by the resource's newest
// watch, as a test has one client): the next requests answered with a status (401, 403,
// 500, 410); the next watch event cut in the middle with the connection
// dropped, or cut and followed by a newline (a truncated event), or replaced
// by text that is not JSON; a 410 ERROR event on the open watches; watches
// that stall (send nothing) for a while; history compaction; a restart on
// the same port with a higher resourceVersion.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
} // namespace httplib

namespace kpr::testbed::apiserver {

// A test CA, a server certificate for 127.0.0.1 it signed, and a client
// certificate it signed (CN kpr-agent), made with the openssl command.
struct TestCertificates {
    std::filesystem::path dir;
    std::filesystem::path ca_cert, server_cert, server_key, client_cert, client_key;

    static TestCertificates generate(const std::filesystem::path& dir);
};

enum class EventFault {
    drop_mid_event,   // half an event, then the connection closes
    truncated_event,  // half an event, then a newline: a line that is not JSON
    malformed_event,  // a line that is not JSON at all
    gone,             // an ERROR event with a 410 Status
};

struct ServerOptions {
    std::vector<std::string> tokens{"kpr-test-token"}; // accepted bearer tokens
    bool require_client_certificate = false;           // client certificates instead of tokens
    std::size_t history_limit = 100000;                // events kept for watches; older ones are compacted
    std::chrono::milliseconds bookmark_interval{0};    // periodic bookmarks on open watches; 0: none
};

class FakeApiServer {
  public:
    FakeApiServer(const TestCertificates& certificates, ServerOptions options = {});
    FakeApiServer(const FakeApiServer&) = delete;
    FakeApiServer& operator=(const FakeApiServer&) = delete;
    ~FakeApiServer();

    int port() const { return port_; }
    std::string url() const;
    // A kubeconfig for this server (token or client certificate per the
    // options), written to path.
    void write_kubeconfig(const std::filesystem::path& path) const;

    // Creates or replaces an object (JSON without kind, apiVersion or
    // resourceVersion, as the k8s_json builders make it) of the resource
    // named by its plural ("services"); returns its new resourceVersion.
    std::uint64_t put(std::string_view plural, std::string_view json);
    // Several objects at once, one resourceVersion each, one wake-up.
    void put_all(std::string_view plural, const std::vector<std::string>& jsons);
    // Deletes an object; false when there was none.
    bool remove(std::string_view plural, std::string_view namespace_, std::string_view name);
    std::uint64_t resource_version() const;

    // Faults.
    void fail_next_requests(std::string_view plural, int status, int count);
    void inject(std::string_view plural, EventFault fault);
    void stall_watches(std::chrono::milliseconds duration);
    void bookmark();
    // Forgets all history: every watch or continue token from before now is 410.
    void compact();
    // Stops serving (every connection closes), moves the resourceVersion on
    // by rv_jump (and forgets the history unless keep_history), and serves
    // again on the same port.
    void restart(std::uint64_t rv_jump, bool keep_history);

    // What was asked: each request's path and query, in order.
    std::vector<std::string> requests() const;
    // Requests whose path and query contain text.
    std::size_t count_requests(std::string_view text) const;
    std::size_t open_watches() const;

  private:
    struct Stored {
        std::uint64_t rv;
        std::string bare; // as given
        std::string json; // with metadata.resourceVersion
        std::string node_name;
    };
    struct Event {
        std::uint64_t rv;
        std::string plural;
        std::string line; // the whole {"type":...,"object":...} line with its newline
        std::string node_name;
    };
    struct Snapshot {
        std::uint64_t rv;
        std::vector<std::shared_ptr<const Stored>> items;
    };
    struct Served;

    void start();
    void stop();
    void handle(const httplib::Request& request, httplib::Response& response, std::string_view plural);
    void serve_list(const Served& s, httplib::Response& response);
    void serve_watch(const Served& s, httplib::Response& response);
    std::shared_ptr<const Stored> store(std::string_view plural, std::string_view json);
    void record_event(std::string_view plural, std::string_view type, const Stored& object);
    void trim_history();

    TestCertificates certificates_;
    ServerOptions options_;
    int port_ = 0;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool stopping_ = false;
    std::uint64_t rv_ = 1000;
    std::uint64_t compacted_ = 0; // watches from before this are 410
    std::map<std::string, std::map<std::string, std::shared_ptr<const Stored>>, std::less<>> objects_;
    std::deque<Event> events_;
    std::map<std::string, std::deque<EventFault>, std::less<>> faults_; // taken by the newest watch
    std::map<std::string, std::uint64_t, std::less<>> latest_watch_;
    std::map<std::string, std::pair<int, int>, std::less<>> failures_; // plural -> (status, count)
    std::chrono::steady_clock::time_point stall_until_{};
    std::uint64_t bookmark_generation_ = 0;
    std::map<std::uint64_t, Snapshot> snapshots_;
    std::uint64_t next_snapshot_ = 1;
    std::vector<std::string> requests_;
    std::size_t open_watches_ = 0;
};

} // namespace kpr::testbed::apiserver
