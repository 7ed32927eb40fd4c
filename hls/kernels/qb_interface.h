/* The Vitis interface pragmas every top function shares: one m_axi bundle per buffer, scalars on s_axilite. */
#ifndef QB_INTERFACE_H
#define QB_INTERFACE_H
#define QB_PRAGMA(x) _Pragma(#x)
#define QB_COMMON_INTERFACE                                                                      \
    QB_PRAGMA(HLS INTERFACE m_axi port = weights offset = slave bundle = gmem_w max_read_burst_length = 64) \
    QB_PRAGMA(HLS INTERFACE m_axi port = act_codes offset = slave bundle = gmem_a)              \
    QB_PRAGMA(HLS INTERFACE m_axi port = act_scales offset = slave bundle = gmem_s)             \
    QB_PRAGMA(HLS INTERFACE m_axi port = bias offset = slave bundle = gmem_b)                   \
    QB_PRAGMA(HLS INTERFACE m_axi port = out offset = slave bundle = gmem_o)                    \
    QB_PRAGMA(HLS INTERFACE s_axilite port = weights)                                           \
    QB_PRAGMA(HLS INTERFACE s_axilite port = act_codes)                                         \
    QB_PRAGMA(HLS INTERFACE s_axilite port = act_scales)                                        \
    QB_PRAGMA(HLS INTERFACE s_axilite port = bias)                                              \
    QB_PRAGMA(HLS INTERFACE s_axilite port = out)                                               \
    QB_PRAGMA(HLS INTERFACE s_axilite port = n)                                                 \
    QB_PRAGMA(HLS INTERFACE s_axilite port = k)                                                 \
    QB_PRAGMA(HLS INTERFACE s_axilite port = tokens)                                            \
    QB_PRAGMA(HLS INTERFACE s_axilite port = act_mode)                                          \
    QB_PRAGMA(HLS INTERFACE s_axilite port = has_bias)                                          \
    QB_PRAGMA(HLS INTERFACE s_axilite port = return)
#endif
