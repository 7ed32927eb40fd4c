// C-simulation bench of qb_lobcq: usage tb_lobcq VECTORS/lobcq.qbv
// (act_mode 0 / 1: W4A8 on the ordinary datapath; act_mode 2: W4A4 on the look-up datapath, codes = LO-BCQ records)
#include "tb_common.h"

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "build/vectors/lobcq.qbv";
    return tb::bench("tb_lobcq", 4, path, [](const tb::Case &c, float *y) {
        qb_lobcq(c.weights.data(), c.codes.data(), c.scales.data(), c.bias.data(), y, c.n, c.k, c.tokens, c.act_mode, c.has_bias,
                 (uint32_t)c.args[0], (uint32_t)c.args[1], (uint32_t)c.args[2]);
    });
}
