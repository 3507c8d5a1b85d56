// kpr-gen as a pipeline runs it: a bad schema exits 1 listing every problem
// and writes nothing (not even over a previous build's files); a source
// clang refuses is reported at the emitted file's line, and also writes
// nothing; a good schema publishes source, object and manifest together.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "kpr/file_contents.hpp"

#include <fmt/format.h>

namespace kpr {
namespace {

namespace fs = std::filesystem;

struct Run {
    int status;
    std::string output; // stdout and stderr
};

Run kpr_gen(const std::string& arguments) {
    const auto command = fmt::format("'{}' {} 2>&1", KPR_GEN, arguments);
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe)
        return {-1, "popen failed"};
    Run run{0, {}};
    std::array<char, 4096> buffer;
    for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;)
        run.output.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
}

struct TempDir {
    fs::path path = fs::temp_directory_path() / fmt::format("kpr-gen-command-test-{}", ::getpid());
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

const fs::path bad_schema = fs::path(KPR_TEST_DATA_DIR) / "schema" / "bad" / "port-errors.yaml";

// The example's templates with `extra` appended to bpf_sock.c, in `dir`.
fs::path templates_with(const fs::path& dir, std::string_view extra) {
    fs::copy(KPR_TEMPLATES_DIR, dir / "templates", fs::copy_options::recursive);
    std::ofstream(dir / "templates" / "bpf_sock.c", std::ios::app) << extra;
    return dir / "templates";
}

TEST(KprGenCommand, ABadSchemaListsEveryProblemAndWritesNothing) {
    TempDir dir;
    const auto run = kpr_gen(fmt::format("build --schema '{}' --out-dir '{}'", bad_schema.string(),
                                         (dir.path / "out").string()));
    EXPECT_EQ(run.status, 1) << run.output;
    for (const char* place : {":15:20: ", ":16:31: ", ":17:45: ", ":18:34: ", ":19:9: "})
        EXPECT_NE(run.output.find(bad_schema.string() + place), std::string::npos) << place << "\n"
                                                                                   << run.output;
    EXPECT_NE(run.output.find("has 5 problems; nothing was written"), std::string::npos)
        << run.output;
    EXPECT_FALSE(fs::exists(dir.path / "out"));
}

TEST(KprGenCommand, AFailedBuildLeavesThePreviousOutputAsItWas) {
    TempDir dir;
    const auto out = dir.path / "out";
    ASSERT_EQ(
        kpr_gen(fmt::format("build --schema '{}' --out-dir '{}'", KPR_EXAMPLE_SCHEMA, out.string()))
            .status,
        0);
    const auto files = {"kpr_sock.bpf.c", "kpr_sock.bpf.o", "kpr_sock.manifest.json"};
    std::vector<std::string> before;
    for (const char* f : files)
        before.push_back(read_file_contents(out / f).value_or(""));
    EXPECT_EQ(kpr_gen(fmt::format("build --schema '{}' --out-dir '{}'", bad_schema.string(),
                                  out.string()))
                  .status,
              1);
    std::size_t i = 0;
    for (const char* f : files)
        EXPECT_EQ(read_file_contents(out / f).value_or(""), before[i++]) << f;
    EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()), 3);
}

TEST(KprGenCommand, ACompileErrorNamesTheEmittedFileAndLineAndWritesNothing) {
    TempDir dir;
    templates_with(dir.path, "int kpr_broken = undeclared_name;\n");
    const auto out = dir.path / "out";
    const auto run =
        kpr_gen(fmt::format("build --schema '{}' --out-dir '{}' --templates '{}'",
                            KPR_EXAMPLE_SCHEMA, out.string(), (dir.path / "templates").string()));
    EXPECT_EQ(run.status, 1) << run.output;
    const auto emitted = kpr_gen(fmt::format("emit --schema '{}' --templates '{}'",
                                             KPR_EXAMPLE_SCHEMA, (dir.path / "templates").string()))
                             .output;
    const auto line =
        std::count(emitted.begin(), emitted.end(), '\n'); // the appended line is the last
    EXPECT_NE(run.output.find(
                  fmt::format("{}:{}:18: error: use of undeclared identifier 'undeclared_name'",
                              (out / "kpr_sock.bpf.c").string(), line)),
              std::string::npos)
        << run.output;
    const auto template_text =
        read_file_contents(dir.path / "templates" / "bpf_sock.c").value_or("");
    const auto template_lines = std::count(template_text.begin(), template_text.end(), '\n');
    EXPECT_NE(run.output.find(fmt::format("(line {} of the emitted source comes from {}:{})", line,
                                          (dir.path / "templates" / "bpf_sock.c").string(),
                                          template_lines)),
              std::string::npos)
        << run.output;
    EXPECT_EQ(run.output.find("generated."), std::string::npos) << "clang wrote to stderr itself";
    EXPECT_NE(run.output.find("int kpr_broken = undeclared_name;"), std::string::npos)
        << "the line is shown";
    EXPECT_TRUE(!fs::exists(out) || fs::is_empty(out)) << "a failed compile left files behind";
}

