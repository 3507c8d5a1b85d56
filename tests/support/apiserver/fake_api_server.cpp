// The API server stand-in: routing, authentication, lists, watch streams and
// the faults tests inject.
#include "apiserver/fake_api_server.hpp"

#include <httplib.h>
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "testbed/command.hpp"

namespace kpr::testbed::apiserver {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

TestCertificates TestCertificates::generate(const fs::path& dir) {
    fs::create_directories(dir);
    TestCertificates c{dir,
                       dir / "ca.crt",
                       dir / "server.crt",
                       dir / "server.key",
                       dir / "client.crt",
                       dir / "client.key"};
    const auto key = [](const fs::path& path) {
        run({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out",
             path.string()});
    };
    const fs::path ca_key = dir / "ca.key";
    key(ca_key);
    run({"openssl", "req", "-x509", "-new", "-key", ca_key.string(), "-subj", "/CN=kpr-test-ca", "-days", "2",
         "-out", c.ca_cert.string()});
    const auto sign = [&](const fs::path& key_path, const fs::path& cert, const std::string& subject,
                          const std::string& extensions) {
        const fs::path csr = cert.string() + ".csr";
        const fs::path ext = cert.string() + ".ext";
        std::ofstream(ext) << extensions;
        run({"openssl", "req", "-new", "-key", key_path.string(), "-subj", subject, "-out", csr.string()});
        run({"openssl", "x509", "-req", "-in", csr.string(), "-CA", c.ca_cert.string(), "-CAkey", ca_key.string(),
             "-CAcreateserial", "-days", "2", "-extfile", ext.string(), "-out", cert.string()});
    };
    key(c.server_key);
    sign(c.server_key, c.server_cert, "/CN=kube-apiserver",
         "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    key(c.client_key);
    sign(c.client_key, c.client_cert, "/CN=kpr-agent/O=kpr", "extendedKeyUsage=clientAuth\n");
    return c;
}

namespace {

// The stand-in's own table of the resources it serves, as kube-apiserver
// routes them (independent of kpr's descriptors, which it tests).
struct Route {
    std::string_view plural, kind, group, version;
};
constexpr Route routes[] = {
    {"services", "Service", "", "v1"},
    {"endpointslices", "EndpointSlice", "discovery.k8s.io", "v1"},
    {"pods", "Pod", "", "v1"},
    {"namespaces", "Namespace", "", "v1"},
    {"networkpolicies", "NetworkPolicy", "networking.k8s.io", "v1"},
    {"nodes", "Node", "", "v1"},
};

const Route& route_of(std::string_view plural) {
    for (const auto& r : routes)
        if (r.plural == plural)
            return r;
    throw std::invalid_argument(fmt::format("the stand-in serves no resource {:?}", plural));
}

std::string api_version(const Route& r) {
    return r.group.empty() ? std::string(r.version) : fmt::format("{}/{}", r.group, r.version);
}

std::string status_json(int code, std::string_view reason, std::string_view message) {
    return fmt::format(R"({{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure","message":{:?},"reason":"{}","code":{}}})",
                       message, reason, code);
}

std::string_view reason_of(int status) {
    switch (status) {
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 410: return "Expired";
    case 500: return "InternalError";
    default: return "BadRequest";
    }
}

// The object as a watch event carries it: kind and apiVersion first.
std::string with_kind(const Route& r, const std::string& json) {
    return fmt::format(R"({{"kind":"{}","apiVersion":"{}",{})", r.kind, api_version(r), std::string_view(json).substr(1));
}

std::string event_line(std::string_view type, const std::string& object) {
    return fmt::format(R"({{"type":"{}","object":{}}})", type, object) + "\n";
}

} // namespace

struct FakeApiServer::Served {
    const Route* route;
    std::string resource_version;
    std::size_t limit = 0;
    std::string continue_token;
    std::chrono::seconds timeout{1800};
    bool bookmarks = false;
    std::string node_name; // fieldSelector spec.nodeName=
};

FakeApiServer::FakeApiServer(const TestCertificates& certificates, ServerOptions options)
    : certificates_(certificates), options_(std::move(options)) {
    start();
}

FakeApiServer::~FakeApiServer() { stop(); }

std::string FakeApiServer::url() const { return fmt::format("https://127.0.0.1:{}", port_); }

