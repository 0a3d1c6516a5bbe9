#!/usr/bin/env python3
"""Inference drift tables measured with aihwkit (PCM programming, drift, compensation).

What
    A 128 x 256 InferenceTile (128 outputs, 256 inputs, no bias) with InferenceRPUConfig()
    defaults: PCMLikeNoiseModel() (SinglePairConductanceConverter, g_max 25 uS, t_0 20 s),
    GlobalDriftCompensation(), IdealDevice, forward IO either IOParameters() defaults
    ("io_default") or IOParameters(is_perfect=True) ("io_perfect"). The tile is put in
    eval mode after set_weights(W_target). Per repeat r (R repeats, one tile each):
    torch.manual_seed(PROGRAM_SEED + r); program_weights() once; then for every t in
    T_INFERENCE_S, in increasing order, drift_weights(t) (drift and read noise are drawn
    afresh from the programmed weights each call, never cumulatively) and record

      shrink     mean over elements with |W_target| > 0.1 of W_drift / W_target
                 (W_drift = tile.get_weights(), the drifted weights before compensation)
      noise      std (ddof 0) over all elements of (W_drift - shrink W_target), divided by
                 max |W_target| (0.5 here; the effective programming + read + drift-spread
                 noise relative to the weight range)
      alpha      the global drift-compensation factor (tile.alpha: baseline mean |y| of the
                 eye(256) readout at programming / the same readout now)
      rel_error  ||y - x W_target^T||_F / ||x W_target^T||_F for y = tile(x), the eval-mode
                 forward (periphery per io setting, output multiplied by alpha)

    Each table entry is the mean and the std (ddof 0) over the R repeats, per io setting
    and t. A test compares an entry with SE = sqrt(std_a^2/R_a + std_b^2/R_b).

Data (closed form, so that a C test rebuilds it bit for bit without a stored matrix)
    frac(v) = v - floor(v), computed in float64 and then rounded to float32:
      W_target[i][j] = frac((256 i + j + 1) * 0.6180339887498949) - 0.5        [128][256]
      x[b][j]        = 2 frac((256 b + j + 1) * 0.4142135623730950) - 1        [64][256]
    (Weyl sequences of the golden ratio and sqrt 2: equidistributed on U(-0.5, 0.5) and
    U(-1, 1); max |W_target| = 0.49999... within float32 rounding.)

Seeds and randomness
    Programming noise and drift exponents come from torch's generator (seeded per repeat
    as above); the forward noise and the drift readout's noise come from aihwkit's C++ RNG,
    which Python cannot seed (fresh realisation each run). aihwkit's CPU Gaussian table
    (scripts/aihwkit/README.md) only affects the io_default forward noise; one tile per
    repeat averages it over R tables.

Sample sizes
    R = 200 repeats per io setting. The per-repeat quantities are averages over 32768
    weights, so their spread over repeats is small and the SE of a mean is std/sqrt(200).

How
    /work/aihwkit-venv/bin/python scripts/aihwkit/crosscheck_drift.py   (~25 s)
    -> tests/data/aihwkit/drift_table.json. See scripts/aihwkit/README.md.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xc_common  # noqa: E402

OUT_SIZE, IN_SIZE, BATCH = 128, 256, 64
W_STEP = 0.6180339887498949
X_STEP = 0.4142135623730950
REPEATS = 200
PROGRAM_SEED = 1000
T_INFERENCE_S = [0.0, 1.0, 60.0, 3600.0, 86400.0, 2592000.0, 31536000.0]
SHRINK_MIN_ABS_W = 0.1


def make_data():
    import numpy as np

    def frac(v):
        return v - np.floor(v)

    k = np.arange(1, OUT_SIZE * IN_SIZE + 1, dtype=np.float64).reshape(OUT_SIZE, IN_SIZE)
    w = (frac(k * W_STEP) - 0.5).astype(np.float32)
    k = np.arange(1, BATCH * IN_SIZE + 1, dtype=np.float64).reshape(BATCH, IN_SIZE)
    x = (2.0 * frac(k * X_STEP) - 1.0).astype(np.float32)
    return w, x


def io_settings():
    from aihwkit.simulator.parameters import IOParameters

    return {"io_default": IOParameters(), "io_perfect": IOParameters(is_perfect=True)}


def run_setting(io, w, x):
    """Per repeat and t: (shrink, noise, alpha, rel_error), as an array [R][T][4]."""
    import numpy as np
    import torch
    from aihwkit.simulator.configs import InferenceRPUConfig
    from aihwkit.simulator.tiles import InferenceTile

    wt, xt = torch.from_numpy(w), torch.from_numpy(x)
    w64 = w.astype(np.float64)
    exact = x.astype(np.float64) @ w64.T
    exact_norm = np.linalg.norm(exact)
    mask = np.abs(w64) > SHRINK_MIN_ABS_W
    w_max = np.abs(w64).max()
    out = np.zeros((REPEATS, len(T_INFERENCE_S), 4))
    for r in range(REPEATS):
        rpu_config = InferenceRPUConfig()
        rpu_config.forward = io
        tile = InferenceTile(OUT_SIZE, IN_SIZE, rpu_config)
        tile.set_weights(wt)
        tile.eval()
        torch.manual_seed(PROGRAM_SEED + r)
        with torch.no_grad():
            tile.program_weights()
            for k, t in enumerate(T_INFERENCE_S):
                tile.drift_weights(t)
                wd = tile.get_weights()[0].double().numpy()
                shrink = (wd[mask] / w64[mask]).mean()
                noise = (wd - shrink * w64).std() / w_max
                alpha = float(tile.alpha.reshape(-1)[0])
                y = tile(xt).double().numpy()
                rel = np.linalg.norm(y - exact) / exact_norm
                out[r, k] = (shrink, noise, alpha, rel)
    return out


def main():
    xc_common.require_aihwkit()
    import numpy as np

    xc_common.single_thread()
    w, x = make_data()
    names = ["shrink", "noise", "alpha", "rel_error"]
    tables = {}
    for setting, io in io_settings().items():
        values = run_setting(io, w, x)
        tables[setting] = {
            name: {"mean": xc_common.sig_list(values[:, :, q].mean(axis=0)),
                   "std": xc_common.sig_list(values[:, :, q].std(axis=0))}
            for q, name in enumerate(names)
        }
        for k, t in enumerate(T_INFERENCE_S):
            print("%-10s t=%-9g " % (setting, t)
                  + "  ".join("%s %.5f+-%.5f" % (n, values[:, k, q].mean(), values[:, k, q].std())
                              for q, n in enumerate(names)), flush=True)

    xc_common.write_fixture("drift_table.json", {
        "generator": "scripts/aihwkit/crosscheck_drift.py",
        "versions": xc_common.versions(),
        "tile": "InferenceTile(128, 256, InferenceRPUConfig(forward=io)), set_weights(W),"
                " eval(); per repeat r: torch.manual_seed(program_seed + r),"
                " program_weights(), then drift_weights(t) for each t in order",
        "out_size": OUT_SIZE,
        "in_size": IN_SIZE,
        "batch": BATCH,
        "data": "frac(v) = v - floor(v) in float64, then float32: W[i][j] = frac((256 i + j"
                " + 1) * w_step) - 0.5, x[b][j] = 2 frac((256 b + j + 1) * x_step) - 1",
        "w_step": W_STEP,
        "x_step": X_STEP,
        "repeats": REPEATS,
        "program_seed": PROGRAM_SEED,
        "t_inference_s": T_INFERENCE_S,
        "shrink_min_abs_w": SHRINK_MIN_ABS_W,
        "io_settings": {"io_default": "IOParameters()",
                        "io_perfect": "IOParameters(is_perfect=True)"},
        "note": "per io setting, per quantity: mean and std (ddof 0) over repeats, one value"
                " per t_inference_s. shrink = mean(W_drift/W) over |W| > shrink_min_abs_w;"
                " noise = std(W_drift - shrink W)/max|W|; alpha = global drift compensation"
                " factor; rel_error = ||y - x W^T|| / ||x W^T|| of the eval forward"
                " (compensated). SE of a difference: sqrt(std_a^2/R_a + std_b^2/R_b)",
        "tables": tables,
    })


if __name__ == "__main__":
    main()