TEST(KprGenCommand, CheckFailsWhenTheVerifierRefusesAProgram) {
    TempDir dir;
    // Compiles, but dereferences a number: no verifier accepts it.
    const auto templates = templates_with(dir.path, "SEC(\"cgroup/connect4\")\n"
                                                    "int kpr_unsafe(struct bpf_sock_addr *ctx)\n"
                                                    "{\n"
                                                    "\treturn *(int *)(long)ctx->user_ip4;\n"
                                                    "}\n");
    const auto run = kpr_gen(fmt::format("check --schema '{}' --templates '{}'", KPR_EXAMPLE_SCHEMA,
                                         templates.string()));
    if (run.output.find("skipped: needs CAP_BPF") != std::string::npos)
        GTEST_SKIP() << "skipped: needs CAP_BPF (the verifier cannot be asked)";
    EXPECT_EQ(run.status, 1) << run.output;
    EXPECT_NE(run.output.find("the kernel's verifier refused it"), std::string::npos) << run.output;
    EXPECT_EQ(run.output.find("every program loads"), std::string::npos) << run.output;
}

TEST(KprGenCommand, ExplainAndCheckDescribeTheDataPath) {
    const auto explain = kpr_gen(fmt::format("explain --schema '{}'", KPR_EXAMPLE_SCHEMA));
    EXPECT_EQ(explain.status, 0) << explain.output;
    EXPECT_NE(explain.output.find("total ~"), std::string::npos) << explain.output;
    const auto check = kpr_gen(fmt::format("check --schema '{}'", KPR_EXAMPLE_SCHEMA));
    EXPECT_EQ(check.status, 0) << check.output;
    EXPECT_NE(check.output.find("kpr_sock.bpf.o: compiled 8 programs, 6 map layouts cross-checked"),
              std::string::npos)
        << check.output;
    const bool verified =
        check.output.find("every program loads in this kernel") != std::string::npos;
    const bool skipped = check.output.find("skipped: needs CAP_BPF") != std::string::npos;
    EXPECT_TRUE(verified != skipped) << check.output;
}

TEST(KprGenCommand, PodTcProgramsBuildTheTcObjectBesideTheSocketOne) {
    TempDir dir;
    const auto schema = fs::path(KPR_EXAMPLES_DIR) / "schemas" / "baseline-1k.yaml";
    const auto run = kpr_gen(
        fmt::format("build --schema '{}' --out-dir '{}'", schema.string(), dir.path.string()));
    EXPECT_EQ(run.status, 0) << run.output;
    for (const char* f : {"kpr_sock.bpf.o", "kpr_sock.manifest.json", "kpr_tc.bpf.c",
                          "kpr_tc.bpf.o", "kpr_tc.manifest.json"})
        EXPECT_TRUE(fs::exists(dir.path / f)) << f;
    const auto manifest = read_file_contents(dir.path / "kpr_tc.manifest.json").value_or("");
    for (const char* name : {"kpr_ipcache4", "kpr_endpoint", "kpr_policy", "kpr_ct6", "kpr_drops",
                             "kpr_from_pod", "kpr_to_pod"})
        EXPECT_NE(manifest.find(name), std::string::npos) << name;
    EXPECT_EQ(manifest.find("kpr_svc4"), std::string::npos) << "socket maps stay in kpr_sock";
    const auto explain = kpr_gen(fmt::format("explain --schema '{}'", schema.string()));
    EXPECT_NE(explain.output.find("object kpr_tc.bpf.o"), std::string::npos) << explain.output;
    EXPECT_NE(explain.output.find("BPF_MAP_TYPE_LPM_TRIE"), std::string::npos) << explain.output;
    const auto no_tc =
        kpr_gen(fmt::format("emit --schema '{}' --object tc", KPR_EXAMPLE_SCHEMA));
    EXPECT_EQ(no_tc.status, 1);
    EXPECT_NE(no_tc.output.find("builds no tc object"), std::string::npos) << no_tc.output;
}

} // namespace
} // namespace kpr
