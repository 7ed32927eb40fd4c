/*
 * The part every Qbridge kernel shares: bit-field reads of the packed image, exact fp helpers, the activation
 * load, the PE-array column loop with its block/piece folds, and the output stage (docs/emulator.md §1-§3).
 *
 * A kernel supplies a Traits struct:
 *   typedef ... op_t;                         one decoded weight operand (what a PE holds)
 *   typedef ... acc_t;                        the block accumulator (qb::int_t<32>, or <48> for MX-FP8 E5M2)
 *   static int64_t mac(params p, op_t w, int q);  the PE: the exact integer w * q on the block's fixed point (p: the
 *                                             format scalars, for a PE whose product is configured, as Ax-BxP's)
 *   static int pulses(op_t w);                cycles the PE spends on w (temporal coding; 1 elsewhere)
 * and a decode function that fills, for QB_PE_COLS outputs, the operands wbuf[c][j] and per block the scale
 * S[b][j] (and zero Z[b][j] for asymmetric INT) such that weight value = op * S (docs/emulator.md §2).
 *
 * Synthesisable C++ only: fixed loop bounds (QB_MAX_K, QB_PE_ROWS, QB_PE_COLS, with LOOP_TRIPCOUNT for the
 * analysis), no heap, no recursion, no exceptions, no I/O.
 */
#ifndef QB_CORE_H
#define QB_CORE_H

#include "qb_int.h"
#include "qbridge_kernels.h"

#ifndef QB_PE_ROWS
#define QB_PE_ROWS 64 /* tokens per tile: arrayRows of the u55c preset (docs/performance-model.md §2) */
#endif
#ifndef QB_PE_COLS
#define QB_PE_COLS 64 /* outputs per tile: arrayCols of the u55c preset */
#endif

#ifdef QB_COUNT_CYCLES
/* C-simulation only: cycles of the pipelined compute loops (iterations x initiation interval), see hls/README.md. */
extern "C" unsigned long long qb_cycles;
#define QB_CYCLES_ADD(x) (qb_cycles += (unsigned long long)(x))
#else
#define QB_CYCLES_ADD(x) ((void)0)
#endif

