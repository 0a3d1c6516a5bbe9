#!/usr/bin/env python3
"""Device pulse responses and hidden-parameter statistics measured with aihwkit.

What
    For every single-device model class of aihwkit at its default parameters
    (ConstantStep, LinearStep, SoftBounds, SoftBoundsPmax, ExpStep, PowStep, PiecewiseStep,
    SoftBoundsReference, PowStepReference) and every single-device preset (ReRamES,
    ReRamSB, Capacitor, EcRam, EcRamMO, Idealized, GokmenVlasov, PCM):

    1. pulse response, exactly the recipe of aihwkit.utils.visualization
       (get_tile_for_plotting + compute_pulse_response) and of `aihw response`:
       AnalogTiles of K / T rows x 1 column (K independent devices in T = 40 tiles, see
       "aihwkit's Gaussian table" below; statistically the same as one tile of K rows),
       SingleRPUConfig(device),
       update desired_bl = 1, update_management = update_bl_management = False,
       learning rate 1, all weights set to 0 (set_weights, so devices with write noise get
       it); then N updates with x = [[-1]], d = +1 in every row (one up pulse each) and N
       with d = -1 (one down pulse each); after every pulse the exact weights
       (get_weights) are read and their mean and population std (ddof 0) over the K
       devices recorded, together with the kurtosis m4 / var^2 (so that a test can compute
       the standard error of the std without assuming normality).
       -> tests/data/aihwkit/device_response.json
    2. hidden parameters of a 200 x 200 tile of each device (get_hidden_parameters()):
       mean and std (ddof 0) over the 40000 devices of each parameter aihwkit returns
       (max_bound, min_bound, dwmin_up, dwmin_down, decay_scales, diffusion_rates,
       reset_bias, drift_nu and the model's extras: slope_*, gamma_*, reference, ...),
       and its 1, 5, 25, 50, 75, 95, 99 % quantiles (robust where a parameter is
       heavy-tailed, e.g. soft-bounds slopes ~ 1/bound).
       -> tests/data/aihwkit/device_hidden_stats.json

aihwkit's Gaussian table
    aihwkit's CPU RNG draws every Gaussian by indexing a table of 32768 normal numbers made
    once per tile (reference §11). Its sample mean (~N(0, 1/32768), i.e. +-0.0055) and
    variance (+-0.8 %) hold for the tile's lifetime, so within one tile every noisy step is
    biased by a common dw_min_std * 0.0055 relative amount, which no standard error over
    devices captures (measured: per-tile means of the table draws from -0.0042 to +0.0056).
    Spreading the K devices over T = 40 tiles averages 40 tables.

Seeds and sample sizes
    K = 2000 devices (40 tiles x 50), N = 300 up then 300 down pulses (2N + 1 = 601
    recorded steps, step 0 = initial state). Device-to-device draws: construction_seed
    1 + t for tile t = 0..39 (pulse response), 1 (hidden statistics);
    torch.manual_seed(1). aihwkit's cycle-to-cycle
    RNG is seeded by its C++ runtime, not by either seed, so the curves are one random
    realisation: compare them statistically (standard errors from K), never bit by bit.
    The standard error of a mean is std / sqrt(K); of a std, about
    std * sqrt((kurt - 1) / (4 K)).

How
    /work/aihwkit-venv/bin/python scripts/aihwkit/crosscheck_devices.py
    (about 10 s on one core). See scripts/aihwkit/README.md.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xc_common  # noqa: E402

K_DEVICES = 2000
N_PULSES = 300
# The K devices are simulated as TILES tiles of K / TILES rows: aihwkit's CPU draws its
# cycle-to-cycle Gaussians from a per-tile table of 32768 normals, whose sample mean is off
# by ~0.0055 (1 sigma) for the tile's lifetime, which biases every step of that tile by
# dw_min_std * 0.0055 (2.7 % for ReRamES's dw_min_std 5). 40 tables shrink that to ~0.4 %.
TILES = 40
CONSTRUCTION_SEED = 1
TORCH_SEED = 1
HIDDEN_ROWS = HIDDEN_COLS = 200
HIDDEN_SEED = 1
# Quantiles stored with the hidden-parameter statistics: several parameters are heavy-tailed
# (soft-bounds slopes ~ 1/bound, decay scales with rare zeros), where the std is dominated
# by a handful of devices and only quantiles compare robustly.
HIDDEN_QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
# Above this size the curves are stored at every 5th pulse only (and the file says so).
MAX_BYTES = 1_500_000

MODEL_CLASSES = [
    "ConstantStepDevice",
    "LinearStepDevice",
    "SoftBoundsDevice",
    "SoftBoundsPmaxDevice",
    "ExpStepDevice",
    "PowStepDevice",
    "PiecewiseStepDevice",
    "SoftBoundsReferenceDevice",
    "PowStepReferenceDevice",
]
PRESETS = [
    "ReRamESPresetDevice",
    "ReRamSBPresetDevice",
    "CapacitorPresetDevice",
    "EcRamPresetDevice",
    "EcRamMOPresetDevice",
    "IdealizedPresetDevice",
    "GokmenVlasovPresetDevice",
    "PCMPresetDevice",
]


def make_device(name, seed):
    """The aihwkit device dataclass `name` at its defaults, with construction_seed."""
    from aihwkit.simulator.configs import devices
    from aihwkit.simulator.presets import devices as presets

    cls = getattr(devices, name, None) or getattr(presets, name)
    dev = cls()
    dev.construction_seed = seed
    return dev


def plotting_tile(device, rows, cols=1, w_init=0.0):
    """get_tile_for_plotting(SingleRPUConfig(device), rows, w_init) for any shape."""
    import torch
    from aihwkit.simulator.configs import SingleRPUConfig
    from aihwkit.simulator.tiles import AnalogTile

    config = SingleRPUConfig(device=device)
    config.update.update_bl_management = False
    config.update.update_management = False
    config.update.desired_bl = 1
    tile = AnalogTile(rows, cols, config)
    tile.set_learning_rate(1)
    tile.set_weights(w_init * torch.ones((rows, cols)))
    return tile


def pulse_response(name):
    """Mean, std and kurtosis over K devices after each of the 2N + 1 steps; the K
    devices are TILES tiles of K / TILES rows (construction seeds CONSTRUCTION_SEED + t)."""
    import numpy as np
    import torch

    rows = K_DEVICES // TILES
    x = -torch.ones(1, 1)
    ones = torch.ones(1, rows)
    trace = np.empty((2 * N_PULSES + 1, K_DEVICES))
    for t in range(TILES):
        tile = plotting_tile(make_device(name, CONSTRUCTION_SEED + t), rows)
        cols = slice(t * rows, (t + 1) * rows)
        trace[0, cols] = tile.get_weights()[0].numpy()[:, 0]
        for step in range(1, 2 * N_PULSES + 1):
            direction = 1.0 if step <= N_PULSES else -1.0
            tile.update(x, ones * direction)
            trace[step, cols] = tile.get_weights()[0].numpy()[:, 0]
    mean = trace.mean(axis=1)
    centred = trace - mean[:, None]
    var = (centred**2).mean(axis=1)
    m4 = (centred**4).mean(axis=1)
    kurt = np.where(var > 0, m4 / np.where(var > 0, var, 1) ** 2, 0.0)
    return mean, np.sqrt(var), kurt


def hidden_stats(name):
    """Mean, std and quantiles over a 200 x 200 tile of every hidden parameter."""
    import numpy as np

    tile = plotting_tile(make_device(name, HIDDEN_SEED), HIDDEN_ROWS, HIDDEN_COLS)
    out = {}
    for key, value in tile.get_hidden_parameters().items():
        arr = value.double().numpy().ravel()
        out[key] = {
            "mean": xc_common.sig(arr.mean()),
            "std": xc_common.sig(arr.std()),
            "quantiles": xc_common.sig_list(np.quantile(arr, HIDDEN_QUANTILES)),
        }
    return out


def main():
    xc_common.require_aihwkit()
    import torch

    xc_common.single_thread()
    torch.manual_seed(TORCH_SEED)

    records, hidden = [], []
    for name in MODEL_CLASSES + PRESETS:
        start = time.time()
        mean, std, kurt = pulse_response(name)
        records.append({"device": name, "mean": mean, "std": std, "kurt": kurt})
        hidden.append({"device": name, "parameters": hidden_stats(name)})
        print("%-28s mean[N] %+.5f std[N] %.5f  (%.1f s)"
              % (name, mean[N_PULSES], std[N_PULSES], time.time() - start), flush=True)

    def response_fixture(stride):
        steps = list(range(0, 2 * N_PULSES + 1, stride))
        return {
            "generator": "scripts/aihwkit/crosscheck_devices.py",
            "versions": xc_common.versions(),
            "recipe": "aihwkit.utils.visualization get_tile_for_plotting/compute_pulse_response:"
                      " AnalogTile(K/tiles, 1, SingleRPUConfig(device)) x tiles, desired_bl 1,"
                      " no update (BL) management, lr 1, weights set to 0, N updates x=[[-1]]"
                      " d=+1 then N with d=-1; exact weights after every pulse. K devices in"
                      " `tiles` tiles to average aihwkit's per-tile Gaussian table",
            "tiles": TILES,
            "construction_seed": CONSTRUCTION_SEED,
            "construction_seeds": "construction_seed + t for tile t = 0 .. tiles-1",
            "torch_manual_seed": TORCH_SEED,
            "devices": K_DEVICES,
            "pulses": N_PULSES,
            "stride": stride,
            "note": "mean, std (ddof 0) and kurtosis m4/var^2 over the K devices at the steps"
                    " 0, stride, 2*stride, ..., 2N (step 0 = initial state, steps 1..N up"
                    " pulses, N+1..2N down pulses); 6 significant digits",
            "steps": steps,
            "records": [
                {"device": r["device"],
                 "mean": xc_common.sig_list(r["mean"][::stride]),
                 "std": xc_common.sig_list(r["std"][::stride]),
                 "kurt": xc_common.sig_list(r["kurt"][::stride], 4)}
                for r in records
            ],
        }

    path = xc_common.write_fixture("device_response.json", response_fixture(1))
    if os.path.getsize(path) > MAX_BYTES:
        xc_common.write_fixture("device_response.json", response_fixture(5))

    xc_common.write_fixture("device_hidden_stats.json", {
        "generator": "scripts/aihwkit/crosscheck_devices.py",
        "versions": xc_common.versions(),
        "note": "mean, std (ddof 0) and quantiles (numpy linear interpolation) over a %d x %d"
                " AnalogTile (SingleRPUConfig(device), construction_seed %d, weights set to 0)"
                " of each hidden parameter of get_hidden_parameters()"
                % (HIDDEN_ROWS, HIDDEN_COLS, HIDDEN_SEED),
        "quantiles": HIDDEN_QUANTILES,
        "rows": HIDDEN_ROWS,
        "cols": HIDDEN_COLS,
        "construction_seed": HIDDEN_SEED,
        "records": hidden,
    })


if __name__ == "__main__":
    main()