void FakeApiServer::write_kubeconfig(const fs::path& path) const {
    std::string user = options_.require_client_certificate
                           ? fmt::format("    client-certificate: {}\n    client-key: {}\n",
                                         certificates_.client_cert.string(), certificates_.client_key.string())
                           : fmt::format("    token: {}\n", options_.tokens.front());
    std::ofstream out(path);
    out << fmt::format("apiVersion: v1\nkind: Config\ncurrent-context: test\n"
                       "clusters:\n- name: stand-in\n  cluster:\n    server: {}\n    certificate-authority: {}\n"
                       "contexts:\n- name: test\n  context:\n    cluster: stand-in\n    user: agent\n"
                       "users:\n- name: agent\n  user:\n{}",
                       url(), certificates_.ca_cert.string(), user);
    if (!out.flush())
        throw std::runtime_error(fmt::format("cannot write {}", path.string()));
}

void FakeApiServer::start() {
    auto server = options_.require_client_certificate
                      ? std::make_unique<httplib::SSLServer>(certificates_.server_cert.c_str(),
                                                             certificates_.server_key.c_str(),
                                                             certificates_.ca_cert.c_str())
                      : std::make_unique<httplib::SSLServer>(certificates_.server_cert.c_str(),
                                                             certificates_.server_key.c_str());
    if (!server->is_valid())
        throw std::runtime_error("the API server stand-in cannot load its certificates");
    server->new_task_queue = [] { return new httplib::ThreadPool(32); };
    server->set_keep_alive_timeout(1);
    server->Get(R"(/api/v1/([a-z]+))", [this](const httplib::Request& q, httplib::Response& r) {
        handle(q, r, q.matches[1].str());
    });
    server->Get(R"(/apis/([a-z0-9.-]+)/([a-z0-9]+)/([a-z]+))", [this](const httplib::Request& q, httplib::Response& r) {
        const std::string plural = q.matches[3].str();
        const auto known = std::find_if(std::begin(routes), std::end(routes), [&](const Route& route) {
            return route.plural == plural && route.group == q.matches[1].str() && route.version == q.matches[2].str();
        });
        if (known == std::end(routes)) {
            r.status = 404;
            r.set_content(status_json(404, "NotFound", "the server could not find the requested resource"),
                          "application/json");
            return;
        }
        handle(q, r, plural);
    });
    if (port_ == 0)
        port_ = server->bind_to_any_port("127.0.0.1");
    else if (!server->bind_to_port("127.0.0.1", port_))
        throw std::runtime_error(fmt::format("the API server stand-in cannot listen on port {} again", port_));
    if (port_ <= 0)
        throw std::runtime_error("the API server stand-in cannot listen on 127.0.0.1");
    {
        std::lock_guard lock(mutex_);
        stopping_ = false;
    }
    server_ = std::move(server);
    thread_ = std::thread([s = server_.get()] { s->listen_after_bind(); });
}

void FakeApiServer::stop() {
    if (!server_)
        return;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    server_->stop();
    thread_.join();
    server_.reset();
}

void FakeApiServer::restart(std::uint64_t rv_jump, bool keep_history) {
    stop();
    {
        std::lock_guard lock(mutex_);
        rv_ += rv_jump;
        if (!keep_history) {
            events_.clear();
            compacted_ = rv_;
            snapshots_.clear();
        }
    }
    start();
}

std::shared_ptr<const FakeApiServer::Stored> FakeApiServer::store(std::string_view plural, std::string_view json) {
    simdjson::dom::parser parser;
    const std::string text(json);
    simdjson::dom::element doc;
    std::string_view name, namespace_ = "", node;
    if (parser.parse(text).get(doc) || doc["metadata"]["name"].get(name))
        throw std::invalid_argument(fmt::format("not an object with metadata.name: {}", json));
    if (doc["metadata"]["namespace"].get(namespace_))
        namespace_ = "";
    if (doc["spec"]["nodeName"].get(node))
        node = "";
    const std::uint64_t rv = ++rv_;
    auto stored = std::make_shared<Stored>();
    stored->rv = rv;
    stored->bare = text;
    stored->json = text;
    const auto at = stored->json.find(R"("metadata":{)");
    stored->json.insert(at + 12, fmt::format(R"("resourceVersion":"{}",)", rv));
    stored->node_name = node;
    auto& objects = objects_[std::string(plural)];
    const std::string key = fmt::format("{}/{}", namespace_, name);
    const bool fresh = !objects.contains(key);
    objects[key] = stored;
    record_event(plural, fresh ? "ADDED" : "MODIFIED", *stored);
    return stored;
}

