// The embedded source for a machine with no cluster: Kubernetes objects read
// from local files (the YAML or JSON one would give `kubectl apply`, or what
// `kubectl get -o yaml` prints), read again when they change. It never loses
// what was already good because of bad input:
//
// - Each file's last good object set is remembered. A file that cannot be
//   read, or is not valid YAML, keeps its previous objects.
// - An object with an invalid field keeps its previous version from that
//   file, if it had one; the file's other objects are updated.
// - When a file has a document whose kind or name cannot be determined,
//   objects that disappeared from the file since the last read are kept this
//   round (the broken document may be them); objects still present or newly
//   valid are updated.
// - A file that no longer exists, or has left its directory, takes its
//   objects with it (a configured path that does not exist is also
//   reported). A directory that cannot be listed keeps its files' objects.
// - The same object (kind, namespace, name) in two files, or twice in one
//   file: a diagnostic naming both places; the one in the file whose path
//   sorts first (within a file, the earlier one) wins.
// - state() merges all files' current object sets.
//
// Every file is read on each reload(), but only a file whose content changed
// is parsed again. Content (size and hash) decides, not the modification
// time, whose granularity can hide a quick edit that keeps the size.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kpr/k8s/cluster_state.hpp"
#include "kpr/k8s/diagnostic.hpp"
#include "kpr/k8s/yaml_decode.hpp"

namespace kpr::k8s {

namespace detail {

struct FileContent {
    std::string text;
    std::error_code error;
};

inline FileContent read_file_content(const std::filesystem::path& path) {
    FileContent out;
    // O_NONBLOCK: a file swapped for a FIFO after it was listed must not hang
    // the reader.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        out.error = {errno, std::system_category()};
        return out;
    }
    char buffer[1 << 16];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n > 0) {
            out.text.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0) {
            break;
        } else if (errno != EINTR) {
            out.error = {errno, std::system_category()};
            break;
        }
    }
    ::close(fd);
    return out;
}

inline Diagnostic file_problem(const std::filesystem::path& path, std::string message) {
    return {{path.string()}, "", "", std::move(message)};
}

// Adds object unless its key is taken; then reports both places and keeps
// the one already there.
template <class Object>
void add_first_definition(std::map<ObjectKey, Object>& objects, const Object& object,
                          std::vector<Diagnostic>& diagnostics) {
    const auto [it, added] = objects.try_emplace(object.key(), object);
    if (!added)
        diagnostics.push_back({object.meta.location, object.key().str(), "",
                               fmt::format("also defined at {}; that definition is used",
                                           it->second.meta.location.str())});
}

// One kind's part of a file's new object set, by the rules above.
template <class Object>
std::map<ObjectKey, Object>
merge_file_objects(const std::vector<Object>& decoded, std::map<ObjectKey, Object> previous,
                   const std::vector<ObjectKey>& rejected, bool keep_disappeared,
                   std::vector<Diagnostic>& diagnostics) {
    std::map<ObjectKey, Object> current;
    for (const Object& object : decoded)
        add_first_definition(current, object, diagnostics);
    for (const ObjectKey& key : rejected)
        if (auto kept = previous.extract(key))
            current.insert(std::move(kept));
    if (keep_disappeared)
        current.merge(previous); // moves only the keys current lacks
    return current;
}

} // namespace detail

class FileSource {
  public:
    // Each path is a file, or a directory whose *.yaml, *.yml and *.json
    // files are read (not recursively, in name order, skipping hidden files
    // such as editors' temporaries). Nothing is read before reload().
    explicit FileSource(std::vector<std::filesystem::path> paths) : paths_(std::move(paths)) {}

    // Reads every file again; returns this read's diagnostics (empty when all
    // is well). Problems still present are reported again on each read.
    std::vector<Diagnostic> reload() {
        std::vector<Diagnostic> diagnostics;
        std::map<std::filesystem::path, FileRecord> previous = std::exchange(files_, {});
        for (std::size_t origin = 0; origin < paths_.size(); ++origin) {
            const auto files = list_files(paths_[origin], diagnostics);
            if (!files) {
                keep_files_of(origin, previous);
                continue;
            }
            for (const std::filesystem::path& file : *files)
                if (!files_.contains(file))
                    read_file(file, origin, previous, diagnostics);
        }
        rebuild_state(diagnostics);
        return diagnostics;
    }

    const ClusterState& state() const { return state_; }

    // The directories to watch for changes (inotify): each configured
    // directory, and the parent of each configured file.
    std::vector<std::filesystem::path> watch_directories() const {
        std::set<std::filesystem::path> directories;
        for (const std::filesystem::path& path : paths_) {
            std::error_code error;
            if (std::filesystem::is_directory(path, error))
                directories.insert(path);
            else
                directories.insert(path.has_parent_path() ? path.parent_path() : ".");
        }
        return {directories.begin(), directories.end()};
    }

  private:
    // The size and hash of a file's content, to tell whether it changed.
    struct Fingerprint {
        std::size_t size = 0;
        std::size_t hash = 0;
        bool operator==(const Fingerprint&) const = default;
    };

