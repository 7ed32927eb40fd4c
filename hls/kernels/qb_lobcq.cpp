/*
 * LO-BCQ kernel (docs/formats.md §8, docs/emulator.md §8): block-clustered codebook weights, in three activation
 * modes. The weights buffer is the codebook table (N_c x 16 signed bytes, entry j of codebook i at byte 16 i + j)
 * followed by the image's row scales and records: a `-local` image as it is, a universal-table image with the
 * universal table put in front by the host (the table the look-up ROM of a card would hold).
 *
 *   act_mode 2 (QB_ACT_LOBCQ, W4A4, §8b): act_scales = tokens fp32 row scales g, act_codes = tokens x (K / L_A)
 *     records of §8.1 (the activations encoded by the host with the same table). Per token m, output n, array A:
 *     P_A = sum wq * aq (int32, both operands codebook look-ups), ACC += (P_A * sigW * sigA) << (exW + exA + 18)
 *     (int64, nothing rounds), y = fp32(fp32(fp32((float) ACC * 2^-18) * gW[n]) * gA[m]), then + bias in fp32.
 *   act_mode 0 / 1 (W4A8, §8c): the ordinary datapath of qb_core.h with weight = CB[sel][idx] * sig on the array's
 *     grid, block = the array, scale g * 2^ex (exact in fp64).
 *
 * Format scalars: codebooks N_c (1..16), block_scalars L_b, array_scalars L_A (even, a multiple of L_b, <= 4096);
 * K must be a multiple of L_A. The entry width and amax target are the host encoder's business only.
 */
#include "qb_core.h"
#include "qb_interface.h"

namespace {

const int LB_MAX_CODEBOOKS = 16;
const int LB_ENTRIES = 16;
const int LB_SHIFT_BIAS = 18; // exW + exA >= -18: every array's shift is in [0, 28]
const float LB_TWO_M18 = 1.0f / 262144.0f;  // 2^-18, exact

struct lb_params {
    int nc, lb, la;
};

/* The byte layout of one record (docs/formats.md §8.1). */
struct lb_layout {
    int sb;        // selector bits, ceil(log2 N_c) (0 for one codebook)
    int sel_bytes; // bytes of the selector field
    int rb;        // record bytes: 1 + sel_bytes + L_A / 2
};

inline lb_layout layout(const lb_params &p) {
    lb_layout l;
    l.sb = 0;
LB_SEL_BITS:
    for (int i = 0; i < 4; i++) {
#pragma HLS UNROLL
        if ((1 << i) < p.nc) l.sb = i + 1;
    }
    l.sel_bytes = ((p.la / p.lb) * l.sb + 7) / 8;
    l.rb = 1 + l.sel_bytes + p.la / 2;
    return l;
}

inline bool lb_valid(const lb_params &p, uint32_t k) {
    return p.nc >= 1 && p.nc <= LB_MAX_CODEBOOKS && p.lb >= 1 && p.la >= 2 && p.la <= qbk::MAX_K && p.la % 2 == 0
        && p.la % p.lb == 0 && k % (uint32_t)p.la == 0;
}

/* E4M3 scale code -> sig (0..15) and ex (-9..5): value = sig * 2^ex (docs/formats.md §8.2). */
inline int e4m3_sig(int code) {
    int e = (code >> 3) & 15, m = code & 7;
    return e == 0 ? m : 8 + m;
}
inline int e4m3_ex(int code) {
    int e = (code >> 3) & 15;
    return (e == 0 ? 1 : e) - 10;
}

/* The codebook table from the head of the weights buffer. */
inline void load_table(const uint8_t *in, int nc, int8_t cb[LB_MAX_CODEBOOKS][LB_ENTRIES]) {
LB_TABLE:
    for (int i = 0; i < LB_MAX_CODEBOOKS * LB_ENTRIES; i++) {
#pragma HLS PIPELINE II = 1
        cb[i / LB_ENTRIES][i % LB_ENTRIES] = i < nc * LB_ENTRIES ? (int8_t)in[i] : (int8_t)0;
    }
}

/*
 * The look-up of one scalar: i-th scalar of the record at `rec` -> CB[selector of its block][its 4-bit index].
 * The same reader serves weights (decode stage) and activations (load stage).
 */
inline int lookup(const uint8_t *rec, int i, const lb_params &p, const lb_layout &l, const int8_t cb[LB_MAX_CODEBOOKS][LB_ENTRIES]) {
    int sel = l.sb == 0 ? 0 : (int)qbk::field(rec, 8ull + (uint64_t)(i / p.lb) * (uint64_t)l.sb, l.sb);
    uint8_t b = rec[1 + l.sel_bytes + (i >> 1)];
    int idx = (i & 1) ? (b >> 4) : (b & 15);
    return cb[sel & (LB_MAX_CODEBOOKS - 1)][idx];
}

/* ---- W4A8: the ordinary datapath (qb_core.h) with LO-BCQ weights on the array grid ---- */

struct LbA8Traits {
    typedef int16_t op_t; // CB entry * sig: |.| <= 127 * 15
    typedef qb::int_t<32> acc_t;
    typedef lb_params params;
    static int block(const params &p) { return p.la; }
    static bool asym(const params &) { return false; }
    static bool valid(const params &p, uint32_t k) { return lb_valid(p, k); }
    static int pulses(const op_t &) { return 1; }
    static int64_t mac(const params &, const op_t &w, int q) { return (int64_t)w * q; }

