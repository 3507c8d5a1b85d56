// HTTPS requests to the Kubernetes API server with libcurl: a plain GET for
// list pages, and a streaming GET for watches that hands each received chunk
// to the caller as it arrives. Authentication and TLS follow the ApiConfig;
// the bearer token is read afresh for each request, so a rotated token file
// is picked up on the next one. One ApiClient per thread (it keeps its
// connection open between requests).
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "kpr/k8s/api/api_config.hpp"
#include "kpr/runtime/error.hpp"

namespace kpr::k8s::api {

struct ApiResponse {
    long status = 0;        // the HTTP status; 0 when no response arrived
    std::string body;       // a GET's body, or a failed stream's (a Status object)
    std::string transport;  // why the transfer failed (curl's words); empty when it completed
    bool stopped = false;   // ended because the caller asked (stop flag or on_data)
    bool idle = false;      // ended because nothing arrived within the idle limit

    bool ok() const { return transport.empty() && status >= 200 && status < 300; }
};

class ApiClient {
  public:
    explicit ApiClient(ApiConfig config) : config_(std::move(config)), curl_(make_handle()) {}

    const ApiConfig& config() const { return config_; }

    // GET path (with its query) and the whole body; gives up after timeout.
    ApiResponse get(std::string_view path, std::chrono::seconds timeout) {
        Transfer t;
        t.on_data = [&](std::string_view data) {
            t.response.body.append(data);
            return true;
        };
        t.compressed = true;
        perform(path, t, timeout);
        return std::move(t.response);
    }

    // GET path and pass the body to on_data chunk by chunk while the status
    // is 2xx (another status's body is kept in the response). Ends when the
    // server ends it, on_data returns false, stop becomes true, or nothing
    // arrives for idle_limit.
    ApiResponse stream(std::string_view path, const std::function<bool(std::string_view)>& on_data,
                       const std::atomic<bool>& stop, std::chrono::milliseconds idle_limit) {
        Transfer t;
        t.stop = &stop;
        t.idle_limit = idle_limit;
        t.on_data = [&](std::string_view data) {
            if (t.response.status < 200 || t.response.status >= 300) {
                t.response.body.append(data);
                return true;
            }
            return on_data(data);
        };
        perform(path, t, std::chrono::seconds(0));
        return std::move(t.response);
    }

  private:
    struct Transfer {
        ApiResponse response;
        std::function<bool(std::string_view)> on_data;
        const std::atomic<bool>* stop = nullptr;
        std::chrono::milliseconds idle_limit{0};
        std::chrono::steady_clock::time_point last_data = std::chrono::steady_clock::now();
        CURL* curl = nullptr;
        // Lists may come compressed; a watch stream not, since a compressor
        // may hold an event back until more arrive.
        bool compressed = false;
    };

    struct CurlDeleter {
        void operator()(CURL* c) const { curl_easy_cleanup(c); }
    };
    struct SlistDeleter {
        void operator()(curl_slist* l) const { curl_slist_free_all(l); }
    };

    static std::unique_ptr<CURL, CurlDeleter> make_handle() {
        static std::once_flag once;
        std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
        std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
        if (!curl)
            throw runtime::Error("libcurl: cannot create a handle");
        return curl;
    }

    static size_t on_write(char* data, size_t size, size_t count, void* user) {
        auto* t = static_cast<Transfer*>(user);
        t->last_data = std::chrono::steady_clock::now();
        if (t->response.status == 0)
            curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->response.status);
        if (!t->on_data({data, size * count})) {
            t->response.stopped = true;
            return CURL_WRITEFUNC_ERROR;
        }
        return size * count;
    }

    // Called about once a second even when nothing arrives.
    static int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
        auto* t = static_cast<Transfer*>(user);
        if (t->stop && t->stop->load()) {
            t->response.stopped = true;
            return 1;
        }
        if (t->idle_limit.count() > 0 && std::chrono::steady_clock::now() - t->last_data > t->idle_limit) {
            t->response.idle = true;
            return 1;
        }
        return 0;
    }

    static void set_pem(CURL* curl, const PemSource& pem, CURLoption file_option, CURLoption blob_option) {
        if (!pem.data.empty()) {
            curl_blob blob{const_cast<char*>(pem.data.data()), pem.data.size(), CURL_BLOB_COPY};
            curl_easy_setopt(curl, blob_option, &blob);
        } else if (!pem.file.empty()) {
            curl_easy_setopt(curl, file_option, pem.file.c_str());
        }
    }

    void perform(std::string_view path, Transfer& t, std::chrono::seconds timeout) {
        CURL* curl = curl_.get();
        t.curl = curl;
        curl_easy_reset(curl);
        const std::string url = config_.server + std::string(path);
        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(timeout.count()));
        if (t.compressed) // gzip, as client-go asks for and kube-apiserver gives
            curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &ApiClient::on_write);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &ApiClient::on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
        set_pem(curl, config_.certificate_authority, CURLOPT_CAINFO, CURLOPT_CAINFO_BLOB);
        set_pem(curl, config_.client_certificate, CURLOPT_SSLCERT, CURLOPT_SSLCERT_BLOB);
        set_pem(curl, config_.client_key, CURLOPT_SSLKEY, CURLOPT_SSLKEY_BLOB);
        if (config_.insecure_skip_tls_verify) {
            curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        std::unique_ptr<curl_slist, SlistDeleter> headers(curl_slist_append(nullptr, "Accept: application/json"));
        if (const auto token = config_.bearer_token())
            headers.reset(curl_slist_append(headers.release(), fmt::format("Authorization: Bearer {}", *token).c_str()));
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());

        char error_text[CURL_ERROR_SIZE] = {};
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
        const CURLcode code = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t.response.status);
        if (code != CURLE_OK && !t.response.stopped && !t.response.idle)
            t.response.transport = error_text[0] ? error_text : curl_easy_strerror(code);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    }

    ApiConfig config_;
    std::unique_ptr<CURL, CurlDeleter> curl_;
};

} // namespace kpr::k8s::api
