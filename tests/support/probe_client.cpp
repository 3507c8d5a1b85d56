// kpr-test-client: the client side of the kernel tests. It joins a test's
// cgroup (so cgroup BPF programs apply to it) and a pod's network namespace,
// then connects or sends the way an application would and prints what it saw
// as "key value..." lines. Every socket operation gives up after a timeout
// (two seconds unless --timeout-ms says otherwise), so a broken or denying
// datapath shows up as an error line, never as a hung test. The reach mode
// probes many targets at once, one thread each, so a whole row of a policy
// matrix costs one timeout rather than one per denied target. The
// north-south tests add udp-flows (one datagram from each of many fixed
// source ports, so the same flows can be replayed after a change) and
// http-get (a health check's status line and body).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "testbed/unique_fd.hpp"

namespace {

using kpr::testbed::UniqueFd;
using Clock = std::chrono::steady_clock;

// Set once from --timeout-ms before any socket is opened.
std::chrono::milliseconds operation_timeout{2000};
constexpr int exit_usage = 2;
constexpr int exit_setup_failed = 1;

// What went wrong: an errno name such as "ECONNREFUSED", or "EOF" when the
// peer closed before answering. nullopt means the step succeeded.
using Failure = std::optional<std::string>;

std::string errno_name(int error) {
    const char* name = ::strerrorname_np(error);
    return name != nullptr ? name : fmt::format("E{}", error);
}

Failure last_error() {
    return errno_name(errno);
}

Clock::time_point deadline_from_now() {
    return Clock::now() + operation_timeout;
}

struct Target {
    sockaddr_storage address{};
    socklen_t length = 0;
    int family = AF_UNSPEC;
};

std::optional<Target> parse_target(const std::string& text, std::uint16_t port, bool v4mapped) {
    Target target;
    in_addr v4{};
    in6_addr v6{};
    if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
        if (!v4mapped) {
            auto& sin = reinterpret_cast<sockaddr_in&>(target.address);
            sin.sin_family = AF_INET;
            sin.sin_addr = v4;
            sin.sin_port = htons(port);
            target.length = sizeof sin;
            target.family = AF_INET;
            return target;
        }
        v6.s6_addr[10] = 0xff;
        v6.s6_addr[11] = 0xff;
        std::memcpy(&v6.s6_addr[12], &v4, sizeof v4);
    } else if (v4mapped || ::inet_pton(AF_INET6, text.c_str(), &v6) != 1) {
        return std::nullopt;
    }
    auto& sin6 = reinterpret_cast<sockaddr_in6&>(target.address);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = v6;
    sin6.sin6_port = htons(port);
    target.length = sizeof sin6;
    target.family = AF_INET6;
    return target;
}

bool is_loopback(const Target& target) {
    if (target.family == AF_INET) {
        const auto& sin = reinterpret_cast<const sockaddr_in&>(target.address);
        return (ntohl(sin.sin_addr.s_addr) >> 24) == 127;
    }
    const auto& addr = reinterpret_cast<const sockaddr_in6&>(target.address).sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(&addr) || (IN6_IS_ADDR_V4MAPPED(&addr) && addr.s6_addr[12] == 127);
}

// "10.0.0.1:80" or "[fd00::1]:80", as the socket API reported it.
std::string format_address(const sockaddr_storage& address) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (address.ss_family == AF_INET) {
        const auto& sin = reinterpret_cast<const sockaddr_in&>(address);
        ::inet_ntop(AF_INET, &sin.sin_addr, text, sizeof text);
        return fmt::format("{}:{}", text, ntohs(sin.sin_port));
    }
    if (address.ss_family == AF_INET6) {
        const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(address);
        ::inet_ntop(AF_INET6, &sin6.sin6_addr, text, sizeof text);
        return fmt::format("[{}]:{}", text, ntohs(sin6.sin6_port));
    }
    return fmt::format("family{}", address.ss_family);
}

// Waits until fd is ready for events; ETIMEDOUT when the deadline passes first.
Failure wait_ready(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
            return errno_name(ETIMEDOUT);
        pollfd p{fd, events, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left));
        if (ready > 0)
            return std::nullopt;
        if (ready < 0 && errno != EINTR)
            return last_error();
    }
}

