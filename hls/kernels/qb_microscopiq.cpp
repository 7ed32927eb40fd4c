/*
 * MicroScopiQ kernel (docs/formats.md §4, docs/emulator.md §2): inliers on b-bit multi-precision INT PEs; an
 * outlier's 2b-bit element is split into two b-bit operands (upper: signed, lower: unsigned) on two PEs, and the
 * ReCoN network merges the two partial products: ((upper * x) << b) + lower * x, shifted onto the block's fixed
 * point, before the sum enters the block accumulator (int32, docs/emulator.md §4).
 */
#include "qb_core.h"
#include "qb_interface.h"

namespace {

const int BS = 16; // block size (the only one the kernel builds: P = 4 position bits)
const int PB = 4;

enum { PRUNED = 0, INLIER = 1, OUTLIER = 2 };

/* What one PE pair holds for a weight. */
struct ms_op {
    int8_t a;      // inlier: the b-bit code k; outlier: upper half of the significand (signed)
    uint8_t lo;    // outlier: lower b bits of the significand (unsigned)
    uint8_t shift; // left shift onto the block's fixed point 2^L_b
    uint8_t kind;  // PRUNED, INLIER, OUTLIER
    uint8_t rb;    // outlier: b, the ReCoN shift of the upper partial product
};

struct ms_params {
    int bits, g, c, ib, l2, beta;
};

struct MsTraits {
    typedef ms_op op_t;
    typedef qb::int_t<32> acc_t;
    typedef ms_params params;
    static int block(const params &) { return BS; }
    static bool asym(const params &) { return false; }
    static bool valid(const params &p, uint32_t k) {
        return (p.bits == 4 || p.bits == 2) && p.g >= 1 && p.g <= 8 && p.c >= 1 && p.c <= 4 && p.ib >= 0 &&
               p.ib <= 3 && p.l2 >= 1 && p.l2 <= 6 && k % BS == 0;
    }
    static int pulses(const op_t &) { return 1; }
    /* The PE (inliers) and the ReCoN merge (outliers): the exact integer w * q on the block grid. */
    static int64_t mac(const params &, const op_t &w, int q) {
        if (w.kind == INLIER) return qbk::shl((int64_t)w.a * q, w.shift);
        if (w.kind == OUTLIER) {
            int64_t upper = (int64_t)w.a * q, lower = (int64_t)w.lo * q; // two b-bit x 8-bit PEs
            return qbk::shl(qbk::shl(upper, w.rb) + lower, w.shift);  // ReCoN: shift the upper partial by b, add, align
        }
        return 0;
    }

