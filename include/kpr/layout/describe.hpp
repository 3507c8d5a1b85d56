// Compile-time reflection of map layouts. A layout is a plain struct adapted
// with Boost.Hana that names its C struct (`c_name`); from it this header
// derives the C type of every field and each field's offset, and rejects at
// compile time what the kernel or the other side could misread: implicit
// padding, a field type with no fixed C spelling, and keys too large for
// a BPF hash map.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/hana/accessors.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/fold_left.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <boost/hana/transform.hpp>
#include <boost/hana/tuple.hpp>

#include "kpr/layout/byte_order.hpp"

namespace kpr::layout {

// The C spelling of a scalar field type; unspecialised types do not compile.
template <class T> struct c_scalar;
template <> struct c_scalar<std::uint8_t> { static constexpr std::string_view name = "__u8"; };
template <> struct c_scalar<std::uint16_t> { static constexpr std::string_view name = "__u16"; };
template <> struct c_scalar<std::uint32_t> { static constexpr std::string_view name = "__u32"; };
template <> struct c_scalar<std::uint64_t> { static constexpr std::string_view name = "__u64"; };
template <> struct c_scalar<be16> { static constexpr std::string_view name = "__be16"; };
template <> struct c_scalar<be32> { static constexpr std::string_view name = "__be32"; };

template <class T>
concept Scalar = requires { c_scalar<T>::name; };

// A field is a scalar or a fixed-size array of scalars.
template <class T> struct c_field {
    using element = T;
    static constexpr std::size_t extent = 0;
};
template <Scalar T, std::size_t N> struct c_field<std::array<T, N>> {
    using element = T;
    static constexpr std::size_t extent = N;
};

template <class T>
concept Layout = std::is_standard_layout_v<T> && std::is_trivially_copyable_v<T> &&
                 boost::hana::Struct<T>::value && requires {
                     { T::c_name } -> std::convertible_to<std::string_view>;
                 };

namespace detail {
template <class T> using member_types = decltype(boost::hana::transform(
    boost::hana::accessors<T>(), [](auto pair) {
        return boost::hana::type_c<
            std::remove_cvref_t<decltype(boost::hana::second(pair)(std::declval<T&>()))>>;
    }));

template <class T> constexpr std::size_t sum_of_member_sizes() {
    return boost::hana::fold_left(member_types<T>{}, std::size_t{0},
                                  [](std::size_t acc, auto t) {
                                      return acc + sizeof(typename decltype(t)::type);
                                  });
}

template <class T> constexpr bool members_have_c_types() {
    return boost::hana::fold_left(member_types<T>{}, true, [](bool ok, auto t) {
        return ok && Scalar<typename c_field<typename decltype(t)::type>::element>;
    });
}
} // namespace detail

// True when the struct has no byte the C++ compiler added on its own: members
// are laid out in declaration order, so the sizes add up exactly when there
// is no padding between or after them.
template <Layout T> constexpr bool has_no_implicit_padding() {
    return detail::sum_of_member_sizes<T>() == sizeof(T);
}

// A BPF hash map refuses keys larger than the BPF stack (MAX_BPF_STACK).
inline constexpr std::size_t max_hash_key_size = 512;

template <class T> constexpr void check_layout() {
    static_assert(Layout<T>, "a map layout is a standard-layout, trivially copyable struct "
                             "adapted with BOOST_HANA_ADAPT_STRUCT and naming its c_name");
    static_assert(detail::members_have_c_types<T>(),
                  "every field must be a scalar with a C spelling (c_scalar) or a std::array of one");
    static_assert(has_no_implicit_padding<T>(),
                  "implicit padding: add an explicit pad field so both sides agree on every byte");
}

template <class T> constexpr void check_key_layout() {
    check_layout<T>();
    static_assert(sizeof(T) <= max_hash_key_size, "key larger than a BPF hash map accepts");
}

struct FieldDescription {
    std::string_view name;
    std::string_view c_type; // of the element, for arrays
    std::size_t extent;      // 0 for a scalar
    std::size_t offset;
    std::size_t size;

    bool operator==(const FieldDescription&) const = default;
};

struct LayoutDescription {
    std::string_view c_name;
    std::size_t size;
    std::vector<FieldDescription> fields;

    bool operator==(const LayoutDescription&) const = default;
};

// The layout as data, for the C emitter and the loader's BTF check. Offsets
// are running sums, which check_layout<T>() proves to be the real offsets.
template <class T> LayoutDescription describe() {
    check_layout<T>();
    LayoutDescription d{T::c_name, sizeof(T), {}};
    std::size_t offset = 0;
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
        using Member = std::remove_cvref_t<decltype(boost::hana::second(pair)(std::declval<T&>()))>;
        using Field = c_field<Member>;
        d.fields.push_back(FieldDescription{boost::hana::to<char const*>(boost::hana::first(pair)),
                                            c_scalar<typename Field::element>::name, Field::extent,
                                            offset, sizeof(Member)});
        offset += sizeof(Member);
    });
    return d;
}

} // namespace kpr::layout
