// An IPv4 or IPv6 prefix (CIDR block), as NetworkPolicy ipBlocks and the
// ipcache carry them: parsed from "10.0.0.0/8", always stored with the host
// bits cleared (as Go's net.ParseCIDR, which the API server uses, reads
// "10.0.0.1/8"), and ordered so that a prefix sorts before every prefix it
// contains — the prefixes inside one block are a contiguous run.
#pragma once

#include <array>
#include <charconv>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "kpr/net/address.hpp"

namespace kpr::net {

inline std::uint8_t address_bits(Family family) {
    return family == Family::ipv4 ? 32 : 128;
}

class Prefix {
  public:
    // "10.0.0.0/8", "fd00::/64"; nullopt for anything else (a bare address
    // included: an ipBlock names a block).
    static std::optional<Prefix> parse(std::string_view text) {
        const std::size_t slash = text.find('/');
        if (slash == std::string_view::npos)
            return std::nullopt;
        const auto address = Address::parse(text.substr(0, slash));
        const std::string_view length_text = text.substr(slash + 1);
        unsigned length = 0;
        const auto [end, error] =
            std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
        if (!address || length_text.empty() || error != std::errc() ||
            end != length_text.data() + length_text.size() ||
            length > address_bits(address->family()))
            return std::nullopt;
        return Prefix(*address, static_cast<std::uint8_t>(length));
    }

    // The prefix of the given length holding address.
    Prefix(const Address& address, std::uint8_t length)
        : family_(address.family()), length_(length) {
        if (address.is_v4()) {
            const std::uint32_t v = address.v4_network_order();
            std::memcpy(bytes_.data(), &v, 4);
        } else {
            bytes_ = address.v6_bytes();
        }
        for (std::size_t bit = length; bit < 128; ++bit)
            bytes_[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
    }

    // The single-address prefix: /32 or /128.
    static Prefix host(const Address& address) {
        return Prefix(address, address_bits(address.family()));
    }

    Family family() const { return family_; }
    std::uint8_t length() const { return length_; }

    Address address() const {
        if (family_ == Family::ipv4) {
            std::uint32_t v;
            std::memcpy(&v, bytes_.data(), 4);
            return Address::v4(v);
        }
        return Address::v6(bytes_);
    }

    bool contains(const Address& a) const {
        return a.family() == family_ && Prefix(a, length_) == *this;
    }

    // Whether every address of inner is in this prefix.
    bool contains(const Prefix& inner) const {
        return inner.family_ == family_ && inner.length_ >= length_ &&
               Prefix(inner.address(), length_) == *this;
    }

    std::string str() const { return fmt::format("{}/{}", address().str(), length_); }

    // Family, then address, then length: a block is followed directly by
    // the prefixes inside it.
    auto operator<=>(const Prefix&) const = default;

  private:
    Family family_;
    std::array<std::uint8_t, 16> bytes_{};
    std::uint8_t length_;
};

} // namespace kpr::net
