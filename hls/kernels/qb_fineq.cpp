/*
 * FineQ kernel (docs/formats.md §5, docs/emulator.md §2): temporal-coding PEs. A weight field with sign s and
 * magnitude m is (-1)^s (2m + 1) on the grid scale/2; the PE does not multiply: it adds the activation code once
 * for the half step and 2q once per magnitude pulse (m + 1 pulses; a pruned position takes none).
 */
#include "qb_core.h"
#include "qb_interface.h"

namespace {

struct fq_op {
    uint8_t m;     // magnitude field (0..3)
    uint8_t neg;   // sign
    uint8_t live;  // 0: pruned position (or a tile column past n)
};

struct fq_params {
    int g;
};

struct FqTraits {
    typedef fq_op op_t;
    typedef qb::int_t<32> acc_t;
    typedef fq_params params;
    static int block(const params &p) { return p.g; }
    static bool asym(const params &) { return false; }
    static bool valid(const params &p, uint32_t) { return p.g >= 1; }
    static int pulses(const op_t &w) { return w.live ? w.m + 1 : 0; }
    /* Temporal coding: q for the half step, then 2q per magnitude pulse; the sign flips the accumulated train. */
    static int64_t mac(const params &, const op_t &w, int q) {
        int64_t t = w.live ? q : 0;
    PULSE:
        for (int i = 0; i < 3; i++) {
#pragma HLS UNROLL
            if (w.live && i < w.m) t += 2 * q;
        }
        return w.neg ? -t : t;
    }

    static void decode(const uint8_t *in, const params &p, int n, int k, int n0, int cols, op_t wbuf[][qbk::COLS],
                       double S[][qbk::COLS], double[][qbk::COLS]) {
        int g = p.g, ng = (k + g - 1) / g, cpg = (g + 2) / 3;
        uint64_t wr = (uint64_t)(k / g) * cpg + (uint64_t)((k % g + 2) / 3);
    DEC_COLS:
        for (int j = 0; j < qbk::COLS; j++) {
            int r = n0 + j;
        DEC_WEIGHTS:
            for (int c = 0; c < qbk::MAX_K; c++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096 avg = 768
#pragma HLS PIPELINE II = 1
                if (c >= k) break;
                op_t w = {0, 0, 0};
                if (j < cols) {
                    int word = in[(uint64_t)r * wr + (uint64_t)(c / g) * cpg + (uint64_t)((c % g) / 3)];
                    int pos = (c % g) % 3, idx = word >> 6, data = word & 0x3F;
                    if (idx == 0) {
                        int fld = (data >> (2 * pos)) & 3; // 2-bit sign-magnitude: sign bit 1, magnitude bit 0
                        w = fq_op{(uint8_t)(fld & 1), (uint8_t)((fld >> 1) & 1), 1};
                    } else if (pos != idx - 1) {
                        int lower = idx - 1 == 0 ? 1 : 0;  // the two kept positions: A (bits 2..0) < B (bits 5..3)
                        int fld = (data >> (pos == lower ? 0 : 3)) & 7;
                        w = fq_op{(uint8_t)(fld & 3), (uint8_t)((fld >> 2) & 1), 1};
                    }
                }
                wbuf[c][j] = w;
            }
        DEC_SCALES:
            for (int gi = 0; gi < qbk::MAX_BLOCKS; gi++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 512 avg = 6
                if (gi >= ng) break;
                // (m + 0.5) s = (2m + 1) (s / 2), exact
                S[gi][j] = j < cols ? qbk::fp16(in + (uint64_t)n * wr + 2ull * ((uint64_t)r * ng + gi)) / 2 : 0.0;
            }
        }
    }
};

} // namespace

extern "C" void qb_fineq(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales, const float *bias,
                         float *out, uint32_t n, uint32_t k, uint32_t tokens, uint32_t act_mode, uint32_t has_bias,
                         uint32_t group_size) {
    QB_COMMON_INTERFACE
#pragma HLS INTERFACE s_axilite port = group_size
    fq_params p = {(int)group_size};
    qbk::run_layer<FqTraits>(weights, act_codes, act_scales, bias, out, n, k, tokens, act_mode, has_bias, p);
}
