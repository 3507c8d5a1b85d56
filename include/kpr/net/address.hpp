// An IPv4 or IPv6 address as Kubernetes objects and BPF maps carry it:
// parsed from and printed as text, stored in network byte order.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace kpr::net {

enum class Family : std::uint8_t { ipv4, ipv6 };

inline std::string_view to_string(Family f) { return f == Family::ipv4 ? "IPv4" : "IPv6"; }

class Address {
  public:
    // Accepts the canonical text forms inet_pton accepts; nullopt otherwise.
    static std::optional<Address> parse(std::string_view text) {
        std::string s(text);
        Address a;
        if (::inet_pton(AF_INET, s.c_str(), a.bytes_.data()) == 1) {
            a.family_ = Family::ipv4;
            return a;
        }
        if (::inet_pton(AF_INET6, s.c_str(), a.bytes_.data()) == 1) {
            a.family_ = Family::ipv6;
            return a;
        }
        return std::nullopt;
    }

    static Address v4(std::uint32_t network_order) {
        Address a;
        a.family_ = Family::ipv4;
        std::memcpy(a.bytes_.data(), &network_order, 4);
        return a;
    }

    static Address v6(const std::array<std::uint8_t, 16>& bytes) {
        Address a;
        a.family_ = Family::ipv6;
        a.bytes_ = bytes;
        return a;
    }

    Family family() const { return family_; }
    bool is_v4() const { return family_ == Family::ipv4; }

    // Network byte order, as the kernel stores it in sockaddr_in.
    std::uint32_t v4_network_order() const {
        std::uint32_t v;
        std::memcpy(&v, bytes_.data(), 4);
        return v;
    }
    const std::array<std::uint8_t, 16>& v6_bytes() const { return bytes_; }

    std::string str() const {
        char buf[INET6_ADDRSTRLEN] = {};
        ::inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
        return buf;
    }

    // "10.0.0.1:80" or "[fd00::1]:80", as URLs and socket tools write them.
    std::string with_port(std::uint16_t port) const {
        return is_v4() ? str() + ":" + std::to_string(port) : "[" + str() + "]:" + std::to_string(port);
    }

    auto operator<=>(const Address&) const = default;

  private:
    Family family_ = Family::ipv4;
    std::array<std::uint8_t, 16> bytes_{};
};

} // namespace kpr::net
