// C-simulation bench of qb_fineq: usage tb_fineq VECTORS/fineq.qbv
#include "tb_common.h"

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "build/vectors/fineq.qbv";
    return tb::bench("tb_fineq", 1, path, [](const tb::Case &c, float *y) {
        qb_fineq(c.weights.data(), c.codes.data(), c.scales.data(), c.bias.data(), y, c.n, c.k, c.tokens, c.act_mode,
                 c.has_bias, (uint32_t)c.args[0]);
    });
}
