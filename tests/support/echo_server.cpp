// kpr-test-server: the backend the kernel tests connect to. It answers every
// line on a TCP connection and every UDP datagram with its --name, so a test
// can tell which backend a connection reached; with --report-client the
// reply is "<name>@<client address>", the address the request came from as
// this backend saw it (so a test can tell whether it was SNATed). One
// dual-stack TCP and UDP socket per --port; prints "ready" once all of them
// are listening.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "testbed/unique_fd.hpp"

namespace {

using kpr::testbed::UniqueFd;

enum class Role { stop_signal, tcp_listener, udp_socket, tcp_connection };

// An address as text; an IPv4-mapped one as plain IPv4.
std::string client_address(const sockaddr_in6& address) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (IN6_IS_ADDR_V4MAPPED(&address.sin6_addr))
        ::inet_ntop(AF_INET, &address.sin6_addr.s6_addr[12], text, sizeof text);
    else
        ::inet_ntop(AF_INET6, &address.sin6_addr, text, sizeof text);
    return text;
}

class EchoServer {
  public:
    EchoServer(std::string name, bool report_client)
        : name_(std::move(name)), report_client_(report_client) {
        epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
        if (!epoll_)
            fail("epoll_create1");
    }

    // SIGTERM and SIGINT arrive as readable data, so the loop ends cleanly.
    void stop_on_signals() {
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGTERM);
        sigaddset(&signals, SIGINT);
        if (::sigprocmask(SIG_BLOCK, &signals, nullptr) != 0)
            fail("sigprocmask");
        watch(UniqueFd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK)), Role::stop_signal);
    }

    void listen_on(std::uint16_t port) {
        UniqueFd tcp = bound_socket(SOCK_STREAM, port);
        if (::listen(tcp.get(), SOMAXCONN) != 0)
            fail(fmt::format("listen on TCP port {}", port));
        watch(std::move(tcp), Role::tcp_listener);

        UniqueFd udp = bound_socket(SOCK_DGRAM, port);
        // The reply must leave from the address the request was sent to.
        set_option(udp.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
        watch(std::move(udp), Role::udp_socket);
    }

    void serve() {
        for (;;) {
            epoll_event events[64];
            const int n =
                ::epoll_wait(epoll_.get(), events, static_cast<int>(std::size(events)), -1);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                fail("epoll_wait");
            }
            for (int i = 0; i < n; ++i) {
                const int fd = events[i].data.fd;
                switch (sockets_.at(fd).role) {
                case Role::stop_signal:
                    return;
                case Role::tcp_listener:
                    accept_all(fd);
                    break;
                case Role::udp_socket:
                    answer_datagrams(fd);
                    break;
                case Role::tcp_connection:
                    answer_lines(fd);
                    break;
                }
            }
        }
    }

  private:
    struct Watched {
        UniqueFd fd;
        Role role;
        std::string reply = {}; // a TCP connection's answer to each line
    };

    [[noreturn]] static void fail(std::string_view what) {
        fmt::print(stderr, "kpr-test-server: {}: {}\n", what, std::strerror(errno));
        std::exit(1);
    }

    static void set_option(int fd, int level, int option, int value, std::string_view name) {
        if (::setsockopt(fd, level, option, &value, sizeof value) != 0)
            fail(fmt::format("setsockopt {}", name));
    }

    static UniqueFd bound_socket(int type, std::uint16_t port) {
        const char* protocol = type == SOCK_STREAM ? "TCP" : "UDP";
        UniqueFd fd(::socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd)
            fail(fmt::format("{} socket", protocol));
        set_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 0, "IPV6_V6ONLY");
        set_option(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        address.sin6_addr = in6addr_any;
        address.sin6_port = htons(port);
        if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
            fail(fmt::format("bind {} port {}", protocol, port));
        return fd;
    }

    void watch(UniqueFd fd, Role role) {
        if (!fd)
            fail("creating a descriptor");
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = fd.get();
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd.get(), &event) != 0)
            fail("epoll_ctl");
        const int key = fd.get();
        sockets_.insert_or_assign(key, Watched{std::move(fd), role});
    }

    void forget(int fd) { sockets_.erase(fd); }

    std::string reply_to(const sockaddr_in6& client) const {
        return report_client_ ? name_ + "@" + client_address(client) : name_;
    }

    void accept_all(int listener) {
        for (;;) {
            sockaddr_in6 client{};
            socklen_t length = sizeof client;
            UniqueFd connection(::accept4(listener, reinterpret_cast<sockaddr*>(&client), &length,
                                          SOCK_NONBLOCK | SOCK_CLOEXEC));
            if (!connection)
                return;
            const int fd = connection.get();
            watch(std::move(connection), Role::tcp_connection);
            sockets_.at(fd).reply = reply_to(client) + "\n";
        }
    }

    // One reply per newline received; a connection can be pinged many times.
    void answer_lines(int fd) {
        const std::string reply = sockets_.at(fd).reply;
        char buffer[4096];
        for (;;) {
            const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                return;
            if (n <= 0) {
                forget(fd);
                return;
            }
            const auto lines = std::count(buffer, buffer + n, '\n');
            for (long i = 0; i < lines; ++i) {
                if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT) !=
                    static_cast<ssize_t>(reply.size())) {
                    forget(fd);
                    return;
                }
            }
        }
    }

    void answer_datagrams(int fd) {
        for (;;) {
            char payload[2048];
            sockaddr_in6 sender{};
            iovec request_data{payload, sizeof payload};
            alignas(cmsghdr) char request_control[CMSG_SPACE(sizeof(in6_pktinfo))];
            msghdr request{};
            request.msg_name = &sender;
            request.msg_namelen = sizeof sender;
            request.msg_iov = &request_data;
            request.msg_iovlen = 1;
            request.msg_control = request_control;
            request.msg_controllen = sizeof request_control;
            if (::recvmsg(fd, &request, 0) < 0) {
                if (errno == EINTR)
                    continue;
                return;
            }

            const std::string answer = reply_to(sender);
            iovec reply_data{const_cast<char*>(answer.data()), answer.size()};
            alignas(cmsghdr) char reply_control[CMSG_SPACE(sizeof(in6_pktinfo))]{};
            msghdr reply{};
            reply.msg_name = &sender;
            reply.msg_namelen = request.msg_namelen;
            reply.msg_iov = &reply_data;
            reply.msg_iovlen = 1;
            for (cmsghdr* c = CMSG_FIRSTHDR(&request); c != nullptr; c = CMSG_NXTHDR(&request, c)) {
                if (c->cmsg_level != IPPROTO_IPV6 || c->cmsg_type != IPV6_PKTINFO)
                    continue;
                in6_pktinfo source{};
                std::memcpy(&source, CMSG_DATA(c), sizeof source);
                // Let routing pick the interface; only the source address is pinned.
                source.ipi6_ifindex = 0;
                reply.msg_control = reply_control;
                reply.msg_controllen = sizeof reply_control;
                cmsghdr* out = CMSG_FIRSTHDR(&reply);
                out->cmsg_level = IPPROTO_IPV6;
                out->cmsg_type = IPV6_PKTINFO;
                out->cmsg_len = CMSG_LEN(sizeof source);
                std::memcpy(CMSG_DATA(out), &source, sizeof source);
            }
            if (::sendmsg(fd, &reply, MSG_DONTWAIT) < 0)
                fmt::print(stderr, "kpr-test-server: UDP reply: {}\n", std::strerror(errno));
        }
    }

    std::string name_;
    bool report_client_;
    UniqueFd epoll_;
    std::unordered_map<int, Watched> sockets_;
};

int run_server(int argc, char** argv) {
    CLI::App app{"Test backend: answers each TCP line and UDP datagram with its name."};
    std::string name;
    std::vector<std::uint16_t> ports;
    bool report_client = false;
    app.add_option("--name", name, "the name every reply carries")->required();
    app.add_flag("--report-client", report_client,
                 "reply \"<name>@<client address>\": the address the request came from");
    app.add_option("--port", ports, "a TCP and UDP port to serve; repeatable")->required();
    CLI11_PARSE(app, argc, argv);

    EchoServer server(name, report_client);
    server.stop_on_signals();
    for (const auto port : ports)
        server.listen_on(port);
    fmt::print("ready\n");
    std::fflush(stdout);
    server.serve();
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run_server(argc, argv);
    } catch (const std::exception& e) {
        fmt::print(stderr, "kpr-test-server: {}\n", e.what());
        return 1;
    }
}