    struct FileRecord {
        std::size_t origin; // the index of the configured path that named the file
        Fingerprint fingerprint;
        DecodeResult decoded; // of the content with that fingerprint
        ClusterState objects; // the file's current (last good) object set
    };

    // The files a configured path names now; nullopt when that cannot be
    // told (a directory that cannot be listed, a path that is neither a file
    // nor a directory), so that its files keep their objects.
    static std::optional<std::vector<std::filesystem::path>>
    list_files(const std::filesystem::path& path, std::vector<Diagnostic>& diagnostics) {
        namespace fs = std::filesystem;
        std::error_code error;
        const fs::file_status status = fs::status(path, error);
        if (status.type() == fs::file_type::not_found) {
            diagnostics.push_back(detail::file_problem(path, "no such file or directory"));
            return std::vector<fs::path>{};
        }
        if (error) {
            diagnostics.push_back(
                detail::file_problem(path, fmt::format("cannot read: {}", error.message())));
            return std::nullopt;
        }
        if (fs::is_regular_file(status))
            return std::vector<fs::path>{path};
        if (!fs::is_directory(status)) {
            diagnostics.push_back(
                detail::file_problem(path, "cannot read: not a regular file or directory"));
            return std::nullopt;
        }

        std::vector<fs::path> files;
        for (fs::directory_iterator it(path, error), end; !error && it != end;
             it.increment(error)) {
            const std::string name = it->path().filename().string();
            const std::string extension = it->path().extension().string();
            std::error_code entry_error;
            if (!name.starts_with(".") &&
                (extension == ".yaml" || extension == ".yml" || extension == ".json") &&
                it->is_regular_file(entry_error))
                files.push_back(it->path());
        }
        if (error) {
            diagnostics.push_back(
                detail::file_problem(path, fmt::format("cannot list: {}", error.message())));
            return std::nullopt;
        }
        std::sort(files.begin(), files.end());
        return files;
    }

    void keep_files_of(std::size_t origin, std::map<std::filesystem::path, FileRecord>& previous) {
        for (auto it = previous.begin(); it != previous.end();) {
            if (it->second.origin == origin)
                files_.insert(previous.extract(it++));
            else
                ++it;
        }
    }

    void read_file(const std::filesystem::path& path, std::size_t origin,
                   std::map<std::filesystem::path, FileRecord>& previous,
                   std::vector<Diagnostic>& diagnostics) {
        auto before = previous.extract(path);
        detail::FileContent content = detail::read_file_content(path);
        if (content.error == std::errc::no_such_file_or_directory)
            return; // removed since the directory was listed
        if (content.error) {
            diagnostics.push_back(detail::file_problem(
                path, fmt::format("cannot read: {}", content.error.message())));
            if (before)
                files_.insert(std::move(before));
            return;
        }

        const Fingerprint fingerprint{content.text.size(), std::hash<std::string>{}(content.text)};
        const bool unchanged = before && before.mapped().fingerprint == fingerprint;
        DecodeResult decoded = unchanged ? std::move(before.mapped().decoded)
                                         : decode_yaml(content.text, path.string());
        diagnostics.insert(diagnostics.end(), decoded.errors.begin(), decoded.errors.end());

        ClusterState last_good = before ? std::move(before.mapped().objects) : ClusterState{};
        const bool keep_disappeared = !decoded.all_documents_identified;
        const auto merge = [&](const auto& decoded_objects, auto& last_good_objects) {
            return detail::merge_file_objects(decoded_objects, std::move(last_good_objects),
                                              decoded.rejected, keep_disappeared, diagnostics);
        };
        ClusterState objects;
        objects.services = merge(decoded.services, last_good.services);
        objects.endpoint_slices = merge(decoded.endpoint_slices, last_good.endpoint_slices);
        objects.pods = merge(decoded.pods, last_good.pods);
        objects.namespaces = merge(decoded.namespaces, last_good.namespaces);
        objects.network_policies = merge(decoded.network_policies, last_good.network_policies);
        objects.nodes = merge(decoded.nodes, last_good.nodes);
        files_.emplace(path,
                       FileRecord{origin, fingerprint, std::move(decoded), std::move(objects)});
    }

    void rebuild_state(std::vector<Diagnostic>& diagnostics) {
        ClusterState state;
        const auto add_all = [&](auto& merged, const auto& file_objects) {
            for (const auto& [key, object] : file_objects)
                detail::add_first_definition(merged, object, diagnostics);
        };
        for (const auto& [path, record] : files_) {
            add_all(state.services, record.objects.services);
            add_all(state.endpoint_slices, record.objects.endpoint_slices);
            add_all(state.pods, record.objects.pods);
            add_all(state.namespaces, record.objects.namespaces);
            add_all(state.network_policies, record.objects.network_policies);
            add_all(state.nodes, record.objects.nodes);
        }
        state_ = std::move(state);
    }

    std::vector<std::filesystem::path> paths_;
    std::map<std::filesystem::path, FileRecord> files_;
    ClusterState state_;
};

} // namespace kpr::k8s
