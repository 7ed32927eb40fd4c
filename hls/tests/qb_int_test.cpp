// Unit test of include/qb_int.h against hand-computed cases (two's complement wrap-around, sign and zero
// extension, 64-bit arithmetic on read, wrapping compound assignment, exact conversion to double).
#include "qb_int.h"

#include <cstdio>

static int passed = 0, failed = 0;

static void check(bool ok, const char *what, long long got, long long want) {
    if (ok) {
        passed++;
    } else {
        failed++;
        std::printf("FAIL %s: got %lld, want %lld\n", what, got, want);
    }
}
#define EQ(expr, want) check((long long)(expr) == (long long)(want), #expr, (long long)(expr), (long long)(want))

int main() {
    // construction keeps the low W bits and sign-extends (hand-computed)
    EQ(qb::int_t<8>(200), -56);          // 0xC8 -> -56
    EQ(qb::int_t<8>(127), 127);
    EQ(qb::int_t<8>(128), -128);
    EQ(qb::int_t<8>(-129), 127);         // 0x...F7F -> 0x7F
    EQ(qb::int_t<4>(7), 7);
    EQ(qb::int_t<4>(8), -8);
    EQ(qb::int_t<4>(0xF), -1);
    EQ(qb::int_t<4>(0x1F), -1);          // only the low 4 bits count
    EQ(qb::int_t<2>(2), -2);
    EQ(qb::int_t<2>(3), -1);
    EQ(qb::int_t<1>(1), -1);
    EQ(qb::int_t<48>(int64_t(1) << 47), -(int64_t(1) << 47));
    EQ(qb::int_t<48>((int64_t(1) << 47) - 1), (int64_t(1) << 47) - 1);
    EQ(qb::int_t<32>(int64_t(0x80000000LL)), -2147483648LL);
    EQ(qb::int_t<64>(int64_t(-5)), -5);
    // unsigned: zero extension
    EQ(qb::uint_t<4>(-1), 15);
    EQ(qb::uint_t<4>(0x13), 3);
    EQ(qb::uint_t<6>(64 + 5), 5);
    EQ(qb::uint_t<12>(-2), 4094);
    // reading gives 64 bits: the sum of two narrow values does not wrap until it is stored
    qb::int_t<8> a = 100, b = 100;
    EQ(a + b, 200);
    qb::int_t<8> c = a + b;              // stored: wraps
    EQ(c, -56);
    qb::int_t<16> p = qb::int_t<8>(-128) * qb::int_t<8>(-128);  // 16384 fits 16 bits
    EQ(p, 16384);
    qb::int_t<15> p15 = qb::int_t<8>(-128) * qb::int_t<8>(-128);  // 16384 = 0x4000 in 15 bits is -16384
    EQ(p15, -16384);
    // compound assignment wraps at W bits
    qb::int_t<8> d = 120;
    d += 10;
    EQ(d, -126);
    d -= 3;                              // -129 -> 127
    EQ(d, 127);
    qb::int_t<8> e = 3;
    e <<= 6;                             // 192 -> -64
    EQ(e, -64);
    e >>= 2;                             // arithmetic: -16
    EQ(e, -16);
    qb::uint_t<8> u = 250;
    u += 10;
    EQ(u, 4);
    u -= 5;
    EQ(u, 255);
    u <<= 1;
    EQ(u, 254);
    qb::int_t<32> acc = 2147483647;
    acc += 1;
    EQ(acc, -2147483648LL);
    qb::int_t<48> acc48 = 0;
    acc48 += int64_t(57344) * 65536 * 127;  // E5M2 worst element times 127 (docs/emulator.md §4)
    EQ(acc48, 477278240768LL);             // 57344 * 65536 = 3,758,096,384; * 127 = 477,278,240,768
    // exact conversion to double
    qb::int_t<48> big = (int64_t(1) << 47) - 3;
    check(big.to_double() == 140737488355325.0, "to_double 2^47-3", (long long)big.to_double(), 140737488355325LL);
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