std::uint64_t FakeApiServer::put(std::string_view plural, std::string_view json) {
    route_of(plural);
    std::uint64_t rv;
    {
        std::lock_guard lock(mutex_);
        rv = store(plural, json)->rv;
    }
    changed_.notify_all();
    return rv;
}

void FakeApiServer::put_all(std::string_view plural, const std::vector<std::string>& jsons) {
    route_of(plural);
    {
        std::lock_guard lock(mutex_);
        for (const auto& json : jsons)
            store(plural, json);
    }
    changed_.notify_all();
}

bool FakeApiServer::remove(std::string_view plural, std::string_view namespace_, std::string_view name) {
    {
        std::lock_guard lock(mutex_);
        auto& objects = objects_[std::string(plural)];
        const auto it = objects.find(fmt::format("{}/{}", namespace_, name));
        if (it == objects.end())
            return false;
        Stored gone = *it->second;
        objects.erase(it);
        gone.rv = ++rv_;
        gone.json = gone.bare;
        gone.json.insert(gone.json.find(R"("metadata":{)") + 12, fmt::format(R"("resourceVersion":"{}",)", gone.rv));
        record_event(plural, "DELETED", gone);
    }
    changed_.notify_all();
    return true;
}

void FakeApiServer::record_event(std::string_view plural, std::string_view type, const Stored& object) {
    const Route& r = route_of(plural);
    events_.push_back({object.rv, std::string(plural), event_line(type, with_kind(r, object.json)), object.node_name});
    trim_history();
}

void FakeApiServer::trim_history() {
    while (events_.size() > options_.history_limit) {
        compacted_ = events_.front().rv;
        events_.pop_front();
    }
}

std::uint64_t FakeApiServer::resource_version() const {
    std::lock_guard lock(mutex_);
    return rv_;
}

void FakeApiServer::fail_next_requests(std::string_view plural, int status, int count) {
    std::lock_guard lock(mutex_);
    failures_[std::string(plural)] = {status, count};
}

void FakeApiServer::inject(std::string_view plural, EventFault fault) {
    {
        std::lock_guard lock(mutex_);
        faults_[std::string(plural)].push_back(fault);
    }
    changed_.notify_all();
}

void FakeApiServer::stall_watches(std::chrono::milliseconds duration) {
    std::lock_guard lock(mutex_);
    stall_until_ = Clock::now() + duration;
}

void FakeApiServer::bookmark() {
    {
        std::lock_guard lock(mutex_);
        ++bookmark_generation_;
    }
    changed_.notify_all();
}

void FakeApiServer::compact() {
    std::lock_guard lock(mutex_);
    events_.clear();
    compacted_ = rv_;
    snapshots_.clear();
}

std::vector<std::string> FakeApiServer::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

std::size_t FakeApiServer::count_requests(std::string_view text) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(std::count_if(requests_.begin(), requests_.end(), [&](const std::string& r) {
        return r.find(text) != std::string::npos;
    }));
}

std::size_t FakeApiServer::open_watches() const {
    std::lock_guard lock(mutex_);
    return open_watches_;
}

void FakeApiServer::handle(const httplib::Request& q, httplib::Response& r, std::string_view plural) {
    const auto fail = [&](int status, std::string_view message) {
        r.status = status;
        r.set_content(status_json(status, reason_of(status), message), "application/json");
    };
    std::string query;
    for (const auto& [k, v] : q.params)
        query += fmt::format("{}{}={}", query.empty() ? "?" : "&", k, v);
    {
        std::lock_guard lock(mutex_);
        requests_.push_back(q.path + query);
        if (auto f = failures_.find(plural); f != failures_.end() && f->second.second > 0) {
            --f->second.second;
            const int status = f->second.first;
            fail(status, status == 410 ? "too old resource version" : fmt::format("injected failure {}", status));
            return;
        }
    }
    if (!options_.require_client_certificate) {
        const std::string auth = q.get_header_value("Authorization");
        if (std::none_of(options_.tokens.begin(), options_.tokens.end(),
                         [&](const std::string& t) { return auth == "Bearer " + t; }))
            return fail(401, "Unauthorized");
    }
    Served s;
    s.route = &route_of(plural);
    s.resource_version = q.get_param_value("resourceVersion");
    s.continue_token = q.get_param_value("continue");
    s.bookmarks = q.get_param_value("allowWatchBookmarks") == "true";
    try {
        if (q.has_param("limit"))
            s.limit = std::stoul(q.get_param_value("limit"));
        if (q.has_param("timeoutSeconds"))
            s.timeout = std::chrono::seconds(std::stol(q.get_param_value("timeoutSeconds")));
    } catch (const std::exception&) {
        return fail(400, "limit and timeoutSeconds must be integers");
    }
    if (q.has_param("fieldSelector")) {
        const std::string selector = q.get_param_value("fieldSelector");
        constexpr std::string_view node_prefix = "spec.nodeName=";
        if (plural != "pods" || !selector.starts_with(node_prefix))
            return fail(400, fmt::format("field label not supported: {}", selector));
        s.node_name = selector.substr(node_prefix.size());
    }
    const std::string watch = q.get_param_value("watch");
    if (watch == "1" || watch == "true")
        serve_watch(s, r);
    else
        serve_list(s, r);
}

