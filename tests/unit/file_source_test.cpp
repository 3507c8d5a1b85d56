// The file source: objects load from files and directories, follow edits,
// and bad input never loses what was already good.
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kpr/k8s/file_source.hpp"

namespace kpr::k8s {
namespace {

namespace fs = std::filesystem;

// A Service in the default namespace with one TCP port; 8 lines long.
std::string service(std::string_view name, int port) {
    return fmt::format(R"(apiVersion: v1
kind: Service
metadata:
  name: {}
spec:
  clusterIP: 10.96.0.1
  ports:
  - port: {}
)",
                       name, port);
}

std::string endpoint_slice(std::string_view name, std::string_view service_name) {
    return fmt::format(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {}
  labels:
    kubernetes.io/service-name: {}
addressType: IPv4
endpoints:
- addresses: [10.244.0.5]
ports:
- port: 8080
)",
                       name, service_name);
}

ObjectKey service_key(std::string name) {
    return {"Service", "default", std::move(name)};
}

std::vector<std::string> texts(const std::vector<Diagnostic>& diagnostics) {
    std::vector<std::string> out;
    for (const Diagnostic& d : diagnostics)
        out.push_back(d.str());
    return out;
}

class FileSourceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "kpr-file-source-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path write(const fs::path& relative, std::string_view text) {
        const fs::path path = dir_ / relative;
        fs::create_directories(path.parent_path());
        std::ofstream(path, std::ios::trunc) << text;
        return path;
    }

    std::uint16_t port_of(const FileSource& source, const std::string& name) {
        return source.state().services.at(service_key(name)).ports.at(0).port;
    }

    fs::path dir_;
};

TEST_F(FileSourceTest, LoadsADirectory) {
    write("a-services.yaml", service("web", 80) + "---\n" + service("api", 8080));
    write("b-slices.yml", endpoint_slice("web-1", "web"));
    write("c.json", R"({"apiVersion": "v1", "kind": "Service",
                        "metadata": {"name": "dns", "namespace": "kube-system"},
                        "spec": {"ports": [{"port": 53, "protocol": "UDP"}]}})");
    write("notes.txt", "kind: not read");
    write(".hidden.yaml", "not: read");
    write("nested/d.yaml", service("deeper", 1));

    FileSource source({dir_});
    EXPECT_EQ(texts(source.reload()), std::vector<std::string>{});
    const ClusterState& state = source.state();
    EXPECT_EQ(state.services.size(), 3u);
    EXPECT_TRUE(state.services.contains(service_key("web")));
    EXPECT_TRUE(state.services.contains(service_key("api")));
    EXPECT_TRUE(state.services.contains(ObjectKey{"Service", "kube-system", "dns"}));
    ASSERT_EQ(state.endpoint_slices.size(), 1u);
    EXPECT_EQ(state.endpoint_slices.begin()->second.service_name, "web");
    EXPECT_EQ(source.watch_directories(), std::vector<fs::path>{dir_});
}

TEST_F(FileSourceTest, EditedFileUpdates) {
    write("svc.yaml", service("web", 80));
    FileSource source({dir_});
    source.reload();
    EXPECT_EQ(port_of(source, "web"), 80);

    // Same size, so only the content tells the edit apart.
    write("svc.yaml", service("web", 81));
    EXPECT_EQ(texts(source.reload()), std::vector<std::string>{});
    EXPECT_EQ(port_of(source, "web"), 81);
}

TEST_F(FileSourceTest, SyntaxErrorKeepsPreviousObjects) {
    const fs::path path = write("svc.yaml", service("web", 80) + "---\n" + service("api", 8080));
    FileSource source({path});
    source.reload();
    const ClusterState before = source.state();

    write("svc.yaml", service("web", 81) + "  - port: [82\n");
    EXPECT_EQ(texts(source.reload()),
              std::vector<std::string>{fmt::format(
                  "{}:10:1: invalid YAML: end of sequence flow not found", path.string())});
    EXPECT_EQ(source.state(), before);
}

TEST_F(FileSourceTest, UnreadableFileKeepsPreviousObjects) {
    const fs::path path = write("svc.yaml", service("web", 80));
    FileSource source({path});
    source.reload();
    const ClusterState before = source.state();

    fs::remove(path);
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
    EXPECT_EQ(texts(source.reload()),
              std::vector<std::string>{
                  fmt::format("{}: cannot read: not a regular file or directory", path.string())});
    EXPECT_EQ(source.state(), before);
}