class Socket {
  public:
    Socket(int family, int type) : fd_(::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {}

    Failure open_failure() const { return fd_ ? Failure{} : last_error(); }

    Failure connect(const Target& target) {
        if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&target.address),
                      target.length) == 0)
            return std::nullopt;
        if (errno != EINPROGRESS)
            return last_error();
        if (auto failure = wait_ready(fd_.get(), POLLOUT, deadline_from_now()))
            return failure;
        int error = 0;
        socklen_t length = sizeof error;
        if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0)
            return last_error();
        return error == 0 ? Failure{} : errno_name(error);
    }

    Failure bind(const Target& target) {
        if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&target.address), target.length) != 0)
            return last_error();
        return std::nullopt;
    }

    Failure peer(std::string& formatted) const {
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        if (::getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
            return last_error();
        formatted = format_address(address);
        return std::nullopt;
    }

    // Sends on a connected socket, or to target when one is given.
    Failure send(std::string_view data, const Target* target = nullptr) {
        const auto deadline = deadline_from_now();
        while (!data.empty()) {
            const ssize_t n =
                target == nullptr
                    ? ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL)
                    : ::sendto(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL,
                               reinterpret_cast<const sockaddr*>(&target->address), target->length);
            if (n >= 0) {
                data.remove_prefix(static_cast<std::size_t>(n));
            } else if (errno == EAGAIN) {
                if (auto failure = wait_ready(fd_.get(), POLLOUT, deadline))
                    return failure;
            } else if (errno != EINTR) {
                return last_error();
            }
        }
        return std::nullopt;
    }

    // One line of a stream, without its newline.
    Failure read_line(std::string& line) {
        const auto deadline = deadline_from_now();
        for (;;) {
            if (const auto newline = unread_.find('\n'); newline != std::string::npos) {
                line = unread_.substr(0, newline);
                unread_.erase(0, newline + 1);
                return std::nullopt;
            }
            char buffer[512];
            const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
            if (n > 0)
                unread_.append(buffer, static_cast<std::size_t>(n));
            else if (n == 0)
                return "EOF";
            else if (errno == EAGAIN) {
                if (auto failure = wait_ready(fd_.get(), POLLIN, deadline))
                    return failure;
            } else if (errno != EINTR)
                return last_error();
        }
    }

    // Everything the peer sends until it closes.
    Failure read_all(std::string& text) {
        const auto deadline = deadline_from_now();
        for (;;) {
            char buffer[2048];
            const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
            if (n > 0)
                text.append(buffer, static_cast<std::size_t>(n));
            else if (n == 0)
                return std::nullopt;
            else if (errno == EAGAIN) {
                if (auto failure = wait_ready(fd_.get(), POLLIN, deadline))
                    return failure;
            } else if (errno != EINTR)
                return last_error();
        }
    }

    // One datagram and the address recvfrom reported for it.
    Failure receive(std::string& payload, std::string& source) {
        const auto deadline = deadline_from_now();
        for (;;) {
            char buffer[2048];
            sockaddr_storage from{};
            socklen_t length = sizeof from;
            const ssize_t n = ::recvfrom(fd_.get(), buffer, sizeof buffer, 0,
                                         reinterpret_cast<sockaddr*>(&from), &length);
            if (n >= 0) {
                payload.assign(buffer, static_cast<std::size_t>(n));
                while (!payload.empty() && payload.back() == '\n')
                    payload.pop_back();
                source = format_address(from);
                return std::nullopt;
            }
            if (errno == EAGAIN) {
                if (auto failure = wait_ready(fd_.get(), POLLIN, deadline))
                    return failure;
            } else if (errno != EINTR) {
                return last_error();
            }
        }
    }

  private:
    UniqueFd fd_;
    std::string unread_;
};

// Counts per distinct outcome; every attempt adds exactly one response or error.
struct Tally {
    std::map<std::string, int> responses;
    std::map<std::string, int> peers;
    std::map<std::string, int> sources;
    std::map<std::string, int> errors;

