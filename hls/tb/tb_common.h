// C-simulation test bench support (finn-hlslib style): reads the vectors HlsVectors wrote (layout in
// hls/README.md), runs one kernel's top function on every case and compares every output word for word.
// Test-bench code only: never included by a kernel.
#ifndef QB_TB_COMMON_H
#define QB_TB_COMMON_H

#include <cstdint>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "qbridge_kernels.h"

#ifdef QB_COUNT_CYCLES
extern "C" {
unsigned long long qb_cycles = 0;
}
#endif

namespace tb {

struct Case {
    std::string name, format;
    uint32_t act_mode = 0, n = 0, k = 0, tokens = 0, has_bias = 0;
    std::vector<int32_t> args;
    std::vector<uint8_t> weights, scales;
    std::vector<int8_t> codes;
    std::vector<float> bias, expected;
};

class Reader {
    std::vector<uint8_t> d_;
    size_t p_ = 0;
    bool ok_ = true;

  public:
    explicit Reader(const char *path) {
        FILE *f = std::fopen(path, "rb");
        if (!f) { ok_ = false; return; }
        uint8_t buf[65536];
        size_t r;
        while ((r = std::fread(buf, 1, sizeof buf, f)) > 0) d_.insert(d_.end(), buf, buf + r);
        std::fclose(f);
    }
    bool ok() const { return ok_; }
    bool need(size_t n) {
        if (p_ + n > d_.size()) ok_ = false;
        return ok_;
    }
    uint32_t u32() {
        if (!need(4)) return 0;
        uint32_t v = (uint32_t)d_[p_] | (uint32_t)d_[p_ + 1] << 8 | (uint32_t)d_[p_ + 2] << 16 | (uint32_t)d_[p_ + 3] << 24;
        p_ += 4;
        return v;
    }
    uint64_t u64() {
        uint64_t lo = u32();
        return lo | (uint64_t)u32() << 32;
    }
    float f32() {
        uint32_t u = u32();
        float f;
        std::memcpy(&f, &u, 4);
        return f;
    }
    std::string str() {
        uint32_t n = u32();
        if (!need(n)) return "";
        std::string s((const char *)&d_[p_], n);
        p_ += n;
        return s;
    }
    template <class T> std::vector<T> blob() {
        uint64_t n = u64();
        if (!need(n)) return {};
        std::vector<T> v(n);
        std::memcpy(v.data(), &d_[p_], n);
        p_ += n;
        return v;
    }
    bool magic() {
        if (!need(8) || std::memcmp(&d_[p_], "QBHLSVEC", 8) != 0) return ok_ = false;
        p_ += 8;
        return true;
    }
    bool at_end() const { return p_ == d_.size(); }
};

inline bool read_case(Reader &r, Case &c) {
    c.name = r.str();
    c.format = r.str();
    c.act_mode = r.u32();
    c.n = r.u32();
    c.k = r.u32();
    c.tokens = r.u32();
    c.has_bias = r.u32();
    uint32_t na = r.u32();
    if (na > 16) return false;
    c.args.resize(na);
    for (auto &a : c.args) a = (int32_t)r.u32();
    c.weights = r.blob<uint8_t>();
    c.codes = r.blob<int8_t>();
    c.scales = r.blob<uint8_t>();
    c.bias.assign(c.has_bias ? c.n : 0, 0.0f);
    for (auto &b : c.bias) b = r.f32();
    c.expected.resize((size_t)c.tokens * c.n);
    for (auto &y : c.expected) y = r.f32();
    // LO-BCQ activations (act_mode 2) are records, not one code per element: their length is the kernel's to read
    return r.ok() && (c.act_mode == QB_ACT_LOBCQ ? c.scales.size() == (size_t)c.tokens * 4 : c.codes.size() == (size_t)c.tokens * c.k);
}

/* Distance of two fp32 bit patterns in units in the last place (ordered as integers); 2^32 if one is NaN. */
inline uint64_t ulps(uint32_t a, uint32_t b) {
    auto nan = [](uint32_t u) { return (u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu) != 0; };
    if (nan(a) || nan(b)) return uint64_t(1) << 32;
    auto ord = [](uint32_t u) { return (u & 0x80000000u) ? -(int64_t)(u & 0x7fffffffu) : (int64_t)u; };
    int64_t d = ord(a) - ord(b);
    return (uint64_t)(d < 0 ? -d : d);
}

/*
 * Runs every case of `path` through `run` (which calls the kernel), compares word for word, prints the first
 * mismatch of each failing case with its row (token) and column (output), and ends with "N passed, N failed".
 * Returns the process exit status.
 */
template <class Run> int bench(const char *kernel_name, uint32_t kernel_id, const char *path, Run run) {
    Reader r(path);
    int passed = 0, failed = 0;
    size_t outputs = 0, differing = 0;
    uint64_t max_ulps = 0;
    if (!r.ok() || !r.magic()) {
        std::printf("%s: cannot read vectors %s (missing, or not a QBHLSVEC file)\n", kernel_name, path);
        std::printf("0 passed, 1 failed\n");
        return 1;
    }
    uint32_t version = r.u32(), kid = r.u32(), cases = r.u32();
    if (version != 1 || kid != kernel_id) {
        std::printf("%s: %s has version %u, kernel %u (want 1, %u)\n", kernel_name, path, version, kid, kernel_id);
        std::printf("0 passed, 1 failed\n");
        return 1;
    }
    for (uint32_t i = 0; i < cases; i++) {
        Case c;
        if (!read_case(r, c)) {
            std::printf("%s: case %u of %s is truncated or malformed\n", kernel_name, i, path);
            failed++;
            break;
        }
        std::vector<float> y((size_t)c.tokens * c.n);
        // a canary pattern, so an output the kernel never writes cannot pass by accident
        for (auto &v : y) { uint32_t u = 0x7fa5a5a5u; std::memcpy(&v, &u, 4); }
#ifdef QB_COUNT_CYCLES
        qb_cycles = 0;
#endif
        run(c, y.data());
        size_t bad = 0, first = 0;
        for (size_t j = 0; j < y.size(); j++) {
            uint32_t a, b;
            std::memcpy(&a, &y[j], 4);
            std::memcpy(&b, &c.expected[j], 4);
            if (a != b) {
                if (bad == 0) first = j;
                bad++;
                max_ulps = std::max(max_ulps, ulps(a, b));
            }
        }
        outputs += y.size();
        differing += bad;
        if (bad == 0) {
            passed++;
        } else {
            failed++;
            uint32_t a, b;
            std::memcpy(&a, &y[first], 4);
            std::memcpy(&b, &c.expected[first], 4);
            std::printf("FAIL %s: %zu of %zu outputs differ; first at row %zu, column %zu: kernel 0x%08x (%.9g), emulator 0x%08x (%.9g)\n",
                        c.name.c_str(), bad, y.size(), first / c.n, first % c.n, a, (double)y[first], b,
                        (double)c.expected[first]);
        }
#ifdef QB_COUNT_CYCLES
        if (c.name.find("bge-small") != std::string::npos)
            std::printf("cycles %s: %llu\n", c.name.c_str(), qb_cycles);
#endif
    }
    if (failed == 0 && !r.at_end()) {
        std::printf("%s: trailing bytes after %u cases in %s\n", kernel_name, cases, path);
        failed++;
    }
    if (differing > 0)
        std::printf("%s: %zu of %zu outputs differ, at most %llu fp32 ulps apart (NaN/non-NaN pairs count as 2^32)\n", kernel_name,
                    differing, outputs, (unsigned long long)max_ulps);
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

} // namespace tb

#endif