void FakeApiServer::serve_list(const Served& s, httplib::Response& r) {
    std::lock_guard lock(mutex_);
    Snapshot snapshot;
    std::uint64_t id = 0;
    std::size_t offset = 0;
    if (!s.continue_token.empty()) {
        unsigned long long parsed_id = 0, parsed_offset = 0;
        const bool parsed = std::sscanf(s.continue_token.c_str(), "snap-%llu-%llu", &parsed_id, &parsed_offset) == 2;
        const auto it = parsed ? snapshots_.find(parsed_id) : snapshots_.end();
        if (it == snapshots_.end() || it->second.rv < compacted_) {
            r.status = 410;
            r.set_content(status_json(410, "Expired",
                                      "The provided continue parameter is too old to display a consistent list "
                                      "result. You can start a new list without the continue parameter."),
                          "application/json");
            return;
        }
        id = parsed_id;
        offset = parsed_offset;
        snapshot = it->second;
    } else {
        snapshot.rv = rv_;
        for (const auto& [key, object] : objects_[std::string(s.route->plural)])
            if (s.node_name.empty() || object->node_name == s.node_name)
                snapshot.items.push_back(object);
    }
    const std::size_t end = s.limit == 0 ? snapshot.items.size() : std::min(snapshot.items.size(), offset + s.limit);
    std::string metadata = fmt::format(R"("resourceVersion":"{}")", snapshot.rv);
    if (end < snapshot.items.size()) {
        if (id == 0) {
            id = next_snapshot_++;
            snapshots_[id] = snapshot;
        }
        metadata += fmt::format(R"(,"continue":"snap-{}-{}","remainingItemCount":{})", id, end,
                                snapshot.items.size() - end);
    } else if (id != 0) {
        snapshots_.erase(id);
    }
    std::string body = fmt::format(R"({{"kind":"{}List","apiVersion":"{}","metadata":{{{}}},"items":[)",
                                   s.route->kind, api_version(*s.route), metadata);
    for (std::size_t i = offset; i < end; ++i) {
        if (i != offset)
            body += ',';
        body += snapshot.items[i]->json;
    }
    body += "]}";
    r.set_content(std::move(body), "application/json");
}