    void print() const {
        for (const auto& [name, n] : responses)
            fmt::print("response {} {}\n", name, n);
        for (const auto& [peer, n] : peers)
            fmt::print("peer {} {}\n", peer, n);
        for (const auto& [source, n] : sources)
            fmt::print("source {} {}\n", source, n);
        for (const auto& [error, n] : errors)
            fmt::print("error {} {}\n", error, n);
        fmt::print("done\n");
    }
};

Failure tcp_exchange(const Target& target, Tally& tally) {
    Socket socket(target.family, SOCK_STREAM);
    if (auto failure = socket.open_failure())
        return failure;
    if (auto failure = socket.connect(target))
        return failure;
    std::string peer;
    if (auto failure = socket.peer(peer))
        return failure;
    ++tally.peers[peer];
    if (auto failure = socket.send("hello\n"))
        return failure;
    std::string name;
    if (auto failure = socket.read_line(name))
        return failure;
    ++tally.responses[name];
    return std::nullopt;
}

int run_tcp(const Target& target, int count) {
    Tally tally;
    for (int i = 0; i < count; ++i)
        if (auto failure = tcp_exchange(target, tally))
            ++tally.errors[*failure];
    tally.print();
    return 0;
}

Failure udp_exchange(Socket& socket, const Target* destination, Tally& tally) {
    if (auto failure = socket.send("hello\n", destination))
        return failure;
    std::string name;
    std::string source;
    if (auto failure = socket.receive(name, source))
        return failure;
    ++tally.responses[name];
    ++tally.sources[source];
    return std::nullopt;
}

int run_udp(const Target& target, int count) {
    Tally tally;
    Socket socket(target.family, SOCK_DGRAM);
    for (int i = 0; i < count; ++i) {
        Failure failure = socket.open_failure();
        if (!failure)
            failure = udp_exchange(socket, &target, tally);
        if (failure)
            ++tally.errors[*failure];
    }
    tally.print();
    return 0;
}

int run_udp_connected(const Target& target, int count) {
    Tally tally;
    Socket socket(target.family, SOCK_DGRAM);
    Failure setup = socket.open_failure();
    if (!setup)
        setup = socket.connect(target);
    std::string peer;
    if (!setup)
        setup = socket.peer(peer);
    if (setup) {
        // Without a connected socket no attempt can run: all of them failed.
        tally.errors[*setup] += count;
    } else {
        fmt::print("peer {}\n", peer);
        for (int i = 0; i < count; ++i)
            if (auto failure = udp_exchange(socket, nullptr, tally))
                ++tally.errors[*failure];
    }
    tally.print();
    return 0;
}

// One long-lived connection (TCP) or connected socket (UDP), pinged on
// command: each ping is one request and its answer on the same flow.
int run_hold(const Target& target, const std::string& protocol) {
    const bool tcp = protocol == "tcp";
    Socket socket(target.family, tcp ? SOCK_STREAM : SOCK_DGRAM);
    Failure failure = socket.open_failure();
    if (!failure)
        failure = socket.connect(target);
    std::string peer;
    if (!failure)
        failure = socket.peer(peer);
    if (failure) {
        fmt::print("error {}\n", *failure);
        return 0;
    }
    fmt::print("connected peer={}\n", peer);
    for (std::string command; std::getline(std::cin, command);) {
        if (command == "quit")
            return 0;
        if (command != "ping") {
            fmt::print(stderr, "kpr-test-client: unknown command \"{}\" (ping, quit)\n", command);
            return exit_usage;
        }
        std::string name;
        std::string source;
        Failure ping = socket.send("ping\n");
        if (!ping)
            ping = tcp ? socket.read_line(name) : socket.receive(name, source);
        if (!ping)
            ping = socket.peer(peer);
        if (ping)
            fmt::print("error {}\n", *ping);
        else
            fmt::print("pong {} peer={}\n", name, peer);
    }
    return 0;
}