namespace qbk {

/*
 * The fold and output-stage arithmetic: fp64 as docs/emulator.md §3 defines it. QB_FOLD_FP32 builds the cheaper
 * fp32 alternative for one measurement only (make fold-fp32, hls/README.md); it is not the specified datapath.
 */
#ifdef QB_FOLD_FP32
typedef float fold_t;
#else
typedef double fold_t;
#endif

static const int ROWS = QB_PE_ROWS;
static const int COLS = QB_PE_COLS;
static const int MAX_K = (int)QB_MAX_K;
static const int MAX_BLOCKS = (int)QB_MAX_BLOCKS;
static const int MAX_ABLOCKS = (int)((QB_MAX_K + 31u) / 32u);
static const int ACT_BLOCK = 32;

/* LSB-first field of `width` (<= 16) bits starting at stream bit `bit` (docs/formats.md §0). */
inline uint32_t field(const uint8_t *b, uint64_t bit, int width) {
    uint32_t v = 0;
FIELD:
    for (int i = 0; i < 16; i++) {
#pragma HLS UNROLL
        if (i < width) {
            uint64_t s = bit + (uint64_t)i;
            v |= (uint32_t)((b[s >> 3] >> (s & 7)) & 1u) << i;
        }
    }
    return v;
}

inline int32_t sign_extend(uint32_t v, int width) {
    uint32_t m = 1u << (width - 1);
    return (int32_t)((v ^ m)) - (int32_t)m;
}

union bits64 {
    double d;
    uint64_t u;
};
union bits32 {
    float f;
    uint32_t u;
};

/* 2^e exactly, for -1022 <= e <= 1023 (every scale and step of the formats lies inside). */
inline double pow2(int e) {
    bits64 x;
    x.u = (uint64_t)(e + 1023) << 52;
    return x.d;
}

inline double nan64() {
    bits64 x;
    x.u = 0x7ff8000000000000ull; // the canonical quiet NaN (Java's Double.NaN)
    return x.d;
}

/* IEEE binary16 -> double, exactly (finite codes; the host rejects non-finite scales at load). */
inline double fp16(const uint8_t *p) {
    uint32_t h = (uint32_t)p[0] | ((uint32_t)p[1] << 8);
    int sign = (h >> 15) & 1, e = (h >> 10) & 31;
    uint32_t m = h & 1023u;
    double mag = e == 0 ? (double)m * pow2(-24) : (double)(1024u + m) * pow2(e - 25);
    if (e == 31) mag = m == 0 ? pow2(1023) * 2.0 : nan64();
    return sign ? -mag : mag;
}

inline float f32_le(const uint8_t *p) {
    bits32 x;
    x.u = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    return x.f;
}

inline int64_t shl(int64_t x, int s) { return (int64_t)((uint64_t)x << s); }

/* One token tile's activations: codes, and per token the fp32 scale (INT8) or the block steps 2^(X - 6) (MX). */
struct act_tile {
    int8_t q[ROWS][MAX_K];
    float xs[ROWS];
    double step[ROWS][MAX_ABLOCKS];
};

/* Load stage: tokens [r0, r0 + rows) of the activation codes and scales. */
inline void load_acts(const int8_t *act_codes, const uint8_t *act_scales, int r0, int rows, int k, uint32_t act_mode,
                      act_tile &a) {
    int nba = (k + ACT_BLOCK - 1) / ACT_BLOCK;
LOAD_ROWS:
    for (int i = 0; i < ROWS; i++) {
        if (i >= rows) break;
        int r = r0 + i;
    LOAD_CODES:
        for (int c = 0; c < MAX_K; c++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096 avg = 768
#pragma HLS PIPELINE II = 1
            if (c >= k) break;
            a.q[i][c] = act_codes[(uint64_t)r * (uint64_t)k + (uint64_t)c];
        }
        if (act_mode == QB_ACT_MXINT8_BLOCK32) {
            a.xs[i] = 1.0f; // the activation's power of two is inside every piece (docs/emulator.md §1b)
        LOAD_EXPS:
            for (int b = 0; b < MAX_ABLOCKS; b++) {
#pragma HLS PIPELINE II = 1
                if (b >= nba) break;
                a.step[i][b] = pow2((int)act_scales[(uint64_t)r * (uint64_t)nba + (uint64_t)b] - 127 - 6);
            }
        } else {
            a.xs[i] = f32_le(act_scales + 4ull * (uint64_t)r);
        }
    }
}

/* The output stage (Datapath.finish): fp32(fp64(sum * s_x)), then + bias in fp32 when there is one. */
inline float finish(fold_t sum, float xs, float bias, bool has_bias) {
    float v = (float)(sum * (fold_t)xs);
    return has_bias ? v + bias : v;
}

/*
 * Compute + store for one (token tile, output tile): the column loop over k with every PE's MAC, a fold into the
 * fp64 row sums at each block end (INT8 activations) or piece end (MX-INT8: weight block cut by activation
 * blocks of 32), in column order, then the output stage.
 */
template <class T>
void compute_tile(const typename T::op_t wbuf[][COLS], const double S[][COLS], const double Z[][COLS], bool asym, int bs,
                  const act_tile &a, int rows, int cols, int k, bool mx, const float *biasv, bool has_bias,
                  float ytile[ROWS][COLS], const typename T::params &prm) {
    typename T::acc_t acc[ROWS][COLS];
    fold_t sum[ROWS][COLS];
    int32_t sumq[ROWS];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 0
#pragma HLS ARRAY_PARTITION variable = sum complete dim = 0
#pragma HLS ARRAY_PARTITION variable = sumq complete dim = 0
INIT:
    for (int i = 0; i < ROWS; i++) {
#pragma HLS UNROLL
        sumq[i] = 0;
        for (int j = 0; j < COLS; j++) {
#pragma HLS UNROLL
            acc[i][j] = 0;
            sum[i][j] = 0;
        }
    }
COLUMNS:
    for (int c = 0; c < MAX_K; c++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096 avg = 768
#pragma HLS PIPELINE II = 1
        if (c >= k) break;
        int steps = 1;
    PE_ROWS:
        for (int i = 0; i < ROWS; i++) {
#pragma HLS UNROLL
            int q = a.q[i][c];
            sumq[i] += q;
        PE_COLS:
            for (int j = 0; j < COLS; j++) {
#pragma HLS UNROLL
                acc[i][j] += T::mac(prm, wbuf[c][j], q);
            }
        }
    PULSES:
        for (int j = 0; j < COLS; j++) {
#pragma HLS UNROLL
            if (j < cols) {
                int p = T::pulses(wbuf[c][j]);
                if (p > steps) steps = p;
            }
        }
        QB_CYCLES_ADD(steps);
        int c1 = c + 1;
        bool block_end = c1 % bs == 0 || c1 == k;
        bool seg_end = block_end || (mx && c1 % ACT_BLOCK == 0);
        if (seg_end) {
            int b = c / bs, ab = c / ACT_BLOCK;
        FOLD_ROWS:
            for (int i = 0; i < ROWS; i++) {
#pragma HLS UNROLL
                fold_t step = (fold_t)(mx ? a.step[i][ab] : 1.0); // exact in fp64: a power of two, or 1
                fold_t sq = (fold_t)sumq[i];
            FOLD_COLS:
                for (int j = 0; j < COLS; j++) {
#pragma HLS UNROLL
                    fold_t p = (fold_t)(int64_t)acc[i][j];
                    if (asym) p = p - (fold_t)Z[b][j] * sq;
                    sum[i][j] += (p * (fold_t)S[b][j]) * step;
                    acc[i][j] = 0;
                }
                sumq[i] = 0;
            }
        }
    }
OUTPUT_STAGE:
    for (int i = 0; i < ROWS; i++) {
        if (i >= rows) break;
        QB_CYCLES_ADD(1);
    FINISH_COLS:
        for (int j = 0; j < COLS; j++) {
#pragma HLS UNROLL
            ytile[i][j] = finish(sum[i][j], a.xs[i], biasv[j], has_bias);
        }
    }
}

/* Store stage: the finished outputs of one tile to out[tokens][n]. */
inline void store_tile(const float ytile[ROWS][COLS], int rows, int cols, float *out, int r0, int n0, int n) {
STORE_ROWS:
    for (int i = 0; i < ROWS; i++) {
        if (i >= rows) break;
    STORE_COLS:
        for (int j = 0; j < COLS; j++) {
#pragma HLS PIPELINE II = 1
            if (j >= cols) break;
            out[(uint64_t)(r0 + i) * (uint64_t)n + (uint64_t)(n0 + j)] = ytile[i][j];
        }
    }
}

/* One token tile: load -> compute -> store, overlapped across tiles by DATAFLOW on the card. */
template <class T>
void token_tile(const int8_t *act_codes, const uint8_t *act_scales, const typename T::op_t wbuf[][COLS],
                const double S[][COLS], const double Z[][COLS], bool asym, int bs, int r0, int rows, int cols, int k,
                uint32_t act_mode, const float *biasv, bool has_bias, float *out, int n0, int n, const typename T::params &prm) {
#pragma HLS DATAFLOW
    static act_tile acts;
    static float ytile[ROWS][COLS];
#pragma HLS ARRAY_PARTITION variable = acts.q complete dim = 1
#pragma HLS ARRAY_PARTITION variable = ytile complete dim = 2
    load_acts(act_codes, act_scales, r0, rows, k, act_mode, acts);
    compute_tile<T>(wbuf, S, Z, asym, bs, acts, rows, cols, k, act_mode == QB_ACT_MXINT8_BLOCK32, biasv, has_bias, ytile, prm);
    store_tile(ytile, rows, cols, out, r0, n0, n);
}

} // namespace qbk

