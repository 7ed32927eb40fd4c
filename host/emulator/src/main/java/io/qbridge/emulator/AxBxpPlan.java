package io.qbridge.emulator;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which {@link AxBxp.Config} each layer runs with in the Ax-BxP device mode ({@code docs/emulator.md} §9): one per
 * layer name (what the runtime's {@code AxBxpSearch} chose, stored in a {@code .qbz} manifest's settings as
 * {@code axbxp.<layer> = <canonical config>}), and an optional uniform configuration for layers without one
 * ({@code --axbxp CONFIG}). A layer with neither is refused at load, in one line.
 *
 * <p>The canonical string of a configuration is {@code k<K>-x<L_x><d|s>-w<L_w><d|s>-<mask>}: K the bit block, L the kept
 * blocks of activations (x) and weights (w), d a DYNAMIC and s a STATIC window; mask {@code full}, {@code sig<D>} (the
 * significance mask of depth D, when it is not full) or {@code m<bits>} (any other mask: L_x·L_w digits 0/1, row a =
 * activation block a, row-major), then {@code -packed} for PACKED storage ({@link AxBxp.Storage}; nothing for FXP8, the
 * default). Example: {@code k2-x2d-w3d-sig2}, {@code k2-x1d-w2d-full-packed}. {@link #format} and {@link #parse} are inverse.
 *
 * @param uniform the configuration of layers not named in {@code layers}, or null
 * @param layers  layer name to configuration
 */
public record AxBxpPlan(AxBxp.Config uniform, Map<String, AxBxp.Config> layers) {
    /** The settings key prefix of a layer's configuration in a {@code .qbz} manifest. */
    public static final String KEY_PREFIX = "axbxp.";

    private static final Pattern CANONICAL = Pattern.compile("k(\\d)-x(\\d)([ds])-w(\\d)([ds])-(full|sig(\\d+)|m([01]+))(-packed)?");

    public AxBxpPlan {
        layers = Map.copyOf(layers);
    }

    public static AxBxpPlan uniform(AxBxp.Config c) {
        return new AxBxpPlan(c, Map.of());
    }

    /**
     * Refuses weights the Ax-BxP mode cannot run, in one line: it takes the FxP8 baseline's {@code rtn-w8g<g>} only
     * ({@link io.qbridge.device.ActivationMode#AXBXP}'s rule). Every device in the mode and the kernel mapping call this.
     */
    public static void checkWeights(io.qbridge.format.QuantFormat f) {
        if (!io.qbridge.device.ActivationMode.AXBXP.takes(f))
            throw new IllegalArgumentException("--activations axbxp needs 8-bit symmetric INT weights (rtn-w8g<g>, the FxP8 baseline), got " + f.id());
    }

    /** The configuration layer {@code name} runs with; an error naming the layer when there is none. */
    public AxBxp.Config configFor(String name) {
        AxBxp.Config c = name == null ? null : layers.get(name);
        if (c != null) return c;
        if (uniform != null) return uniform;
        throw new IllegalArgumentException("layer " + (name == null ? "(unnamed)" : name) + " has no Ax-BxP configuration: quantize with --axbxp-budget "
                + "(stores one per layer in the .qbz) or give --axbxp CONFIG (for example k2-x2d-w2d-full)");
    }

    /** The same plan with {@code c} for layers it does not name. */
    public AxBxpPlan withUniform(AxBxp.Config c) {
        return new AxBxpPlan(c, layers);
    }

    /** The manifest settings of this plan's per-layer configurations, in name order. */
    public Map<String, String> toSettings() {
        Map<String, String> s = new LinkedHashMap<>();
        layers.keySet().stream().sorted().forEach(l -> s.put(KEY_PREFIX + l, format(layers.get(l))));
        return s;
    }

    /** The per-layer configurations in a manifest's settings (keys {@code axbxp.<layer>}); a bad value is an error naming its key. */
    public static AxBxpPlan fromSettings(Map<String, String> settings) {
        Map<String, AxBxp.Config> layers = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : settings.entrySet()) {
            if (!e.getKey().startsWith(KEY_PREFIX)) continue;
            String layer = e.getKey().substring(KEY_PREFIX.length());
            if (layer.isEmpty()) throw new IllegalArgumentException("settings key '" + e.getKey() + "' names no layer");
            try {
                layers.put(layer, parse(e.getValue()));
            } catch (IllegalArgumentException x) {
                throw new IllegalArgumentException("settings " + e.getKey() + ": " + x.getMessage(), x);
            }
        }
        return new AxBxpPlan(null, layers);
    }

    /** The canonical string of a configuration (class comment). */
    public static String format(AxBxp.Config c) {
        int lx = c.x().kept(), lw = c.w().kept();
        AxBxp.Mask m = c.mask();
        String mask;
        if (m.equals(AxBxp.Mask.full(lx, lw))) mask = "full";
        else {
            mask = null;
            for (int d = 0; d < lx + lw - 2 && mask == null; d++) if (m.equals(AxBxp.Mask.significance(lx, lw, d))) mask = "sig" + d;
            if (mask == null) {
                StringBuilder b = new StringBuilder("m");
                for (boolean[] row : m.pairs()) for (boolean p : row) b.append(p ? '1' : '0');
                mask = b.toString();
            }
        }
        return "k" + c.x().bitBlock() + "-x" + lx + window(c.x()) + "-w" + lw + window(c.w()) + "-" + mask + (c.storage() == AxBxp.Storage.PACKED ? "-packed" : "");
    }

    private static char window(AxBxp.Operand op) {
        return op.window() == AxBxp.Window.DYNAMIC ? 'd' : 's';
    }

    /** Parses a canonical string (any case); anything else is one-line error saying what is wrong. */
    public static AxBxp.Config parse(String s) {
        if (s == null) throw new IllegalArgumentException("Ax-BxP configuration is missing");
        Matcher m = CANONICAL.matcher(s.trim().toLowerCase(java.util.Locale.ROOT));
        if (!m.matches())
            throw new IllegalArgumentException("bad Ax-BxP configuration '" + s + "': expected k<K>-x<L><d|s>-w<L><d|s>-<full|sig<D>|m<bits>>[-packed], for example k2-x2d-w3d-sig2");
        try {
            int k = Integer.parseInt(m.group(1));
            AxBxp.Operand x = new AxBxp.Operand(k, Integer.parseInt(m.group(2)), m.group(3).equals("d") ? AxBxp.Window.DYNAMIC : AxBxp.Window.STATIC);
            AxBxp.Operand w = new AxBxp.Operand(k, Integer.parseInt(m.group(4)), m.group(5).equals("d") ? AxBxp.Window.DYNAMIC : AxBxp.Window.STATIC);
            int lx = x.kept(), lw = w.kept();
            AxBxp.Mask mask;
            if (m.group(6).equals("full")) mask = AxBxp.Mask.full(lx, lw);
            else if (m.group(7) != null) {
                int d = Integer.parseInt(m.group(7));
                if (d > lx + lw - 3) throw new IllegalArgumentException("significance depth " + d + " keeps every pair of " + lx + " x " + lw + " blocks: write 'full'"
                        + " (depth at most " + (lx + lw - 3) + ")");
                mask = AxBxp.Mask.significance(lx, lw, d);
            } else {
                String bits = m.group(8);
                if (bits.length() != lx * lw) throw new IllegalArgumentException("mask m" + bits + " has " + bits.length() + " digits, " + lx + " x " + lw + " blocks need " + lx * lw);
                boolean[][] p = new boolean[lx][lw];
                for (int i = 0; i < bits.length(); i++) p[i / lw][i % lw] = bits.charAt(i) == '1';
                mask = new AxBxp.Mask(p);
                if (mask.size() == 0) throw new IllegalArgumentException("mask m" + bits + " keeps no block product");
            }
            AxBxp.Config c = new AxBxp.Config(x, w, mask, m.group(9) != null ? AxBxp.Storage.PACKED : AxBxp.Storage.FXP8);
            if (!format(c).equals(s.trim().toLowerCase(java.util.Locale.ROOT)))
                throw new IllegalArgumentException("not canonical: write " + format(c));
            return c;
        } catch (IllegalArgumentException e) {
            if (e.getMessage().startsWith("bad Ax-BxP")) throw e;
            throw new IllegalArgumentException("bad Ax-BxP configuration '" + s + "': " + e.getMessage(), e);
        }
    }
}