// One connection (TCP) or connected socket (UDP), one request and its
// answer: the name of the server that replied.
Failure exchange_once(const Target& target, bool tcp, std::string& name) {
    Socket socket(target.family, tcp ? SOCK_STREAM : SOCK_DGRAM);
    std::string source;
    Failure failure = socket.open_failure();
    if (!failure)
        failure = socket.connect(target);
    if (!failure)
        failure = socket.send("hello\n");
    if (!failure)
        failure = tcp ? socket.read_line(name) : socket.receive(name, source);
    return failure;
}

int run_connect_once(const Target& target, const std::string& protocol) {
    const auto start = Clock::now();
    std::string name;
    if (const Failure failure = exchange_once(target, protocol == "tcp", name)) {
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        fmt::print("error {} elapsed_ms={}\n", *failure, elapsed.count());
    } else {
        fmt::print("ok {}\n", name);
    }
    return 0;
}

// One datagram from each source port first..first+count-1 in turn, each from
// a socket of its own bound to that port: "flow <port> ok <answer>" or
// "flow <port> error <errno name>". The same ports give the same flows
// (addresses, ports, protocol) on every run.
int run_udp_flows(const Target& target, std::uint16_t first, int count) {
    for (int i = 0; i < count; ++i) {
        const auto source_port = static_cast<std::uint16_t>(first + i);
        Socket socket(target.family, SOCK_DGRAM);
        Failure failure = socket.open_failure();
        if (!failure)
            failure = socket.bind(*parse_target(target.family == AF_INET ? "0.0.0.0" : "::", source_port, false));
        std::string answer;
        std::string source;
        if (!failure)
            failure = socket.send("hello\n", &target);
        if (!failure)
            failure = socket.receive(answer, source);
        if (failure)
            fmt::print("flow {} error {}\n", source_port, *failure);
        else
            fmt::print("flow {} ok {}\n", source_port, answer);
    }
    fmt::print("done\n");
    return 0;
}

// GET / over HTTP/1.0: "http <status> <body on one line>", or "error <errno name>".
int run_http_get(const Target& target) {
    Socket socket(target.family, SOCK_STREAM);
    Failure failure = socket.open_failure();
    if (!failure)
        failure = socket.connect(target);
    if (!failure)
        failure = socket.send("GET / HTTP/1.0\r\nHost: kpr-test\r\n\r\n");
    std::string response;
    if (!failure)
        failure = socket.read_all(response);
    if (failure) {
        fmt::print("error {}\n", *failure);
        return 0;
    }
    // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
    const auto space = response.find(' ');
    const auto body = response.find("\r\n\r\n");
    if (response.rfind("HTTP/", 0) != 0 || space == std::string::npos || body == std::string::npos) {
        fmt::print("error malformed-response\n");
        return 0;
    }
    std::string text = response.substr(body + 4);
    std::erase(text, '\n');
    std::erase(text, '\r');
    fmt::print("http {} {}\n", response.substr(space + 1, 3), text);
    return 0;
}

// bind() to the address and port, as a server would before listening: the
// socket hooks may refuse it (a NodePort is taken).
int run_bind(const Target& target, const std::string& protocol) {
    Socket socket(target.family, protocol == "tcp" ? SOCK_STREAM : SOCK_DGRAM);
    Failure failure = socket.open_failure();
    if (!failure)
        failure = socket.bind(target);
    if (failure)
        fmt::print("error {}\n", *failure);
    else
        fmt::print("bound\n");
    return 0;
}

// A target of the reach mode, as given: "tcp,10.244.0.11,80".
struct ReachTarget {
    std::string text;
    bool tcp;
    Target target;
};

std::optional<ReachTarget> parse_reach_target(const std::string& text) {
    const auto first = text.find(',');
    const auto second = text.rfind(',');
    if (first == std::string::npos || second == first)
        return std::nullopt;
    const std::string protocol = text.substr(0, first);
    if (protocol != "tcp" && protocol != "udp")
        return std::nullopt;
    unsigned port = 0;
    try {
        std::size_t used = 0;
        port = static_cast<unsigned>(std::stoul(text.substr(second + 1), &used));
        if (used != text.size() - second - 1 || port == 0 || port > 65535)
            return std::nullopt;
    } catch (const std::exception&) {
        return std::nullopt;
    }
    auto target = parse_target(text.substr(first + 1, second - first - 1),
                               static_cast<std::uint16_t>(port), false);
    if (!target)
        return std::nullopt;
    return ReachTarget{text, protocol == "tcp", *target};
}

