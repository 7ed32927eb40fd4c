// C-simulation bench of qb_axbxp: usage tb_axbxp VECTORS/axbxp.qbv
#include "tb_common.h"

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "build/vectors/axbxp.qbv";
    return tb::bench("tb_axbxp", 5, path, [](const tb::Case &c, float *y) {
        qb_axbxp(c.weights.data(), c.codes.data(), c.scales.data(), c.bias.data(), y, c.n, c.k, c.tokens, c.act_mode, c.has_bias,
                 (uint32_t)c.args[0], (uint32_t)c.args[1], (uint32_t)c.args[2], (uint32_t)c.args[3], (uint32_t)c.args[4],
                 (uint32_t)c.args[5], (uint32_t)c.args[6], (uint32_t)c.args[7]);
    });
}
