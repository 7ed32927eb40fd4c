// C-simulation bench of qb_intgroup: usage tb_intgroup VECTORS/intgroup.qbv
#include "tb_common.h"

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "build/vectors/intgroup.qbv";
    return tb::bench("tb_intgroup", 3, path, [](const tb::Case &c, float *y) {
        qb_intgroup(c.weights.data(), c.codes.data(), c.scales.data(), c.bias.data(), y, c.n, c.k, c.tokens, c.act_mode,
                    c.has_bias, (uint32_t)c.args[0], (uint32_t)c.args[1], (uint32_t)c.args[2]);
    });
}
