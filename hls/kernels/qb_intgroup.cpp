/*
 * Group-wise INT kernel (docs/formats.md §2, docs/emulator.md §2-§3): b-bit codes (signed for symmetric, unsigned
 * for asymmetric) times the activation codes in an int32 block accumulator; per group the fp16 scale s and, for
 * asymmetric groups, the fp16 zero z applied once per block (or piece) to the activation sum:
 * p = fp64(fp64(acc) - z * sumq) * s.
 */
#include "qb_core.h"
#include "qb_intdecode.h"
#include "qb_interface.h"

namespace {

struct int_params {
    int bits, g, symmetric;
};

struct IntTraits {
    typedef int16_t op_t; // the code (b <= 8: signed in [-128, 127] or unsigned in [0, 255])
    typedef qb::int_t<32> acc_t;
    typedef int_params params;
    static int block(const params &p) { return p.g; }
    static bool asym(const params &p) { return p.symmetric == 0; }
    static bool valid(const params &p, uint32_t) { return (p.bits == 2 || p.bits == 3 || p.bits == 4 || p.bits == 8) && p.g >= 1; }
    static int pulses(const op_t &) { return 1; }
    static int64_t mac(const params &, const op_t &w, int q) { return (int64_t)w * q; }

    static void decode(const uint8_t *in, const params &p, int n, int k, int n0, int cols, op_t wbuf[][qbk::COLS],
                       double S[][qbk::COLS], double Z[][qbk::COLS]) {
        qbk::decode_int_groups<op_t>(in, p.bits, p.g, p.symmetric != 0, n, k, n0, cols, wbuf, S, Z);
    }
};

} // namespace

extern "C" void qb_intgroup(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales, const float *bias,
                            float *out, uint32_t n, uint32_t k, uint32_t tokens, uint32_t act_mode, uint32_t has_bias,
                            uint32_t bits, uint32_t group_size, uint32_t symmetric) {
    QB_COMMON_INTERFACE
#pragma HLS INTERFACE s_axilite port = bits
#pragma HLS INTERFACE s_axilite port = group_size
#pragma HLS INTERFACE s_axilite port = symmetric
    int_params p = {(int)bits, (int)group_size, (int)symmetric};
    qbk::run_layer<IntTraits>(weights, act_codes, act_scales, bias, out, n, k, tokens, act_mode, has_bias, p);
}
