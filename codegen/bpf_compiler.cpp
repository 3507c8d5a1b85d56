// The clang subprocess that turns emitted BPF C into an object.
#include "codegen/bpf_compiler.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace kpr::codegen {
namespace {

struct Output {
    int status;
    std::string text; // stdout and stderr together
};

Output run(const std::vector<std::string>& argv, const std::filesystem::path& cwd) {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0)
        throw CompileError(fmt::format("pipe: {}", std::strerror(errno)));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());

    std::vector<char*> args;
    for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid;
    const int err = ::posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (err != 0) {
        ::close(pipe_fds[0]);
        throw CompileError(fmt::format("cannot run {}: {}", argv[0], std::strerror(err)));
    }
    Output out{0, {}};
    std::array<char, 4096> buf;
    for (ssize_t n; (n = ::read(pipe_fds[0], buf.data(), buf.size())) != 0;) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        out.text.append(buf.data(), static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    out.status = status;
    return out;
}

} // namespace

void compile_bpf_object(const CompilerSettings& settings, const std::filesystem::path& source,
                        const std::filesystem::path& object) {
    const auto source_dir = std::filesystem::absolute(source).parent_path();
    const auto templates = std::filesystem::absolute(settings.templates_dir);
    // The prefix maps keep the build's own paths out of the object's BTF
    // line info, so objects are byte-identical across checkouts.
    const std::vector<std::string> argv{
        settings.clang.string(),
        "-target",
        "bpf",
        "-O2",
        "-g",
        "-Wall",
        "-Werror",
        "-fno-ident",
        fmt::format("-ffile-prefix-map={}=.", source_dir.string()),
        fmt::format("-ffile-prefix-map={}=bpf-templates", templates.string()),
        "-fdebug-compilation-dir=.",
        "-I",
        templates.string(),
        "-idirafter",
        settings.multiarch_include.string(),
        "-c",
        std::filesystem::absolute(source).string(),
        "-o",
        std::filesystem::absolute(object).string(),
    };
    const auto out = run(argv, source_dir);
    if (!WIFEXITED(out.status) || WEXITSTATUS(out.status) != 0)
        throw CompileError(fmt::format("{} failed to compile {}:\n{}", settings.clang.string(),
                                       source.string(), out.text));
}

} // namespace kpr::codegen
