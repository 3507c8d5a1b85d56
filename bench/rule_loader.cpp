// Loader runs: fork, join the memory cgroup, setns into the node namespace,
// exec; the parent waits on a pidfd with the cap as timeout.
#include "rule_loader.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "interruption.hpp"
#include "testbed/debris.hpp"
#include "testbed/spawn.hpp"
#include "testbed/unique_fd.hpp"

namespace kpr::bench {

namespace fs = std::filesystem;
using testbed::UniqueFd;

namespace {

const fs::path memory_hierarchy = "/sys/fs/cgroup/memory";

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

UniqueFd open_or_throw(const fs::path& path, int flags, int mode = 0) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
    if (!fd)
        throw std::runtime_error(fmt::format("open {}: {}", path.string(), std::strerror(errno)));
    return fd;
}

} // namespace

std::optional<MemoryCgroup> MemoryCgroup::create(std::string_view tag) {
    if (!fs::exists(memory_hierarchy / "memory.kmem.usage_in_bytes"))
        return std::nullopt;
    const auto path = memory_hierarchy / testbed::test_object_name(tag);
    if (!fs::create_directory(path))
        throw std::runtime_error(fmt::format("memory cgroup {} already exists", path.string()));
    return MemoryCgroup(path);
}

MemoryCgroup::MemoryCgroup(MemoryCgroup&& other) noexcept : path_(std::exchange(other.path_, {})) {}

MemoryCgroup::~MemoryCgroup() {
    // Its loaders have exited; the charges of what they left move to the parent.
    if (!path_.empty() && ::rmdir(path_.c_str()) != 0)
        fmt::print(stderr, "kpr-bench: could not remove {}: {}\n", path_.string(), std::strerror(errno));
}

std::uint64_t MemoryCgroup::kernel_bytes() const {
    return std::stoull(read_text(path_ / "memory.kmem.usage_in_bytes"));
}

LoaderRun run_loader(const std::vector<std::string>& argv, const testbed::NetNs& ns, const MemoryCgroup* memcg,
                     std::chrono::milliseconds cap, const fs::path& scratch_dir) {
    check_interruption();
    const auto netns = open_or_throw(ns.path(), O_RDONLY);
    const auto errors_path = scratch_dir / "loader-errors.txt";
    const auto errors = open_or_throw(errors_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const auto dev_null = open_or_throw("/dev/null", O_RDWR);
    UniqueFd procs;
    if (memcg != nullptr)
        procs = open_or_throw(memcg->path() / "cgroup.procs", O_WRONLY);
    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    const auto start = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
    if (pid == 0) {
        // Only async-signal-safe calls from here to exec.
        if ((procs && ::write(procs.get(), "0", 1) != 1) || ::setns(netns.get(), CLONE_NEWNET) != 0 ||
            ::dup2(dev_null.get(), 0) < 0 || ::dup2(dev_null.get(), 1) < 0 || ::dup2(errors.get(), 2) < 0)
            ::_exit(126);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }

    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    LoaderRun run;
    const auto deadline = start + cap;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0 || interrupted()) {
            ::kill(pid, SIGKILL);
            run.cut_off = true;
            break;
        }
        pollfd p{pidfd.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) > 0)
            break;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    run.exit_code = testbed::exit_code(status);
    run.errors = read_text(errors_path);
    check_interruption();
    if (run.cut_off)
        run.seconds = std::chrono::duration<double>(cap).count();
    return run;
}

void run_setup_loader(const std::vector<std::string>& argv, const testbed::NetNs& ns, const fs::path& scratch_dir) {
    const auto run = run_loader(argv, ns, nullptr, std::chrono::minutes(10), scratch_dir);
    if (run.cut_off || run.exit_code != 0)
        throw std::runtime_error(fmt::format("{} in {}: exit {}: {}", testbed::command_line(argv), ns.name(),
                                             run.exit_code, run.errors));
}

} // namespace kpr::bench

namespace kpr::bench {

fs::path write_rules_file(const fs::path& dir, std::string_view name, const std::string& text) {
    const auto path = dir / name;
    std::ofstream out(path, std::ios::trunc);
    out << text;
    if (!out.flush())
        throw std::runtime_error(fmt::format("cannot write {}", path.string()));
    return path;
}

} // namespace kpr::bench
