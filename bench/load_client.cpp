// kpr-bench-load: the benchmark's load generator, run inside the client pod's
// network namespace (and, for kpr, the cgroup its socket programs are
// attached to). It stays up for a whole size of the benchmark and runs one
// measurement per request line on stdin, so the harness can alternate short
// runs of every mode. A few exchanges run in parallel from one epoll loop:
//   tcp  connect, one request line, one reply line, close (netperf's TCP_CRR);
//        the connect latency is from connect() until the socket is writable.
//   udp  one datagram to the target, one datagram back (netperf's UDP_RR),
//        each slot on its own unconnected socket; latency is the round trip.
// Each exchange goes to a target drawn uniformly from the request's targets
// file ("ip port" lines). Only exchanges that finish after the warm-up count.
// Each run prints "result completed=... errors=... rate=... p50_us=...
// p99_us=... responders=... elapsed_ms=...", "error <errno name> <count>" and
// "responder <name> <count>" lines, then "end". Every exchange gives up after
// two seconds, so every run ends.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "kpr/runtime/unique_fd.hpp"

namespace {

using kpr::runtime::UniqueFd;
using Clock = std::chrono::steady_clock;

constexpr auto exchange_timeout = std::chrono::seconds(2);
constexpr std::string_view request = "x\n";

std::string errno_name(int error) {
    const char* name = ::strerrorname_np(error);
    return name != nullptr ? name : fmt::format("E{}", error);
}

std::vector<sockaddr_in> read_targets(const std::string& path) {
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error(fmt::format("cannot read targets file {}", path));
    std::vector<sockaddr_in> targets;
    std::string address;
    int port = 0;
    for (int line = 1; in >> address >> port; ++line) {
        sockaddr_in target{};
        target.sin_family = AF_INET;
        target.sin_port = htons(static_cast<std::uint16_t>(port));
        if (::inet_pton(AF_INET, address.c_str(), &target.sin_addr) != 1 || port <= 0 || port > 65535)
            throw std::runtime_error(fmt::format("{}:{}: \"{} {}\" is not an IPv4 address and port", path,
                                                 line, address, port));
        targets.push_back(target);
    }
    if (targets.empty())
        throw std::runtime_error(fmt::format("{}: no targets", path));
    return targets;
}

void join_cgroup(const std::string& directory) {
    const std::string procs = directory + "/cgroup.procs";
    UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    const std::string pid = std::to_string(::getpid());
    if (!fd || ::write(fd.get(), pid.data(), pid.size()) != static_cast<ssize_t>(pid.size()))
        throw std::runtime_error(fmt::format("joining cgroup {}: {}", directory, std::strerror(errno)));
}

struct Options {
    std::string targets_file;
    std::string protocol = "tcp";
    int parallel = 4;
    int duration_ms = 1000;
    int warmup_ms = 100;
    long max_count = 0; // 0: as many as the duration allows
    std::uint64_t seed = 1;
};

// What the measured window saw.
struct Tally {
    long completed = 0;
    std::vector<std::uint32_t> latencies_ns;
    std::map<std::string, long> responders;
    std::map<std::string, long> errors;
};

class LoadGenerator {
  public:
    LoadGenerator(const Options& options, const std::vector<sockaddr_in>& targets)
        : options_(options), targets_(targets), random_(options.seed),
          pick_(0, targets_.size() - 1), epoll_(::epoll_create1(EPOLL_CLOEXEC)),
          slots_(static_cast<std::size_t>(options.parallel)) {
        if (!epoll_)
            throw std::runtime_error(fmt::format("epoll_create1: {}", std::strerror(errno)));
        tally_.latencies_ns.reserve(1 << 20);
    }