    static void decode(const uint8_t *in, const params &p, int n, int k, int n0, int cols, op_t wbuf[][qbk::COLS],
                       double S[][qbk::COLS], double Z[][qbk::COLS]) {
        static int8_t cb[LB_MAX_CODEBOOKS][LB_ENTRIES];
        lb_layout l = layout(p);
        load_table(in, p.nc, cb);
        int na = k / p.la;
        uint64_t gs_off = (uint64_t)p.nc * LB_ENTRIES, rec_off = gs_off + 4ull * (uint64_t)n;
    A8_COLS:
        for (int j = 0; j < qbk::COLS; j++) {
            bool live = j < cols;
            int r = n0 + j;
            const uint8_t *row = in + rec_off + (uint64_t)(live ? r : 0) * (uint64_t)na * (uint64_t)l.rb;
            float g = live ? qbk::f32_le(in + gs_off + 4ull * (uint64_t)r) : 0.0f;
            int a = 0, i = 0, sig = 0;
        A8_CODES:
            for (int c = 0; c < qbk::MAX_K; c++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096 avg = 768
#pragma HLS PIPELINE II = 1
                if (c >= k) break;
                const uint8_t *rec = row + (uint64_t)a * (uint64_t)l.rb;
                if (i == 0) {
                    int code = rec[0];
                    sig = e4m3_sig(code);
                    S[a][j] = live ? (double)g * qbk::pow2(e4m3_ex(code)) : 0.0; // exact: 24-bit g times 2^ex
                    Z[a][j] = 0.0;
                }
                wbuf[c][j] = live ? (op_t)(lookup(rec, i, p, l, cb) * sig) : (op_t)0;
                if (++i == p.la) { i = 0; a++; }
            }
        }
    }
};

/* ---- W4A4: the look-up datapath (docs/emulator.md §8b) ---- */

const int ROWS = qbk::ROWS, COLS = qbk::COLS, MAX_K = qbk::MAX_K, MAX_ARRAYS = qbk::MAX_BLOCKS;

/* One output tile's weights after the look-up, and per array the scale's sig and ex. */
struct a4_weights {
    int8_t wq[MAX_K][COLS];
    uint8_t sig[MAX_ARRAYS][COLS];
    int8_t ex[MAX_ARRAYS][COLS];
    float g[COLS];
};

/* One token tile's activations after the look-up. */
struct a4_acts {
    int8_t aq[ROWS][MAX_K];
    uint8_t sig[ROWS][MAX_ARRAYS];
    int8_t ex[ROWS][MAX_ARRAYS];
    float g[ROWS];
};

/* Decode stage: the look-up of an output tile's weights (rows n0 .. n0 + cols of the records at `recs`). */
void a4_decode(const uint8_t *recs, int cols, int k, const lb_params &p, const lb_layout &l,
               const int8_t cb[LB_MAX_CODEBOOKS][LB_ENTRIES], a4_weights &w) {
    int na = k / p.la;
A4_DEC_COLS:
    for (int j = 0; j < COLS; j++) {
        bool live = j < cols;
        const uint8_t *row = recs + (uint64_t)(live ? j : 0) * (uint64_t)na * (uint64_t)l.rb;
        int a = 0, i = 0;
    A4_DEC_CODES:
        for (int c = 0; c < MAX_K; c++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096 avg = 768
#pragma HLS PIPELINE II = 1
            if (c >= k) break;
            const uint8_t *rec = row + (uint64_t)a * (uint64_t)l.rb;
            if (i == 0) {
                int code = live ? rec[0] : 0;
                w.sig[a][j] = (uint8_t)e4m3_sig(code);
                w.ex[a][j] = (int8_t)e4m3_ex(code);
            }
            w.wq[c][j] = live ? (int8_t)lookup(rec, i, p, l, cb) : (int8_t)0;
            if (++i == p.la) { i = 0; a++; }
        }
    }
}

/* Load stage: the look-up of a token tile's activations (the records of `rows` tokens at `recs`) and their row scales. */
void a4_load(const uint8_t *recs, const uint8_t *gs, int rows, int k, const lb_params &p, const lb_layout &l,
             const int8_t cb[LB_MAX_CODEBOOKS][LB_ENTRIES], a4_acts &x) {
    int na = k / p.la;
A4_TOKEN_SCALES:
    for (int m = 0; m < ROWS; m++) {
#pragma HLS PIPELINE II = 1
        x.g[m] = m < rows ? qbk::f32_le(gs + 4ull * (uint64_t)m) : 0.0f;
    }
A4_LOAD_ROWS:
    for (int m = 0; m < ROWS; m++) {
        if (m >= rows) break;
        const uint8_t *row = recs + (uint64_t)m * (uint64_t)na * (uint64_t)l.rb;
        int a = 0, i = 0;
    A4_LOAD_CODES:
        for (int c = 0; c < MAX_K; c++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096 avg = 768
#pragma HLS PIPELINE II = 1
            if (c >= k) break;
            const uint8_t *rec = row + (uint64_t)a * (uint64_t)l.rb;
            if (i == 0) {
                int code = rec[0];
                x.sig[m][a] = (uint8_t)e4m3_sig(code);
                x.ex[m][a] = (int8_t)e4m3_ex(code);
            }
            x.aq[m][c] = (int8_t)lookup(rec, i, p, l, cb);
            if (++i == p.la) { i = 0; a++; }
        }
    }
}

/* Compute + output stage of one (token tile, output tile). */
void a4_compute(const a4_weights &w, const a4_acts &x, int rows, int k, int la, const float *biasv, bool has_bias,
                float ytile[ROWS][COLS]) {
    int32_t p[ROWS][COLS];
    int64_t acc[ROWS][COLS];
#pragma HLS ARRAY_PARTITION variable = p complete dim = 0
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 0
A4_INIT:
    for (int i = 0; i < ROWS; i++) {
#pragma HLS UNROLL
        for (int j = 0; j < COLS; j++) {
#pragma HLS UNROLL
            p[i][j] = 0;
            acc[i][j] = 0;
        }
    }
A4_COLUMNS:
    for (int c = 0; c < MAX_K; c++) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 4096 avg = 768
#pragma HLS PIPELINE II = 1
        if (c >= k) break;
    A4_PE_ROWS:
        for (int i = 0; i < ROWS; i++) {
#pragma HLS UNROLL
            int aq = x.aq[i][c];
        A4_PE_COLS:
            for (int j = 0; j < COLS; j++) {
#pragma HLS UNROLL
                p[i][j] += (int32_t)w.wq[c][j] * aq;
            }
        }
        QB_CYCLES_ADD(1);
        if ((c + 1) % la == 0) { // array end: scale the exact array sum onto the common fixed point
            int a = c / la;
        A4_FOLD_ROWS:
            for (int i = 0; i < ROWS; i++) {
#pragma HLS UNROLL
            A4_FOLD_COLS:
                for (int j = 0; j < COLS; j++) {
#pragma HLS UNROLL
                    int64_t q = (int64_t)p[i][j] * (int64_t)(w.sig[a][j] * x.sig[i][a]);
                    acc[i][j] += qbk::shl(q, w.ex[a][j] + x.ex[i][a] + LB_SHIFT_BIAS);
                    p[i][j] = 0;
                }
            }
        }
    }
A4_OUTPUT_STAGE:
    for (int i = 0; i < ROWS; i++) {
        if (i >= rows) break;
        QB_CYCLES_ADD(1);
    A4_FINISH_COLS:
        for (int j = 0; j < COLS; j++) {
#pragma HLS UNROLL
            float v = (float)acc[i][j] * LB_TWO_M18 * w.g[j] * x.g[i]; // left to right, each product rounded to fp32
            ytile[i][j] = has_bias ? v + biasv[j] : v;
        }
    }
}

