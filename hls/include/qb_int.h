/*
 * Arbitrary-width integers for the Qbridge kernels: qb::int_t<W> (signed) and qb::uint_t<W> (unsigned), 1 <= W <= 64.
 *
 * Under Vitis HLS (__SYNTHESIS__ defined, or QB_USE_AP_INT for a C-simulation against Xilinx's headers) they are
 * ap_int<W> / ap_uint<W> from the tool's own <ap_int.h>; nothing of that header is copied here. Elsewhere they are
 * the small project-written template below, with the semantics the kernels rely on:
 *   - constructing or assigning from any integer keeps the low W bits (two's complement wrap-around; int_t
 *     sign-extends bit W-1, uint_t zero-extends);
 *   - reading a value (implicit conversion) gives int64_t / uint64_t, so arithmetic on two operands is done at
 *     64 bits and nothing is lost before the result is stored back into a W-bit variable (ap_int widens its
 *     results the same way for the widths used here: every product and sum in the kernels fits 64 bits);
 *   - compound assignments (+=, -=, *=, <<=, >>=, &=, |=) compute at 64 bits and wrap to W bits;
 *   - conversion to double is exact (|value| < 2^53 for the widths the kernels use for fp64 products).
 * The kernels never depend on a narrow operator result wrapping: they store into the variable that holds the
 * width, which is what ap_int also guarantees.
 */
#ifndef QB_INT_H
#define QB_INT_H

#include <stdint.h>

#if defined(__SYNTHESIS__) || defined(QB_USE_AP_INT)
#include <ap_int.h>
namespace qb {
template <int W> using int_t = ap_int<W>;
template <int W> using uint_t = ap_uint<W>;
} // namespace qb
#else
namespace qb {

namespace detail {
template <int W> struct mask {
    static_assert(W >= 1 && W <= 64, "qb::int_t widths are 1..64");
    static constexpr uint64_t value = W == 64 ? ~uint64_t(0) : ((uint64_t(1) << (W == 64 ? 0 : W)) - 1);
};
} // namespace detail

/* Signed W-bit two's complement integer. */
template <int W> class int_t {
    int64_t v_;
    static constexpr int64_t wrap(uint64_t x) {
        // keep the low W bits, then sign-extend bit W-1 (written without UB: shifts on unsigned only)
        return W == 64 ? int64_t(x)
                       : int64_t(((x & detail::mask<W>::value) ^ (uint64_t(1) << (W - 1 < 0 ? 0 : W - 1)))) -
                             int64_t(uint64_t(1) << (W - 1 < 0 ? 0 : W - 1));
    }

  public:
    constexpr int_t() : v_(0) {}
    constexpr int_t(int64_t x) : v_(wrap(uint64_t(x))) {}
    constexpr int_t(uint64_t x) : v_(wrap(x)) {}
    constexpr int_t(int x) : v_(wrap(uint64_t(int64_t(x)))) {}
    constexpr int_t(unsigned x) : v_(wrap(uint64_t(x))) {}
    constexpr int_t(long long x) : v_(wrap(uint64_t(x))) {}
    constexpr int_t(unsigned long long x) : v_(wrap(uint64_t(x))) {}
    constexpr operator int64_t() const { return v_; }
    constexpr int64_t to_int64() const { return v_; }
    constexpr double to_double() const { return double(v_); }
    int_t &operator+=(int64_t x) { v_ = wrap(uint64_t(v_) + uint64_t(x)); return *this; }
    int_t &operator-=(int64_t x) { v_ = wrap(uint64_t(v_) - uint64_t(x)); return *this; }
    int_t &operator*=(int64_t x) { v_ = wrap(uint64_t(v_) * uint64_t(x)); return *this; }
    int_t &operator<<=(int s) { v_ = wrap(uint64_t(v_) << s); return *this; }
    int_t &operator>>=(int s) { v_ = wrap(uint64_t(v_ >> s)); return *this; }
    int_t &operator&=(int64_t x) { v_ = wrap(uint64_t(v_ & x)); return *this; }
    int_t &operator|=(int64_t x) { v_ = wrap(uint64_t(v_ | x)); return *this; }
};

/* Unsigned W-bit integer. */
template <int W> class uint_t {
    uint64_t v_;
    static constexpr uint64_t wrap(uint64_t x) { return x & detail::mask<W>::value; }

  public:
    constexpr uint_t() : v_(0) {}
    constexpr uint_t(int64_t x) : v_(wrap(uint64_t(x))) {}
    constexpr uint_t(uint64_t x) : v_(wrap(x)) {}
    constexpr uint_t(int x) : v_(wrap(uint64_t(int64_t(x)))) {}
    constexpr uint_t(unsigned x) : v_(wrap(uint64_t(x))) {}
    constexpr uint_t(long long x) : v_(wrap(uint64_t(x))) {}
    constexpr uint_t(unsigned long long x) : v_(wrap(uint64_t(x))) {}
    constexpr operator uint64_t() const { return v_; }
    constexpr uint64_t to_uint64() const { return v_; }
    constexpr double to_double() const { return double(v_); }
    uint_t &operator+=(uint64_t x) { v_ = wrap(v_ + x); return *this; }
    uint_t &operator-=(uint64_t x) { v_ = wrap(v_ - x); return *this; }
    uint_t &operator*=(uint64_t x) { v_ = wrap(v_ * x); return *this; }
    uint_t &operator<<=(int s) { v_ = wrap(v_ << s); return *this; }
    uint_t &operator>>=(int s) { v_ = wrap(v_ >> s); return *this; }
    uint_t &operator&=(uint64_t x) { v_ = wrap(v_ & x); return *this; }
    uint_t &operator|=(uint64_t x) { v_ = wrap(v_ | x); return *this; }
};

} // namespace qb
#endif

#endif