    void run() {
        const auto start = Clock::now();
        window_start_ = start + std::chrono::milliseconds(options_.warmup_ms);
        stop_starting_ = window_start_ + std::chrono::milliseconds(options_.duration_ms);
        for (std::size_t i = 0; i < slots_.size(); ++i)
            start_exchange(i);
        while (std::ranges::any_of(slots_, [](const Slot& s) { return s.socket.valid(); })) {
            epoll_event events[64];
            const int n = ::epoll_wait(epoll_.get(), events, 64, 20);
            if (n < 0 && errno != EINTR)
                throw std::runtime_error(fmt::format("epoll_wait: {}", std::strerror(errno)));
            for (int e = 0; e < n; ++e)
                advance(events[e].data.u64);
            const auto now = Clock::now();
            for (std::size_t i = 0; i < slots_.size(); ++i)
                if (slots_[i].socket.valid() && now - slots_[i].started > exchange_timeout)
                    finish(i, errno_name(ETIMEDOUT));
        }
        window_end_ = std::min(Clock::now(), stop_starting_);
    }

    void print() {
        auto& l = tally_.latencies_ns;
        const auto percentile = [&](double p) -> double {
            if (l.empty())
                return 0;
            const auto k = static_cast<std::size_t>(p * static_cast<double>(l.size() - 1));
            std::nth_element(l.begin(), l.begin() + static_cast<std::ptrdiff_t>(k), l.end());
            return l[k] / 1000.0;
        };
        const double window_s = std::chrono::duration<double>(window_end_ - window_start_).count();
        long errors = 0;
        for (const auto& [name, n] : tally_.errors)
            errors += n;
        const double p50 = percentile(0.50);
        const double p99 = percentile(0.99);
        fmt::print("result completed={} errors={} rate={:.1f} p50_us={:.1f} p99_us={:.1f} responders={} "
                   "elapsed_ms={:.0f}\n",
                   tally_.completed, errors, window_s > 0 ? tally_.completed / window_s : 0.0, p50, p99,
                   tally_.responders.size(), window_s * 1000);
        for (const auto& [name, n] : tally_.errors)
            fmt::print("error {} {}\n", name, n);
        for (const auto& [name, n] : tally_.responders)
            fmt::print("responder {} {}\n", name, n);
    }

  private:
    enum class Phase { connecting, awaiting_reply };

    struct Slot {
        UniqueFd socket;
        Phase phase = Phase::connecting;
        Clock::time_point started;
        const sockaddr_in* target = nullptr;
        std::string reply;
    };

    bool tcp() const { return options_.protocol == "tcp"; }

    bool counting(Clock::time_point t) const { return t >= window_start_ && t <= stop_starting_; }

    bool may_start() {
        if (Clock::now() >= stop_starting_)
            return false;
        return options_.max_count == 0 || started_ < options_.max_count;
    }

    void watch(std::size_t i, std::uint32_t events, int op) {
        epoll_event event{};
        event.events = events;
        event.data.u64 = i;
        if (::epoll_ctl(epoll_.get(), op, slots_[i].socket.get(), &event) != 0)
            throw std::runtime_error(fmt::format("epoll_ctl: {}", std::strerror(errno)));
    }

