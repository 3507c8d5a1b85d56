// Kubeconfig variants and the in-cluster configuration: what each field
// becomes, which context is chosen, and that a bad kubeconfig's error names
// the field (and its line).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kpr/k8s/api/api_config.hpp"

namespace kpr::k8s::api {
namespace {

namespace fs = std::filesystem;

class KubeconfigTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / fmt::format("kprt-{}-kubeconfig-test", ::getpid());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path write(const std::string& name, const std::string& text) const {
        const auto path = dir_ / name;
        std::ofstream(path) << text;
        return path;
    }

    std::string error_of(const std::string& text, const std::string& context = "") const {
        try {
            load_kubeconfig(write("config", text), context);
        } catch (const std::exception& e) {
            return e.what();
        }
        return "no error";
    }

    fs::path dir_;
};

// "hello" and "world" in base64.
constexpr const char* hello64 = "aGVsbG8=";
constexpr const char* world64 = "d29ybGQ=";

std::string two_contexts(const std::string& current) {
    return fmt::format(R"(apiVersion: v1
kind: Config
current-context: {}
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: {}
- name: lab
  cluster:
    server: https://[fd00::1]:6443
    insecure-skip-tls-verify: true
contexts:
- name: admin@prod
  context: {{cluster: prod, user: admin}}
- name: dev@lab
  context: {{cluster: lab, user: dev}}
users:
- name: admin
  user:
    client-certificate-data: {}
    client-key-data: {}
- name: dev
  user:
    token: abc123
)",
                       current, hello64, hello64, world64);
}

TEST_F(KubeconfigTest, TheCurrentContextWithInlineCertificates) {
    const auto c = load_kubeconfig(write("config", two_contexts("admin@prod")));
    EXPECT_EQ(c.server, "https://10.0.0.1:6443");
    EXPECT_EQ(c.certificate_authority.data, "hello");
    EXPECT_EQ(c.client_certificate.data, "hello");
    EXPECT_EQ(c.client_key.data, "world");
    EXPECT_FALSE(c.insecure_skip_tls_verify);
    EXPECT_EQ(c.bearer_token(), std::nullopt);
    EXPECT_NE(c.origin.find("context admin@prod"), std::string::npos);
}

TEST_F(KubeconfigTest, AContextChosenByNameWithATokenAndNoVerification) {
    const auto c = load_kubeconfig(write("config", two_contexts("admin@prod")), "dev@lab");
    EXPECT_EQ(c.server, "https://[fd00::1]:6443");
    EXPECT_TRUE(c.insecure_skip_tls_verify);
    EXPECT_EQ(c.bearer_token(), "abc123");
    EXPECT_TRUE(c.certificate_authority.empty());
}

TEST_F(KubeconfigTest, FilesAreRelativeToTheKubeconfigAndTheTokenFileIsReadEachTime) {
    write("ca.crt", "ca");
    write("client.crt", "crt");
    write("client.key", "key");
    write("token", "first\n");
    const auto path = write("config", R"(apiVersion: v1
kind: Config
current-context: c
clusters:
- name: k
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: ca.crt}
contexts:
- name: c
  context: {cluster: k, user: u}
users:
- name: u
  user: {client-certificate: client.crt, client-key: client.key, token: fixed, tokenFile: token}
)");
    const auto c = load_kubeconfig(path);
    EXPECT_EQ(c.certificate_authority.file, dir_ / "ca.crt");
    EXPECT_EQ(c.client_certificate.file, dir_ / "client.crt");
    EXPECT_EQ(c.client_key.file, dir_ / "client.key");
    EXPECT_EQ(c.bearer_token(), "first") << "the token file wins over a fixed token";
    write("token", "rotated\n");
    EXPECT_EQ(c.bearer_token(), "rotated");
}

TEST_F(KubeconfigTest, ABadKubeconfigNamesTheField) {
    auto text = two_contexts("admin@prod");
    EXPECT_NE(error_of(text, "nobody").find("no entry named \"nobody\" in contexts"), std::string::npos);

    auto bad64 = text;
    bad64.replace(bad64.find(world64), std::string(world64).size(), "not*base64");
    const auto e = error_of(bad64);
    EXPECT_NE(e.find("users[0].user.client-key-data: not valid base64"), std::string::npos) << e;
    EXPECT_NE(e.find("config:22:"), std::string::npos) << "the line of the field: " << e;

    auto no_server = text;
    no_server.replace(no_server.find("    server: https://10.0.0.1:6443/\n"), 35, "");
    EXPECT_NE(error_of(no_server).find("clusters[0].cluster.server: required"), std::string::npos)
        << error_of(no_server);

    auto no_current = text;
    no_current.replace(no_current.find("current-context: admin@prod"), 27, "current-context: \"\"");
    EXPECT_NE(error_of(no_current).find("current-context: required"), std::string::npos) << error_of(no_current);

    auto missing_file = text;
    missing_file.replace(missing_file.find("token: abc123"), 13, "tokenFile: /nonexistent/token");
    EXPECT_NE(error_of(missing_file, "dev@lab").find("users[1].user.tokenFile: /nonexistent/token is not a readable file"),
              std::string::npos)
        << error_of(missing_file, "dev@lab");

    auto exec = text;
    exec.replace(exec.find("token: abc123"), 13, "exec: {command: aws}");
    EXPECT_NE(error_of(exec, "dev@lab").find("users[1].user.exec: not supported"), std::string::npos);

    EXPECT_NE(error_of("server: [").find("config:"), std::string::npos) << "a YAML syntax error has its place";
}

TEST(InClusterConfig, ReadsTheEnvironmentAndTheServiceAccount) {
    const auto dir = fs::temp_directory_path() / fmt::format("kprt-{}-serviceaccount", ::getpid());
    fs::create_directories(dir);
    std::ofstream(dir / "ca.crt") << "ca";
    std::ofstream(dir / "token") << "sa-token\n";
    ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    const auto c = in_cluster_config(dir);
    EXPECT_EQ(c.server, "https://10.96.0.1:443");
    EXPECT_EQ(c.certificate_authority.file, dir / "ca.crt");
    EXPECT_EQ(c.bearer_token(), "sa-token");
    std::ofstream(dir / "token") << "rotated-token\n";
    EXPECT_EQ(c.bearer_token(), "rotated-token");

    ::setenv("KUBERNETES_SERVICE_HOST", "fd00:96::1", 1);
    EXPECT_EQ(in_cluster_config(dir).server, "https://[fd00:96::1]:443");

    ::unsetenv("KUBERNETES_SERVICE_HOST");
    EXPECT_THROW(in_cluster_config(dir), runtime::Error);
    ::unsetenv("KUBERNETES_SERVICE_PORT");
    fs::remove_all(dir);
}

} // namespace
} // namespace kpr::k8s::api