/* One token tile: load (the activations' look-up) -> compute -> store, overlapped across tiles by DATAFLOW on the card. */
void a4_token_tile(const uint8_t *recs, const uint8_t *gs, const a4_weights &w, int rows, int cols, int k, const lb_params &p,
                   const lb_layout &l, const int8_t cb[LB_MAX_CODEBOOKS][LB_ENTRIES], const float *biasv, bool has_bias, float *out,
                   int r0, int n0, int n) {
#pragma HLS DATAFLOW
    static a4_acts x;
    static float ytile[ROWS][COLS];
#pragma HLS ARRAY_PARTITION variable = x.aq complete dim = 1
#pragma HLS ARRAY_PARTITION variable = x.sig complete dim = 1
#pragma HLS ARRAY_PARTITION variable = x.ex complete dim = 1
#pragma HLS ARRAY_PARTITION variable = ytile complete dim = 2
    a4_load(recs, gs, rows, k, p, l, cb, x);
    a4_compute(w, x, rows, k, p.la, biasv, has_bias, ytile);
    qbk::store_tile(ytile, rows, cols, out, r0, n0, n);
}

void run_a4(const uint8_t *weights, const uint8_t *act_recs, const uint8_t *act_g, const float *bias, float *out, uint32_t n,
            uint32_t k, uint32_t tokens, bool has_bias, const lb_params &p) {
    static int8_t cb[LB_MAX_CODEBOOKS][LB_ENTRIES];
    static a4_weights w;
    static float biasv[COLS];
#pragma HLS ARRAY_PARTITION variable = w.wq complete dim = 2
#pragma HLS ARRAY_PARTITION variable = w.sig complete dim = 2
#pragma HLS ARRAY_PARTITION variable = w.ex complete dim = 2
#pragma HLS ARRAY_PARTITION variable = biasv complete
    lb_layout l = layout(p);
    load_table(weights, p.nc, cb);
    int na = (int)k / p.la;
    uint64_t gs_off = (uint64_t)p.nc * LB_ENTRIES, rec_off = gs_off + 4ull * (uint64_t)n, row_bytes = (uint64_t)na * (uint64_t)l.rb;
A4_OUTPUT_TILES:
    for (uint32_t n0 = 0; n0 < QB_MAX_N; n0 += COLS) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1024 avg = 24
        if (n0 >= n) break;
        int cols = (int)(n - n0 < (uint32_t)COLS ? n - n0 : (uint32_t)COLS);
        // decode stage: the weights' look-up, once per output tile
        a4_decode(weights + rec_off + (uint64_t)n0 * row_bytes, cols, (int)k, p, l, cb, w);
    A4_ROW_SCALES:
        for (int j = 0; j < COLS; j++) {
#pragma HLS PIPELINE II = 1
            w.g[j] = j < cols ? qbk::f32_le(weights + gs_off + 4ull * (n0 + (uint32_t)j)) : 0.0f;
            biasv[j] = has_bias && j < cols ? bias[n0 + (uint32_t)j] : 0.0f;
        }
    A4_TOKEN_TILES:
        for (uint32_t r0 = 0; r0 < QB_MAX_TOKENS; r0 += ROWS) {
#pragma HLS LOOP_TRIPCOUNT min = 1 max = 1024 avg = 8
            if (r0 >= tokens) break;
            int rows = (int)(tokens - r0 < (uint32_t)ROWS ? tokens - r0 : (uint32_t)ROWS);
            a4_token_tile(act_recs + (uint64_t)r0 * row_bytes, act_g + 4ull * r0, w, rows, cols, (int)k, p, l, cb, biasv, has_bias, out,
                          (int)r0, (int)n0, (int)n);
        }
    }
}

} // namespace

extern "C" void qb_lobcq(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales, const float *bias,
                         float *out, uint32_t n, uint32_t k, uint32_t tokens, uint32_t act_mode, uint32_t has_bias,
                         uint32_t codebooks, uint32_t block_scalars, uint32_t array_scalars) {
    QB_COMMON_INTERFACE
#pragma HLS INTERFACE s_axilite port = codebooks
#pragma HLS INTERFACE s_axilite port = block_scalars
#pragma HLS INTERFACE s_axilite port = array_scalars
    lb_params p = {(int)codebooks, (int)block_scalars, (int)array_scalars};
    if (act_mode == QB_ACT_LOBCQ) {
        if (!qb_shape_ok(n, k, tokens, array_scalars) || !lb_valid(p, k)) return;
        run_a4(weights, (const uint8_t *)act_codes, act_scales, bias, out, n, k, tokens, has_bias != 0, p);
    } else {
        qbk::run_layer<LbA8Traits>(weights, act_codes, act_scales, bias, out, n, k, tokens, act_mode, has_bias, p);
    }
}
