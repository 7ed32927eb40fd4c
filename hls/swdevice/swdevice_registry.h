/*
 * The software device's hardware description: its memory banks, and for every kernel its arguments in order with
 * the kind xrtRunSetArg reads them as, their C type and the bank each buffer argument is connected to.
 *
 * One table, read by two programs: swdevice.cpp (which acts on it: argument kinds, connectivity) and mkxclbin.cpp
 * (which writes it into the xclbin's IP_LAYOUT, CONNECTIVITY, MEM_TOPOLOGY and EMBEDDED_METADATA sections). The
 * host reads it back from the xclbin and checks it against its own table (io.qbridge.xrt.KernelSignature), so the
 * three can only agree by being right, not by being copies. The argument lists follow hls/kernels/qbridge_kernels.h.
 */
#ifndef QBRIDGE_SWDEVICE_REGISTRY_H
#define QBRIDGE_SWDEVICE_REGISTRY_H

#include <stdint.h>

#define SW_PLATFORM "qbridge_swdevice_x86_64_1"
#define SW_ARG_BUFFER 0 /* m_axi pointer: the vararg is an xrtBufferHandle */
#define SW_ARG_S32 1    /* 32-bit s_axilite scalar: the vararg is an int */
#define SW_ARG_S64 2    /* 64-bit s_axilite scalar: the vararg is a uint64_t */
#define SW_MAX_ARGS 18
#define SW_BANK_BYTES (512ull << 20) /* one HBM pseudo-channel of an Alveo U55C */

struct sw_arg {
    const char *name;
    int kind;
    const char *ctype;
    int bank; /* index in SW_BANKS for buffers, -1 for scalars */
};

struct sw_kernel {
    const char *name;
    int nargs;
    struct sw_arg args[SW_MAX_ARGS];
};

static const char *const SW_BANKS[] = {"HBM[0]", "HBM[1]", "HBM[2]", "HBM[3]", "HBM[4]"};
#define SW_NBANKS 5

/* The layer kernels' common arguments: bundles gmem_w, gmem_a, gmem_s, gmem_b, gmem_o on banks 0..4. */
#define SW_LAYER_COMMON                                                                                                      \
    {"weights", SW_ARG_BUFFER, "uint8_t*", 0}, {"act_codes", SW_ARG_BUFFER, "int8_t*", 1},                                   \
        {"act_scales", SW_ARG_BUFFER, "uint8_t*", 2}, {"bias", SW_ARG_BUFFER, "float*", 3}, {"out", SW_ARG_BUFFER, "float*", 4}, \
        {"n", SW_ARG_S32, "uint32_t", -1}, {"k", SW_ARG_S32, "uint32_t", -1}, {"tokens", SW_ARG_S32, "uint32_t", -1},            \
        {"act_mode", SW_ARG_S32, "uint32_t", -1}, {"has_bias", SW_ARG_S32, "uint32_t", -1}

static const struct sw_kernel SW_KERNELS[] = {
    {"qb_microscopiq", 16,
     {SW_LAYER_COMMON, {"bits", SW_ARG_S32, "uint32_t", -1}, {"macro_blocks", SW_ARG_S32, "uint32_t", -1},
      {"max_outliers", SW_ARG_S32, "uint32_t", -1}, {"offset_bits", SW_ARG_S32, "uint32_t", -1},
      {"level2_bits", SW_ARG_S32, "uint32_t", -1}, {"level2_bias", SW_ARG_S32, "int32_t", -1}}},
    {"qb_fineq", 11, {SW_LAYER_COMMON, {"group_size", SW_ARG_S32, "uint32_t", -1}}},
    {"qb_mx", 11, {SW_LAYER_COMMON, {"element", SW_ARG_S32, "uint32_t", -1}}},
    {"qb_intgroup", 13,
     {SW_LAYER_COMMON, {"bits", SW_ARG_S32, "uint32_t", -1}, {"group_size", SW_ARG_S32, "uint32_t", -1},
      {"symmetric", SW_ARG_S32, "uint32_t", -1}}},
    {"qb_lobcq", 13,
     {SW_LAYER_COMMON, {"codebooks", SW_ARG_S32, "uint32_t", -1}, {"block_scalars", SW_ARG_S32, "uint32_t", -1},
      {"array_scalars", SW_ARG_S32, "uint32_t", -1}}},
    {"qb_axbxp", 18,
     {SW_LAYER_COMMON, {"group_size", SW_ARG_S32, "uint32_t", -1}, {"bit_block", SW_ARG_S32, "uint32_t", -1},
      {"x_kept", SW_ARG_S32, "uint32_t", -1}, {"x_window", SW_ARG_S32, "uint32_t", -1}, {"w_kept", SW_ARG_S32, "uint32_t", -1},
      {"w_window", SW_ARG_S32, "uint32_t", -1}, {"mask_lo", SW_ARG_S32, "uint32_t", -1}, {"mask_hi", SW_ARG_S32, "uint32_t", -1}}},
    /* Diagnostic kernel of the software device (the part a card's validation xclbin plays): copies `words` 32-bit
       words from `in` to `out` after holding its compute unit for `hold_us` microseconds. */
    {"qb_verify", 4,
     {{"in", SW_ARG_BUFFER, "uint32_t*", 0}, {"out", SW_ARG_BUFFER, "uint32_t*", 1}, {"words", SW_ARG_S32, "uint32_t", -1},
      {"hold_us", SW_ARG_S64, "uint64_t", -1}}},
};
#define SW_NKERNELS ((int)(sizeof(SW_KERNELS) / sizeof(SW_KERNELS[0])))

/* axlf layout constants (XRT xrt/detail/xclbin.h; offsets in docs/xrt.md). */
#define AXLF_HEADER_BYTES 456
#define AXLF_SECTION_BYTES 40
#define AXLF_MODE_SW_EMU 5
#define AXLF_EMBEDDED_METADATA 2
#define AXLF_MEM_TOPOLOGY 6
#define AXLF_CONNECTIVITY 7
#define AXLF_IP_LAYOUT 8

#endif