    void start_exchange(std::size_t i) {
        // A target that refuses at once would otherwise recurse; loop instead.
        while (may_start()) {
            ++started_;
            Slot& slot = slots_[i];
            slot.target = &targets_[pick_(random_)];
            slot.reply.clear();
            slot.started = Clock::now();
            slot.socket.reset(::socket(AF_INET, (tcp() ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
            if (!slot.socket) {
                record_error(errno_name(errno));
                continue;
            }
            if (tcp()) {
                if (::connect(slot.socket.get(), reinterpret_cast<const sockaddr*>(slot.target), sizeof *slot.target) != 0 &&
                    errno != EINPROGRESS) {
                    record_error(errno_name(errno));
                    slot.socket.reset();
                    continue;
                }
                slot.phase = Phase::connecting;
                watch(i, EPOLLOUT, EPOLL_CTL_ADD);
            } else {
                if (::sendto(slot.socket.get(), request.data(), request.size(), 0,
                             reinterpret_cast<const sockaddr*>(slot.target), sizeof *slot.target) < 0) {
                    record_error(errno_name(errno));
                    slot.socket.reset();
                    continue;
                }
                slot.phase = Phase::awaiting_reply;
                watch(i, EPOLLIN, EPOLL_CTL_ADD);
            }
            return;
        }
    }

    void record_error(const std::string& name) {
        if (counting(Clock::now()))
            ++tally_.errors[name];
    }

    // Ends slot i's exchange (with an error name, or successfully) and starts the next.
    void finish(std::size_t i, std::optional<std::string> error) {
        Slot& slot = slots_[i];
        slot.socket.reset();
        if (error) {
            record_error(*error);
        } else if (counting(Clock::now())) {
            ++tally_.completed;
            ++tally_.responders[slot.reply];
        }
        start_exchange(i);
    }

    void advance(std::size_t i) {
        Slot& slot = slots_[i];
        if (!slot.socket)
            return;
        if (slot.phase == Phase::connecting) {
            int error = 0;
            socklen_t length = sizeof error;
            ::getsockopt(slot.socket.get(), SOL_SOCKET, SO_ERROR, &error, &length);
            if (error != 0)
                return finish(i, errno_name(error));
            record_latency(slot.started);
            if (::send(slot.socket.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
                static_cast<ssize_t>(request.size()))
                return finish(i, errno_name(errno));
            slot.phase = Phase::awaiting_reply;
            watch(i, EPOLLIN, EPOLL_CTL_MOD);
            return;
        }
        char buffer[256];
        for (;;) {
            const ssize_t n = ::recv(slot.socket.get(), buffer, sizeof buffer, 0);
            if (n < 0 && errno == EAGAIN)
                return;
            if (n < 0)
                return finish(i, errno_name(errno));
            if (n == 0)
                return finish(i, "EOF");
            slot.reply.append(buffer, static_cast<std::size_t>(n));
            if (!tcp()) {
                record_latency(slot.started);
                while (!slot.reply.empty() && slot.reply.back() == '\n')
                    slot.reply.pop_back();
                return finish(i, std::nullopt);
            }
            if (const auto newline = slot.reply.find('\n'); newline != std::string::npos) {
                slot.reply.resize(newline);
                return finish(i, std::nullopt);
            }
        }
    }

    void record_latency(Clock::time_point started) {
        if (counting(started))
            tally_.latencies_ns.push_back(static_cast<std::uint32_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count()));
    }

    const Options& options_;
    const std::vector<sockaddr_in>& targets_;
    std::mt19937_64 random_;
    std::uniform_int_distribution<std::size_t> pick_;
    UniqueFd epoll_;
    std::vector<Slot> slots_;
    long started_ = 0;
    Clock::time_point window_start_;
    Clock::time_point stop_starting_;
    Clock::time_point window_end_;
    Tally tally_;
};

// One run request: "run <targets file> <tcp|udp> <parallel> <duration ms> <warm-up ms> <count> <seed>".
std::optional<Options> parse_request(const std::string& line) {
    std::istringstream words(line);
    std::string verb;
    Options o;
    if (!(words >> verb >> o.targets_file >> o.protocol >> o.parallel >> o.duration_ms >> o.warmup_ms >>
          o.max_count >> o.seed) ||
        verb != "run" || (o.protocol != "tcp" && o.protocol != "udp") || o.parallel < 1 || o.parallel > 256 ||
        o.duration_ms < 1 || o.warmup_ms < 0 || o.max_count < 0)
        return std::nullopt;
    return o;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"kpr-bench-load: TCP connect-request-response-close or UDP request-response load, one run per "
                 "request line on stdin"};
    std::string cgroup;
    app.add_option("--cgroup", cgroup, "cgroup v2 directory to join first");
    CLI11_PARSE(app, argc, argv);
    try {
        if (!cgroup.empty())
            join_cgroup(cgroup);
        // Target lists are read once: the random-Services list has a line per Service.
        std::map<std::string, std::vector<sockaddr_in>> targets;
        fmt::print("ready\n");
        std::fflush(stdout);
        for (std::string line; std::getline(std::cin, line);) {
            const auto request = parse_request(line);
            if (!request)
                throw std::runtime_error(fmt::format("bad request \"{}\": run <targets file> <tcp|udp> <parallel> "
                                                     "<duration ms> <warm-up ms> <count> <seed>",
                                                     line));
            auto& list = targets[request->targets_file];
            if (list.empty())
                list = read_targets(request->targets_file);
            LoadGenerator generator(*request, list);
            generator.run();
            generator.print();
            fmt::print("end\n");
            std::fflush(stdout);
        }
        return 0;
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr-bench-load: {}\n", e.what());
        return 1;
    }
}
