/*
 * The decode stage of group-wise INT weights (docs/formats.md §2, docs/emulator.md §2), shared by qb_intgroup and
 * qb_axbxp (whose weights are the FxP8 baseline's rtn-w8g<g>): per output j of the tile, the b-bit codes
 * (sign-extended when symmetric) into wbuf[c][j], the fp16 group scales into S[g][j] and, for asymmetric groups,
 * the fp16 zeros into Z[g][j]. Columns j >= cols get zeros.
 */
#ifndef QB_INTDECODE_H
#define QB_INTDECODE_H

#include "qb_core.h"

namespace qbk {

template <class OP>
void decode_int_groups(const uint8_t *in, int b, int g, bool symmetric, int n, int k, int n0, int cols, OP wbuf[][COLS],
                       double S[][COLS], double Z[][COLS]) {
    int ng = (k + g - 1) / g;
    uint64_t row_bytes = ((uint64_t)k * b + 7) / 8, scale_off = (uint64_t)n * row_bytes, zero_off = scale_off + 2ull * n * ng;
DEC_COLS:
    for (int j = 0; j < COLS; j++) {
        int r = n0 + j;
    DEC_CODES:
        for (int c = 0; c < MAX_K; c++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096 avg = 768
#pragma HLS PIPELINE II = 1
            if (c >= k) break;
            OP w = 0;
            if (j < cols) {
                uint32_t code = field(in, (uint64_t)r * row_bytes * 8 + (uint64_t)c * b, b);
                w = (OP)(symmetric ? sign_extend(code, b) : (int32_t)code);
            }
            wbuf[c][j] = w;
        }
    DEC_GROUPS:
        for (int gi = 0; gi < MAX_BLOCKS; gi++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 512 avg = 6
            if (gi >= ng) break;
            bool live = j < cols;
            S[gi][j] = live ? fp16(in + scale_off + 2ull * ((uint64_t)r * ng + gi)) : 0.0;
            Z[gi][j] = live && !symmetric ? fp16(in + zero_off + 2ull * ((uint64_t)r * ng + gi)) : 0.0;
        }
    }
}

} // namespace qbk

#endif
