/**
 * A bit-exact functional model of the Qbridge accelerator datapath; it reports the cycle and energy model of
 * {@code io.qbridge.device} for every run.
 *
 * <p>Everything the hardware computes in integers is computed here in integers (or in arithmetic proven
 * to give the same integers): activations become INT8 per token ({@link io.qbridge.emulator.ActivationQuantizer})
 * or, as {@link io.qbridge.emulator.EmulatorConfig#activations()} chooses, MX-INT8 blocks of 32
 * ({@link io.qbridge.emulator.MxActivationQuantizer}, summed per weight-block x activation-block piece by
 * {@link io.qbridge.emulator.MxActivationKernel}),
 * weights are decoded from the packed bytes into integer codes on a per-block fixed point
 * ({@link io.qbridge.emulator.WeightDecoder}), blocks are summed exactly and scaled once
 * ({@link io.qbridge.emulator.Datapath}; the host-side plan of its fastest mode can be kept between processes by a
 * {@link io.qbridge.emulator.PlanCache}). LO-BCQ layers with LO-BCQ activations run on the look-up datapath
 * ({@link io.qbridge.emulator.LoBcqWeights}, {@link io.qbridge.emulator.LoBcqActivations}, {@link io.qbridge.emulator.LoBcqKernel});
 * Ax-BxP's approximate blocked product and its PE cost are {@link io.qbridge.emulator.AxBxp},
 * {@link io.qbridge.emulator.AxBxpKernel} and {@link io.qbridge.emulator.AxBxpCost} (the axbxp activation mode); each layer's
 * configuration comes from an {@link io.qbridge.emulator.AxBxpPlan} (canonical strings, the .qbz settings), chosen by
 * the runtime module's {@code io.qbridge.axbxpsearch.AxBxpSearch} on calibration data. {@code docs/emulator.md} is the arithmetic the HLS kernel must
 * follow; {@code docs/performance-model.md} describes {@link io.qbridge.device.PerformanceModel}.
 */
package io.qbridge.emulator;

