// posix_spawnp wrapper: the child gets exactly the requested stdio; every
// other descriptor the testbed opens is close-on-exec.
#include "testbed/spawn.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

extern char** environ;

namespace kpr::testbed {
namespace {

class FileActions {
  public:
    FileActions() { ::posix_spawn_file_actions_init(&actions_); }
    FileActions(const FileActions&) = delete;
    FileActions& operator=(const FileActions&) = delete;
    ~FileActions() { ::posix_spawn_file_actions_destroy(&actions_); }

    void redirect(int from, int to) {
        if (from >= 0)
            ::posix_spawn_file_actions_adddup2(&actions_, from, to);
    }
    void open_dev_null(int to) {
        ::posix_spawn_file_actions_addopen(&actions_, to, "/dev/null", O_RDONLY, 0);
    }
    const posix_spawn_file_actions_t* get() const { return &actions_; }

  private:
    posix_spawn_file_actions_t actions_;
};

} // namespace

pid_t spawn_child(const std::vector<std::string>& argv, const ChildStdio& stdio) {
    if (argv.empty())
        throw std::invalid_argument("spawn_child: empty command");
    FileActions actions;
    if (stdio.input_from_dev_null)
        actions.open_dev_null(STDIN_FILENO);
    else
        actions.redirect(stdio.input, STDIN_FILENO);
    actions.redirect(stdio.output, STDOUT_FILENO);
    actions.redirect(stdio.errors, STDERR_FILENO);

    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    pid_t pid = -1;
    if (int err = ::posix_spawnp(&pid, args[0], actions.get(), nullptr, args.data(), environ))
        throw std::runtime_error(
            fmt::format("cannot start `{}`: {}", command_line(argv), std::strerror(err)));
    return pid;
}

std::string command_line(const std::vector<std::string>& argv) {
    return fmt::format("{}", fmt::join(argv, " "));
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status))
        return fmt::format("exit status {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return fmt::format("killed by signal {} ({})", WTERMSIG(status),
                           ::sigabbrev_np(WTERMSIG(status)) ? ::sigabbrev_np(WTERMSIG(status))
                                                            : "?");
    return fmt::format("wait status {:#x}", status);
}

int exit_code(int wait_status) {
    if (WIFSIGNALED(wait_status))
        return 128 + WTERMSIG(wait_status);
    return WEXITSTATUS(wait_status);
}

} // namespace kpr::testbed
