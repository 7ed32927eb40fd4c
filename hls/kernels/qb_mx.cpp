/*
 * OCP MX kernel (docs/formats.md §3, docs/emulator.md §2): every element is an integer significand and a left
 * shift on the element's subnormal grid (MX-INT8: the code, no shift), the block scale 2^(X + 1 - bias - m)
 * (MX-INT8: 2^(X - 6)); an E8M0 NaN block (0xFF) gives S = NaN. The block accumulator is 48 bits: MX-FP8 E5M2
 * needs them (docs/emulator.md §4); every other element fits int32, which a build for those formats only could use.
 */
#include "qb_core.h"
#include "qb_interface.h"

namespace {

const int BS = 32;

struct mx_op {
    int16_t sig;   // signed significand (E = 0 ? M : 2^m + M), or the MX-INT8 code
    uint8_t shift; // max(E, 1) - 1
};

struct mx_params {
    int element;
};

struct MxTraits {
    typedef mx_op op_t;
    typedef qb::int_t<48> acc_t;
    typedef mx_params params;
    static int block(const params &) { return BS; }
    static bool asym(const params &) { return false; }
    static bool valid(const params &p, uint32_t) { return p.element >= 0 && p.element <= 5; }
    static int pulses(const op_t &) { return 1; }
    static int64_t mac(const params &, const op_t &w, int q) { return qbk::shl((int64_t)w.sig * q, w.shift); }

    static void decode(const uint8_t *in, const params &p, int n, int k, int n0, int cols, op_t wbuf[][qbk::COLS],
                       double S[][qbk::COLS], double[][qbk::COLS]) {
        // element: bits, exponent bits, mantissa bits, bias (docs/formats.md §1)
        static const int EBITS[6] = {8, 8, 8, 6, 6, 4};
        static const int EXPB[6] = {0, 4, 5, 2, 3, 2};
        static const int MANB[6] = {0, 3, 2, 3, 2, 1};
        static const int BIAS[6] = {0, 7, 15, 1, 3, 1};
        int el = p.element, eb = EBITS[el], xb = EXPB[el], mb = MANB[el];
        int grid = el == 0 ? -6 : 1 - BIAS[el] - mb;
        int nb = (k + BS - 1) / BS;
        uint64_t row_bytes = ((uint64_t)k * eb + 7) / 8;
    DEC_COLS:
        for (int j = 0; j < qbk::COLS; j++) {
            int r = n0 + j;
        DEC_BLOCKS:
            for (int bi = 0; bi < qbk::MAX_K / BS; bi++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 128 avg = 24
                if (bi >= nb) break;
                int sc = j < cols ? in[(uint64_t)n * row_bytes + (uint64_t)r * nb + bi] : 0;
                bool nan = sc == 0xFF;
                S[bi][j] = j >= cols ? 0.0 : nan ? qbk::nan64() : qbk::pow2(sc - 127 + grid);
            DEC_ELEMS:
                for (int t = 0; t < BS; t++) {
                    int c = bi * BS + t;
                    if (c >= k) break;
                    op_t w = {0, 0};
                    if (j < cols && !nan) {
                        int code = (int)qbk::field(in, (uint64_t)r * row_bytes * 8 + (uint64_t)c * eb, eb);
                        if (el == 0) {
                            w.sig = (int16_t)qbk::sign_extend((uint32_t)code, 8);
                        } else {
                            int s = (code >> (xb + mb)) & 1, e = (code >> mb) & ((1 << xb) - 1), m = code & ((1 << mb) - 1);
                            int mag = e == 0 ? m : (1 << mb) | m;
                            bool special = (el == 1 && e == 15 && m == 7) || (el == 2 && e == 31);
                            w.sig = special ? 0 : (int16_t)(s ? -mag : mag); // NaN/Inf codes: refused by the host at load
                            w.shift = special ? 0 : (uint8_t)((e > 1 ? e : 1) - 1);
                        }
                    }
                    wbuf[c][j] = w;
                }
            }
        }
    }
};

} // namespace

extern "C" void qb_mx(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales, const float *bias,
                      float *out, uint32_t n, uint32_t k, uint32_t tokens, uint32_t act_mode, uint32_t has_bias,
                      uint32_t element) {
    QB_COMMON_INTERFACE
#pragma HLS INTERFACE s_axilite port = element
    mx_params p = {(int)element};
    qbk::run_layer<MxTraits>(weights, act_codes, act_scales, bias, out, n, k, tokens, act_mode, has_bias, p);
}