TEST_F(FileSourceTest, InvalidObjectKeepsItsPreviousVersionWhileSiblingsUpdate) {
    const fs::path path = write("svc.yaml", service("web", 80) + "---\n" + service("api", 8080));
    FileSource source({dir_});
    source.reload();

    write("svc.yaml", service("web", 70000) + "---\n" + service("api", 8081) + "---\n" +
                          service("new", 9) + "---\n" + service("bad-new", 0));
    EXPECT_EQ(texts(source.reload()),
              (std::vector<std::string>{
                  fmt::format("{}:8:11: Service default/web: spec.ports[0].port: 70000 is out of "
                              "range 1-65535",
                              path.string()),
                  fmt::format("{}:35:11: Service default/bad-new: spec.ports[0].port: 0 is out of "
                              "range 1-65535",
                              path.string())}));
    EXPECT_EQ(port_of(source, "web"), 80);
    EXPECT_EQ(port_of(source, "api"), 8081);
    EXPECT_EQ(port_of(source, "new"), 9);
    EXPECT_FALSE(source.state().services.contains(service_key("bad-new")));
}

TEST_F(FileSourceTest, UnidentifiedDocumentDefersDeletions) {
    write("svc.yaml",
          service("web", 80) + "---\n" + service("api", 8080) + "---\n" + service("old", 1));
    FileSource source({dir_});
    source.reload();

    // web's kind is misspelt: it can no longer be told apart from a deletion,
    // and neither can old's removal.
    std::string misspelt = service("web", 81);
    misspelt.replace(misspelt.find("Service"), 7, "Servic");
    write("svc.yaml", misspelt + "---\n" + service("api", 8081) + "---\n" + service("added", 2));
    EXPECT_EQ(source.reload().size(), 1u);
    EXPECT_EQ(port_of(source, "web"), 80);
    EXPECT_EQ(port_of(source, "api"), 8081);
    EXPECT_EQ(port_of(source, "added"), 2);
    EXPECT_TRUE(source.state().services.contains(service_key("old")));

    // Every document identified again: the deletions take effect.
    write("svc.yaml", service("api", 8081));
    EXPECT_EQ(texts(source.reload()), std::vector<std::string>{});
    EXPECT_EQ(source.state().services.size(), 1u);
    EXPECT_EQ(port_of(source, "api"), 8081);
}

TEST_F(FileSourceTest, DeletedFileRemovesItsObjects) {
    write("a.yaml", service("web", 80));
    const fs::path b =
        write("b.yaml", service("api", 8080) + "---\n" + endpoint_slice("api-1", "api"));
    FileSource source({dir_});
    source.reload();
    EXPECT_EQ(source.state().services.size(), 2u);
    EXPECT_EQ(source.state().endpoint_slices.size(), 1u);

    fs::remove(b);
    EXPECT_EQ(texts(source.reload()), std::vector<std::string>{});
    EXPECT_EQ(source.state().services.size(), 1u);
    EXPECT_TRUE(source.state().services.contains(service_key("web")));
    EXPECT_TRUE(source.state().endpoint_slices.empty());
}

TEST_F(FileSourceTest, DuplicateKeyAcrossFilesNamesBothAndTheFirstFileWins) {
    const fs::path a = write("a.yaml", service("web", 80));
    const fs::path b = write("b.yaml", service("api", 8080) + "---\n" + service("web", 81));
    FileSource source({dir_});
    EXPECT_EQ(texts(source.reload()),
              std::vector<std::string>{fmt::format(
                  "{}:10:1: Service default/web: also defined at {}:1:1; that definition is used",
                  b.string(), a.string())});
    EXPECT_EQ(port_of(source, "web"), 80);
    EXPECT_EQ(port_of(source, "api"), 8080);
}

TEST_F(FileSourceTest, DuplicateKeyInOneFileKeepsTheFirst) {
    const fs::path path = write("svc.yaml", service("web", 80) + "---\n" + service("web", 81));
    FileSource source({path});
    EXPECT_EQ(texts(source.reload()),
              std::vector<std::string>{fmt::format(
                  "{0}:10:1: Service default/web: also defined at {0}:1:1; that definition is used",
                  path.string())});
    EXPECT_EQ(port_of(source, "web"), 80);
}

TEST_F(FileSourceTest, UnchangedFileReportsItsProblemsAgain) {
    const fs::path path = write("svc.yaml", service("web", 0));
    FileSource source({dir_});
    const std::vector<std::string> first = texts(source.reload());
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(texts(source.reload()), first);
    EXPECT_TRUE(source.state().services.empty());
}

TEST_F(FileSourceTest, MissingConfiguredPath) {
    const fs::path missing = dir_ / "missing.yaml";
    FileSource source({missing});
    EXPECT_EQ(texts(source.reload()), std::vector<std::string>{fmt::format(
                                          "{}: no such file or directory", missing.string())});
    EXPECT_TRUE(source.state().services.empty());
}

TEST_F(FileSourceTest, WatchesDirectoriesAndTheParentsOfFiles) {
    const fs::path file = write("one/svc.yaml", service("web", 80));
    write("one/other.yaml", service("api", 80));
    fs::create_directories(dir_ / "two");
    FileSource source({file, dir_ / "two", dir_ / "one" / "other.yaml"});
    EXPECT_EQ(source.watch_directories(), (std::vector<fs::path>{dir_ / "one", dir_ / "two"}));
}

} // namespace
} // namespace kpr::k8s