    /* Decode stage for outputs [n0, n0 + cols): slots, macro-block e1, block records (docs/formats.md §4). */
    static void decode(const uint8_t *in, const params &p, int n, int k, int n0, int cols, op_t wbuf[][qbk::COLS],
                       double S[][qbk::COLS], double[][qbk::COLS]) {
        int b = p.bits, nb = k / BS, mb = p.ib + p.l2 + 2 * PB * p.c, nm = (nb + p.g - 1) / p.g;
        uint64_t slot_bytes = (uint64_t)k * b / 8, meta_bytes = ((uint64_t)8 * nm + (uint64_t)nb * mb + 7) / 8;
        // outlier element: E4M3 (bias 7, m 3) for W4, E2M1 (bias 1, m 1) for W2; subnormal grid 1 - bias - m
        int ebits = b == 4 ? 4 : 2, mbits = b == 4 ? 3 : 1, bias = b == 4 ? 7 : 1;
        int out_grid = 1 - bias - mbits, in_grid = 2 - b;
    DEC_COLS:
        for (int j = 0; j < qbk::COLS; j++) {
            int r = n0 + j;
        DEC_BLOCKS:
            for (int bi = 0; bi < qbk::MAX_K / BS; bi++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 256 avg = 48
                if (bi >= nb) break;
                if (j >= cols) {
                    for (int t = 0; t < BS; t++) wbuf[bi * BS + t][j] = op_t{0, 0, 0, PRUNED, 0};
                    S[bi][j] = 0.0;
                    continue;
                }
                int slot[BS], kind[BS], sig[BS], xs[BS];
#pragma HLS ARRAY_PARTITION variable = slot complete
            DEC_SLOTS:
                for (int t = 0; t < BS; t++) {
#pragma HLS UNROLL
                    slot[t] = (int)qbk::field(in, ((uint64_t)r * slot_bytes) * 8 + (uint64_t)(bi * BS + t) * b, b);
                    kind[t] = INLIER;
                    sig[t] = 0;
                    xs[t] = 0;
                }
                uint64_t row_meta = (uint64_t)n * slot_bytes * 8 + (uint64_t)r * meta_bytes * 8;
                uint64_t macro = row_meta + (uint64_t)(bi / p.g) * (8 + (uint64_t)p.g * mb);
                uint64_t meta = macro + 8 + (uint64_t)(bi % p.g) * mb;
                int e1 = (int)qbk::field(in, macro, 8) - 127 - (int)qbk::field(in, meta, p.ib); // the block's eb
                int d = qbk::sign_extend(qbk::field(in, meta + p.ib, p.l2), p.l2) + p.beta;
                uint64_t pairs = meta + p.ib + p.l2;
                int lb = e1 + in_grid;
            DEC_PAIRS:
                for (int u = 0; u < 4; u++) {
                    if (u >= p.c) break;
                    int o = (int)qbk::field(in, pairs + 2ull * PB * u, PB), q = (int)qbk::field(in, pairs + 2ull * PB * u + PB, PB);
                    if (o == q) continue;
                    int code = slot[o] << b | slot[q];
                    int s = (code >> (ebits + mbits)) & 1, e = (code >> mbits) & ((1 << ebits) - 1), m = code & ((1 << mbits) - 1);
                    int mag = e == 0 ? m : (1 << mbits) | m;
                    kind[o] = OUTLIER;
                    kind[q] = PRUNED;
                    sig[o] = s ? -mag : mag;
                    xs[o] = (e > 1 ? e : 1) - 1;
                    if (e1 + d + out_grid < lb) lb = e1 + d + out_grid;
                }
                S[bi][j] = qbk::pow2(lb);
            DEC_OPS:
                for (int t = 0; t < BS; t++) {
                    op_t w = {0, 0, 0, PRUNED, 0};
                    if (kind[t] == INLIER) {
                        w.a = (int8_t)qbk::sign_extend((uint32_t)slot[t], b);
                        w.shift = (uint8_t)(e1 + in_grid - lb);
                        w.kind = INLIER;
                    } else if (kind[t] == OUTLIER) {
                        w.a = (int8_t)(sig[t] >> b);                 // upper = sig >> b (arithmetic)
                        w.lo = (uint8_t)(sig[t] & ((1 << b) - 1));   // lower = sig & (2^b - 1)
                        w.shift = (uint8_t)(xs[t] + (e1 + d + out_grid - lb));
                        w.kind = OUTLIER;
                        w.rb = (uint8_t)b;
                    }
                    wbuf[bi * BS + t][j] = w;
                }
            }
        }
    }
};


} // namespace

extern "C" void qb_microscopiq(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales,
                               const float *bias, float *out, uint32_t n, uint32_t k, uint32_t tokens,
                               uint32_t act_mode, uint32_t has_bias, uint32_t bits, uint32_t macro_blocks,
                               uint32_t max_outliers, uint32_t offset_bits, uint32_t level2_bits, int32_t level2_bias) {
    QB_COMMON_INTERFACE
#pragma HLS INTERFACE s_axilite port = bits
#pragma HLS INTERFACE s_axilite port = macro_blocks
#pragma HLS INTERFACE s_axilite port = max_outliers
#pragma HLS INTERFACE s_axilite port = offset_bits
#pragma HLS INTERFACE s_axilite port = level2_bits
#pragma HLS INTERFACE s_axilite port = level2_bias
    ms_params p = {(int)bits, (int)macro_blocks, (int)max_outliers, (int)offset_bits, (int)level2_bits, (int)level2_bias};
    qbk::run_layer<MsTraits>(weights, act_codes, act_scales, bias, out, n, k, tokens, act_mode, has_bias, p);
}