#endif

#ifndef QB_CORE_RUN_H
#define QB_CORE_RUN_H
namespace qbk {

/*
 * The layer loop every top function runs: per tile of COLS outputs, the decode stage (packed bytes to PE
 * operands and block scales, docs/emulator.md §2), then per tile of ROWS tokens load -> compute -> store.
 * T::decode(weights, params, n, k, n0, cols, wbuf, S, Z) fills the operands (zero for j >= cols).
 */
template <class T>
void run_layer(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales, const float *bias,
               float *out, uint32_t n, uint32_t k, uint32_t tokens, uint32_t act_mode, uint32_t has_bias,
               const typename T::params &prm) {
    // On-chip buffers, one set per compute unit (static: see hls/README.md).
    static typename T::op_t wbuf[MAX_K][COLS];
    static double S[MAX_BLOCKS][COLS];
    static double Z[MAX_BLOCKS][COLS];
    static float biasv[COLS];
#pragma HLS ARRAY_PARTITION variable = wbuf complete dim = 2
#pragma HLS ARRAY_PARTITION variable = S complete dim = 2
#pragma HLS ARRAY_PARTITION variable = Z complete dim = 2
#pragma HLS ARRAY_PARTITION variable = biasv complete
    int bs = T::block(prm);
    if (!qb_shape_ok(n, k, tokens, (uint32_t)bs) || !T::valid(prm, k)) return;
    bool hb = has_bias != 0;
OUTPUT_TILES:
    for (uint32_t n0 = 0; n0 < QB_MAX_N; n0 += COLS) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1024 avg = 24
        if (n0 >= n) break;
        int cols = (int)(n - n0 < (uint32_t)COLS ? n - n0 : (uint32_t)COLS);
        T::decode(weights, prm, (int)n, (int)k, (int)n0, cols, wbuf, S, Z);
    LOAD_BIAS:
        for (int j = 0; j < COLS; j++) {
#pragma HLS PIPELINE II = 1
            biasv[j] = hb && j < cols ? bias[n0 + (uint32_t)j] : 0.0f;
        }
    TOKEN_TILES:
        for (uint32_t r0 = 0; r0 < QB_MAX_TOKENS; r0 += ROWS) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1024 avg = 8
            if (r0 >= tokens) break;
            int rows = (int)(tokens - r0 < (uint32_t)ROWS ? tokens - r0 : (uint32_t)ROWS);
            token_tile<T>(act_codes, act_scales, wbuf, S, Z, T::asym(prm), bs, (int)r0, rows, cols, (int)k, act_mode,
                          biasv, hb, out, (int)n0, (int)n, prm);
        }
    }
}

} // namespace qbk
#endif