// Every target at once, one thread each; one line per target, in the order
// given: "reach <target> ok <server name>" or "reach <target> error <errno name>".
int run_reach(const std::vector<ReachTarget>& targets) {
    std::vector<std::string> outcomes(targets.size());
    {
        std::vector<std::jthread> probes;
        probes.reserve(targets.size());
        for (std::size_t i = 0; i < targets.size(); ++i)
            probes.emplace_back([&targets, &outcomes, i] {
                std::string name;
                const Failure failure = exchange_once(targets[i].target, targets[i].tcp, name);
                outcomes[i] = failure ? "error " + *failure : "ok " + name;
            });
    }
    for (std::size_t i = 0; i < targets.size(); ++i)
        fmt::print("reach {} {}\n", targets[i].text, outcomes[i]);
    fmt::print("done\n");
    return 0;
}

bool join_cgroup(const std::string& directory) {
    const std::string procs = directory + "/cgroup.procs";
    UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    const std::string pid = std::to_string(::getpid());
    if (!fd || ::write(fd.get(), pid.data(), pid.size()) != static_cast<ssize_t>(pid.size())) {
        fmt::print(stderr, "kpr-test-client: joining cgroup {}: {}\n", directory,
                   std::strerror(errno));
        return false;
    }
    return true;
}

bool join_network_namespace(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd || ::setns(fd.get(), CLONE_NEWNET) != 0) {
        fmt::print(stderr, "kpr-test-client: entering network namespace {}: {}\n", path,
                   std::strerror(errno));
        return false;
    }
    return true;
}

using NamespaceId = std::pair<dev_t, ino_t>;

std::optional<NamespaceId> current_network_namespace() {
    struct stat st {};
    if (::stat("/proc/self/ns/net", &st) != 0)
        return std::nullopt;
    return NamespaceId{st.st_dev, st.st_ino};
}

