/*
 * Ax-BxP kernel (docs/emulator.md §9): the FxP8 baseline (INT8 per-token activations, symmetric INT8 group weights
 * rtn-w8g<g>) with every PE's multiply replaced by the approximate blocked product. Each code's magnitude (7 bits)
 * is cut into N = ceil(7 / K) blocks of K = bit_block bits; activations keep x_kept blocks, weights w_kept, from the
 * window offset o (STATIC: N - L; DYNAMIC: max(0, p - L + 1), p the leading non-zero block, 0 for a zero code);
 * the block products (a, b) whose bit a * 7 + b is set in the mask (mask_hi:mask_lo, 64 bits) are summed:
 *   x (*) w = (-1)^(sx ^ sw) * sum_{(a,b) in M} X_a * W_b * 2^(K (o_x + o_w + a + b))
 * The block sums, scales, fp64 fold and output stage are the INT kernel's (qb_core.h). Only INT8 per-token
 * activations (act_mode 0): the emulator defines Ax-BxP for them alone.
 */
#include "qb_core.h"
#include "qb_intdecode.h"
#include "qb_interface.h"

namespace {

/* The largest number of bit blocks of a 7-bit magnitude (K = 1) and the mask's row stride. */
const int AX_MAX_BLOCKS = 7;

struct ax_params {
    int g, bit_block, x_kept, x_window, w_kept, w_window;
    uint64_t mask; // bit a * AX_MAX_BLOCKS + b: the block product (a, b) is computed
};

inline int ax_blocks(int bit_block) { return (7 + bit_block - 1) / bit_block; }

/* The window offset of a magnitude m <= 127 (docs/emulator.md §9). */
inline int ax_offset(int m, int bit_block, int kept, int window) {
    int nblocks = ax_blocks(bit_block);
    if (window == 0) return nblocks - kept; // STATIC
    int top = -1;                           // floor(log2 m), -1 for m = 0
AX_LEADING:
    for (int i = 0; i < 7; i++) {
#pragma HLS UNROLL
        if ((m >> i) & 1) top = i;
    }
    if (top < 0) return 0;
    int p = top / bit_block, o = p - kept + 1;
    return o > 0 ? o : 0;
}

/* The approximate product of two INT8 codes (|q| <= 127). */
inline int32_t ax_product(int qx, int qw, const ax_params &c) {
    int kb = c.bit_block, bm = (1 << kb) - 1;
    int mx = qx < 0 ? -qx : qx, mw = qw < 0 ? -qw : qw;
    int ox = ax_offset(mx, kb, c.x_kept, c.x_window), ow = ax_offset(mw, kb, c.w_kept, c.w_window);
    int32_t sum = 0;
AX_X_BLOCKS:
    for (int a = 0; a < AX_MAX_BLOCKS; a++) {
#pragma HLS UNROLL
        if (a >= c.x_kept) break;
        int xa = (mx >> (kb * (ox + a))) & bm;
    AX_W_BLOCKS:
        for (int b = 0; b < AX_MAX_BLOCKS; b++) {
#pragma HLS UNROLL
            if (b >= c.w_kept) break;
            if (!((c.mask >> (a * AX_MAX_BLOCKS + b)) & 1u)) continue;
            int wb = (mw >> (kb * (ow + b))) & bm;
            sum += (int32_t)(xa * wb) << (kb * (ox + ow + a + b));
        }
    }
    return (qx < 0) != (qw < 0) ? -sum : sum;
}

struct AxTraits {
    typedef int16_t op_t; // the INT8 weight code
    typedef qb::int_t<32> acc_t; // |x (*) w| <= |x w| <= 127^2: the FxP8 int32 block accumulator (docs/emulator.md §9)
    typedef ax_params params;
    static int block(const params &p) { return p.g; }
    static bool asym(const params &) { return false; }
    static bool valid(const params &p, uint32_t) {
        if (p.g < 1 || p.bit_block < 1 || p.bit_block > 4) return false;
        int nb = ax_blocks(p.bit_block);
        return p.x_kept >= 1 && p.x_kept <= nb && p.w_kept >= 1 && p.w_kept <= nb && (p.x_window == 0 || p.x_window == 1)
            && (p.w_window == 0 || p.w_window == 1);
    }
    static int pulses(const op_t &) { return 1; }
    static int64_t mac(const params &p, const op_t &w, int q) { return ax_product(q, w, p); }
    static void decode(const uint8_t *in, const params &p, int n, int k, int n0, int cols, op_t wbuf[][qbk::COLS],
                       double S[][qbk::COLS], double Z[][qbk::COLS]) {
        qbk::decode_int_groups<op_t>(in, 8, p.g, true, n, k, n0, cols, wbuf, S, Z);
    }
};

} // namespace

extern "C" void qb_axbxp(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales, const float *bias,
                         float *out, uint32_t n, uint32_t k, uint32_t tokens, uint32_t act_mode, uint32_t has_bias,
                         uint32_t group_size, uint32_t bit_block, uint32_t x_kept, uint32_t x_window, uint32_t w_kept,
                         uint32_t w_window, uint32_t mask_lo, uint32_t mask_hi) {
    QB_COMMON_INTERFACE
#pragma HLS INTERFACE s_axilite port = group_size
#pragma HLS INTERFACE s_axilite port = bit_block
#pragma HLS INTERFACE s_axilite port = x_kept
#pragma HLS INTERFACE s_axilite port = x_window
#pragma HLS INTERFACE s_axilite port = w_kept
#pragma HLS INTERFACE s_axilite port = w_window
#pragma HLS INTERFACE s_axilite port = mask_lo
#pragma HLS INTERFACE s_axilite port = mask_hi
    if (act_mode != QB_ACT_INT8_TOKEN) return;
    ax_params p = {(int)group_size, (int)bit_block, (int)x_kept, (int)x_window, (int)w_kept, (int)w_window,
                   (uint64_t)mask_lo | ((uint64_t)mask_hi << 32)};
    qbk::run_layer<AxTraits>(weights, act_codes, act_scales, bias, out, n, k, tokens, act_mode, has_bias, p);
}