void FakeApiServer::serve_watch(const Served& s, httplib::Response& r) {
    struct WatchState {
        std::uint64_t cursor = 0;
        Clock::time_point deadline;
        Clock::time_point next_bookmark;
        std::uint64_t bookmarks_seen = 0;
        std::vector<std::string> initial; // ADDED events for a watch without a resourceVersion
        bool gone = false;
        std::uint64_t id = 0;
    };
    auto st = std::make_shared<WatchState>();
    {
        std::lock_guard lock(mutex_);
        ++open_watches_;
        st->id = ++latest_watch_[std::string(s.route->plural)];
        st->deadline = Clock::now() + s.timeout;
        st->bookmarks_seen = bookmark_generation_;
        st->next_bookmark = Clock::now() + options_.bookmark_interval;
        if (s.resource_version.empty() || s.resource_version == "0") {
            st->cursor = rv_;
            for (const auto& [key, object] : objects_[std::string(s.route->plural)])
                if (s.node_name.empty() || object->node_name == s.node_name)
                    st->initial.push_back(event_line("ADDED", with_kind(*s.route, object->json)));
        } else {
            try {
                st->cursor = std::stoull(s.resource_version);
            } catch (const std::exception&) {
                st->cursor = 0;
            }
            st->gone = st->cursor < compacted_;
        }
    }
    const Route route = *s.route;
    const std::string node = s.node_name;
    const bool bookmarks = s.bookmarks;
    r.set_chunked_content_provider(
        "application/json",
        [this, st, route, node, bookmarks](std::size_t, httplib::DataSink& sink) {
            std::vector<std::string> out;
            bool end_after = false;
            std::optional<std::string> cut; // written, then the connection drops
            {
                std::unique_lock lock(mutex_);
                for (;;) {
                    if (stopping_)
                        return false;
                    const auto now = Clock::now();
                    if (now >= st->deadline) {
                        lock.unlock();
                        sink.done();
                        return true;
                    }
                    if (now < stall_until_) {
                        changed_.wait_for(lock, std::chrono::milliseconds(20));
                        continue;
                    }
                    if (!st->initial.empty()) {
                        out = std::exchange(st->initial, {});
                        break;
                    }
                    const auto gone_line = [&](std::uint64_t from) {
                        return event_line("ERROR", status_json(410, "Expired",
                                                               fmt::format("too old resource version: {} ({})", from,
                                                                           compacted_)));
                    };
                    if (st->gone || st->cursor < compacted_) {
                        out.push_back(gone_line(st->cursor));
                        end_after = true;
                        break;
                    }
                    // Only the newest watch of the resource takes faults: an
                    // older one may belong to a connection the client dropped.
                    std::deque<EventFault> no_faults;
                    auto& faults = st->id == latest_watch_[std::string(route.plural)]
                                       ? faults_[std::string(route.plural)]
                                       : no_faults;
                    const auto first = std::upper_bound(events_.begin(), events_.end(), st->cursor,
                                                        [](std::uint64_t rv, const Event& e) { return rv < e.rv; });
                    auto pending = std::find_if(first, events_.end(), [&](const Event& e) {
                        return e.plural == route.plural && (node.empty() || e.node_name == node);
                    });
                    if (!faults.empty()) {
                        const EventFault fault = faults.front();
                        if (fault == EventFault::gone || fault == EventFault::malformed_event) {
                            faults.pop_front();
                            out.push_back(fault == EventFault::gone ? gone_line(st->cursor)
                                                                     : std::string("{\"type\":\"ADDED\",\"object\":{oops\n"));
                            end_after = fault == EventFault::gone;
                            break;
                        }
                        if (pending != events_.end()) {
                            faults.pop_front();
                            const std::string half = pending->line.substr(0, pending->line.size() / 2);
                            if (fault == EventFault::drop_mid_event) {
                                cut = half;
                            } else {
                                out.push_back(half + "\n");
                                st->cursor = pending->rv;
                            }
                            break;
                        }
                    }
                    for (; pending != events_.end(); ++pending) {
                        if (pending->plural != route.plural || (!node.empty() && pending->node_name != node))
                            continue;
                        out.push_back(pending->line);
                        st->cursor = pending->rv;
                        if (out.size() >= 1000)
                            break;
                    }
                    if (!out.empty())
                        break;
                    const bool interval_due = options_.bookmark_interval.count() > 0 && now >= st->next_bookmark;
                    if (bookmarks && (st->bookmarks_seen != bookmark_generation_ || interval_due)) {
                        st->bookmarks_seen = bookmark_generation_;
                        st->next_bookmark = now + options_.bookmark_interval;
                        // Every event of this resource up to now has been sent.
                        st->cursor = std::max(st->cursor, rv_);
                        out.push_back(event_line(
                            "BOOKMARK", fmt::format(R"({{"kind":"{}","apiVersion":"{}","metadata":{{"resourceVersion":"{}"}}}})",
                                                    route.kind, api_version(route), st->cursor)));
                        break;
                    }
                    changed_.wait_for(lock, std::chrono::milliseconds(50));
                }
            }
            if (cut) {
                sink.write(cut->data(), cut->size());
                return false;
            }
            std::string text;
            for (const auto& line : out)
                text += line;
            if (!sink.write(text.data(), text.size()))
                return false;
            if (end_after)
                sink.done();
            return true;
        },
        [this](bool) {
            std::lock_guard lock(mutex_);
            --open_watches_;
        });
}

} // namespace kpr::testbed::apiserver