int run_client(int argc, char** argv) {
    // Each line must reach a test reading the pipe as soon as it is printed.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    CLI::App app{"Test client: connects from a pod's network namespace and cgroup and reports "
                 "what it saw as \"key value\" lines."};
    app.require_subcommand(1);
    // Lets --netns and --cgroup also follow the mode's name.
    app.fallthrough();
    std::string cgroup;
    std::string netns;
    app.add_option("--cgroup", cgroup, "cgroup v2 directory to join first")
        ->check(CLI::ExistingDirectory);
    app.add_option("--netns", netns, "network namespace file to enter (/var/run/netns/NAME)")
        ->check(CLI::ExistingFile);

    int timeout_ms = 2000;
    app.add_option("--timeout-ms", timeout_ms,
                   "how long each socket operation may wait (default 2000)")
        ->check(CLI::Range(1, 60000));

    std::string to;
    std::uint16_t port = 0;
    int count = 1;
    bool v4mapped = false;
    std::string protocol = "tcp";
    std::vector<std::string> reach_texts;
    auto add_mode = [&](const char* name, const char* description) {
        CLI::App* mode = app.add_subcommand(name, description);
        mode->add_option("--to", to, "destination address (IPv4 or IPv6)")->required();
        mode->add_option("--port", port, "destination port")->required();
        return mode;
    };
    auto add_count = [&](CLI::App* mode) {
        mode->add_option("--count", count, "number of attempts")->check(CLI::PositiveNumber);
    };
    auto add_v4mapped = [&](CLI::App* mode) {
        mode->add_flag("--v4mapped", v4mapped,
                       "use an AF_INET6 socket and the IPv4 address as ::ffff:a.b.c.d");
    };
    auto add_protocol = [&](CLI::App* mode) {
        mode->add_option("--proto", protocol, "tcp or udp")->check(CLI::IsMember({"tcp", "udp"}));
    };
    CLI::App* tcp = add_mode("tcp", "sequential connections, one request each");
    add_count(tcp);
    add_v4mapped(tcp);
    CLI::App* udp = add_mode("udp", "datagrams from one unconnected socket");
    add_count(udp);
    add_v4mapped(udp);
    CLI::App* udp_connected = add_mode("udp-connected", "datagrams from one connected socket");
    add_count(udp_connected);
    add_v4mapped(udp_connected);
    CLI::App* hold = add_mode("hold", "one connection (or connected UDP socket); stdin commands: "
                                      "ping, quit");
    add_protocol(hold);
    add_v4mapped(hold);
    CLI::App* connect_once = add_mode("connect-once", "one connection and one request");
    add_protocol(connect_once);
    add_v4mapped(connect_once);
    CLI::App* udp_flows = add_mode("udp-flows", "one datagram from each of --count source ports");
    add_count(udp_flows);
    std::uint16_t first_source_port = 0;
    udp_flows->add_option("--first-source-port", first_source_port, "the first source port")
        ->required()
        ->check(CLI::Range(1024, 65535));
    CLI::App* http_get = add_mode("http-get", "GET / and print the status and body");
    CLI::App* bind = add_mode("bind", "bind() a socket to the address and port, nothing sent");
    add_protocol(bind);
    add_v4mapped(bind);
    CLI::App* reach = app.add_subcommand("reach", "one request to each target, all at once");
    reach->add_option("--target", reach_texts, "PROTO,ADDRESS,PORT (tcp or udp); repeatable")
        ->required();
    CLI11_PARSE(app, argc, argv);
    operation_timeout = std::chrono::milliseconds(timeout_ms);

    std::vector<ReachTarget> targets;
    if (*reach) {
        for (const std::string& text : reach_texts) {
            auto target = parse_reach_target(text);
            if (!target) {
                fmt::print(stderr,
                           "kpr-test-client: --target {}: expected tcp|udp,ADDRESS,PORT with an "
                           "IPv4 or IPv6 address and a port 1-65535\n",
                           text);
                return exit_usage;
            }
            targets.push_back(std::move(*target));
        }
    } else {
        const auto target = parse_target(to, port, v4mapped);
        if (!target) {
            fmt::print(stderr, "kpr-test-client: --to {}: not an {} address\n", to,
                       v4mapped ? "IPv4" : "IPv4 or IPv6");
            return exit_usage;
        }
        targets.push_back({to, protocol == "tcp", *target});
    }
    if (!cgroup.empty() && !join_cgroup(cgroup))
        return exit_setup_failed;
    // The client starts in the test's namespace, normally the machine's own,
    // from which a non-loopback destination may leave the machine. Such
    // destinations are only reached from a namespace --netns moved us into.
    const auto started_in = current_network_namespace();
    if (!netns.empty() && !join_network_namespace(netns))
        return exit_setup_failed;
    const auto running_in = current_network_namespace();
    const bool moved = started_in && running_in && *started_in != *running_in;
    for (const ReachTarget& target : targets)
        if (!is_loopback(target.target) && !moved) {
            fmt::print(stderr,
                       "kpr-test-client: refusing to send to {} from the network namespace it "
                       "started in; pass --netns with a test's namespace\n",
                       target.text);
            return exit_usage;
        }

    if (*reach)
        return run_reach(targets);
    const Target& target = targets.front().target;
    if (*tcp)
        return run_tcp(target, count);
    if (*udp)
        return run_udp(target, count);
    if (*udp_connected)
        return run_udp_connected(target, count);
    if (*hold)
        return run_hold(target, protocol);
    if (*udp_flows) {
        if (first_source_port + count - 1 > 65535) {
            fmt::print(stderr, "kpr-test-client: --first-source-port {} --count {} goes past 65535\n",
                       first_source_port, count);
            return exit_usage;
        }
        return run_udp_flows(target, first_source_port, count);
    }
    if (*http_get)
        return run_http_get(target);
    if (*bind)
        return run_bind(target, protocol);
    return run_connect_once(target, protocol);
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run_client(argc, argv);
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr-test-client: {}\n", e.what());
        return 1;
    }
}
