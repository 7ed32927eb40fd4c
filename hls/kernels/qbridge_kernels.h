/*
 * Qbridge accelerator: the kernel top functions (Vitis HLS) and their host-visible limits.
 *
 * Every top function has exactly its m_axi pointers and its s_axilite scalars as arguments, all plain C types,
 * so a host (XRT on a card, or the software device in hls/swdevice/) calls them with the buffers it would sync
 * to the card. hls/README.md documents every argument; docs/emulator.md defines what they compute, bit for bit.
 *
 * Common arguments (same order in every kernel):
 *   weights     m_axi gmem_w  the packed byte image of the [n][k] weight matrix, exactly as docs/formats.md lays it out
 *   act_codes   m_axi gmem_a  activation codes, int8, [tokens][k] row-major (INT8 per token and MX-INT8 alike)
 *   act_scales  m_axi gmem_s  act_mode 0 (INT8 per token): tokens little-endian fp32 scales (4 bytes each);
 *                             act_mode 1 (MX-INT8 blocks of 32): [tokens][ceil(k/32)] E8M0 bytes
 *   bias        m_axi gmem_b  n fp32 values (read only when has_bias != 0; may then be any valid buffer)
 *   out         m_axi gmem_o  [tokens][n] fp32 outputs, row-major
 *   n, k, tokens              the layer's outputs, inputs and the number of tokens (rows)
 *   act_mode                  QB_ACT_INT8_TOKEN (0) or QB_ACT_MXINT8_BLOCK32 (1)
 *   has_bias                  0: no bias is added (so -0 stays -0); otherwise bias[n] is added in fp32
 * followed by the kernel's format scalars (below).
 *
 * A call whose shape exceeds the limits below (see qb_shape_ok) returns without writing `out`: the host checks
 * the same function first and refuses the layer with a message.
 */
#ifndef QBRIDGE_KERNELS_H
#define QBRIDGE_KERNELS_H

#include <stdint.h>

/* Activation modes (docs/emulator.md §1, §1b and §8a). */
#define QB_ACT_INT8_TOKEN 0u
#define QB_ACT_MXINT8_BLOCK32 1u
#define QB_ACT_LOBCQ 2u /* qb_lobcq only: LO-BCQ encoded activations (W4A4) */

/* MX element kinds for qb_mx's `element` argument. */
#define QB_MX_INT8 0u
#define QB_MX_FP8_E4M3 1u
#define QB_MX_FP8_E5M2 2u
#define QB_MX_FP6_E2M3 3u
#define QB_MX_FP6_E3M2 4u
#define QB_MX_FP4_E2M1 5u

/* Limits of the on-chip buffers (fixed sizes: HLS needs static bounds). */
#define QB_MAX_K 4096u       /* inputs per row */
#define QB_MAX_N 65536u      /* outputs */
#define QB_MAX_TOKENS 65536u /* tokens per call */
#define QB_MAX_BLOCKS 512u   /* scale blocks per row: ceil(k / block) (INT and FineQ groups of 8 or more at k = 4096) */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * MicroScopiQ (docs/formats.md §4): inliers on the b-bit INT PEs, outlier halves merged by ReCoN.
 * bits: 4 or 2 (outlier element E4M3 or E2M1); block size is 16; macro_blocks G (1..8); max_outliers C (1..4);
 * offset_bits I (0..3); level2_bits L (1..6); level2_bias beta. k must be a multiple of 16.
 * microscopiq-w4: 4, 8, 1, 1, 2, -7; microscopiq-w2: 2, 8, 1, 1, 2, -1;
 * microscopiq-w4-c4: 4, 1, 4, 0, 4, 0; microscopiq-w2-c4: 2, 1, 4, 0, 4, 0.
 */
void qb_microscopiq(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales, const float *bias, float *out,
                    uint32_t n, uint32_t k, uint32_t tokens, uint32_t act_mode, uint32_t has_bias,
                    uint32_t bits, uint32_t macro_blocks, uint32_t max_outliers, uint32_t offset_bits,
                    uint32_t level2_bits, int32_t level2_bias);

/* FineQ (docs/formats.md §5): temporal-coding PEs. group_size g (3..QB_MAX_K). */
void qb_fineq(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales, const float *bias, float *out,
              uint32_t n, uint32_t k, uint32_t tokens, uint32_t act_mode, uint32_t has_bias,
              uint32_t group_size);

/* OCP MX (docs/formats.md §3), blocks of 32: element is one of QB_MX_*. */
void qb_mx(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales, const float *bias, float *out,
           uint32_t n, uint32_t k, uint32_t tokens, uint32_t act_mode, uint32_t has_bias,
           uint32_t element);

/* Group-wise INT (docs/formats.md §2): bits 2, 3, 4 or 8; group_size g; symmetric 1 (rtn-w<b>g<g>) or 0 (int<b>-asym-g<g>). */
void qb_intgroup(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales, const float *bias, float *out,
                 uint32_t n, uint32_t k, uint32_t tokens, uint32_t act_mode, uint32_t has_bias,
                 uint32_t bits, uint32_t group_size, uint32_t symmetric);

/*
 * LO-BCQ (docs/formats.md §8, docs/emulator.md §8): codebooks N_c (1..16), block_scalars L_b, array_scalars L_A
 * (even, a multiple of L_b, <= 4096); k a multiple of L_A. `weights` is the N_c x 16 codebook table followed by the
 * image's row scales and records (a -local image as it is; the host puts the universal table in front otherwise).
 * act_mode 0 / 1: W4A8 on the ordinary datapath (block = the array). act_mode QB_ACT_LOBCQ (W4A4, look-up
 * datapath): act_scales = tokens fp32 row scales, act_codes = tokens x (k / L_A) records of docs/formats.md §8.1.
 */
void qb_lobcq(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales, const float *bias, float *out,
              uint32_t n, uint32_t k, uint32_t tokens, uint32_t act_mode, uint32_t has_bias,
              uint32_t codebooks, uint32_t block_scalars, uint32_t array_scalars);

/*
 * Ax-BxP (docs/emulator.md §9): rtn-w8g<g> weights (group_size g) and INT8 per-token activations (act_mode 0 only)
 * with the approximate blocked product: bit_block K (1..4), x_kept / w_kept blocks (1..ceil(7 / K)), x_window /
 * w_window (0 STATIC, 1 DYNAMIC), mask: bit a * 7 + b of the 64-bit mask_hi:mask_lo keeps block product (a, b).
 */
void qb_axbxp(const uint8_t *weights, const int8_t *act_codes, const uint8_t *act_scales, const float *bias, float *out,
              uint32_t n, uint32_t k, uint32_t tokens, uint32_t act_mode, uint32_t has_bias,
              uint32_t group_size, uint32_t bit_block, uint32_t x_kept, uint32_t x_window, uint32_t w_kept,
              uint32_t w_window, uint32_t mask_lo, uint32_t mask_hi);

/* 1 when a call with this shape fits the kernels' buffers (block = the format's scale block along k), else 0. */
static inline int qb_shape_ok(uint32_t n, uint32_t k, uint32_t tokens, uint32_t block) {
    return n >= 1u && n <= QB_MAX_N && k >= 1u && k <= QB_MAX_K && tokens <= QB_MAX_TOKENS && block >= 1u
        && (k + block - 1u) / block <= QB_MAX_BLOCKS;
}

#ifdef __cplusplus
}
#endif

#endif
