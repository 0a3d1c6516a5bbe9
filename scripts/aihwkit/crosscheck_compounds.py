"""Device-level cross-check of the compound devices OneSidedUnitCell, MixedPrecisionCompound
and DynamicTransferCompound (AGAD) against aihwkit (writes
tests/data/aihwkit/compound_device.json; the C test tests/unit/test_aihwkit_compounds.c
replays it).

Recipe. Exact devices and counts, so that aihwkit's and aihw's results can be compared
value by value although their random streams differ: ConstantStepDevice with dw_min 0.01,
bounds +-1, no device-to-device spread, no step noise (dw_min_std 0), reset_std 0;
perfect forward/backward; the SGD update DETERMINISTIC_IMPLICIT with BL 1000 and no update
or BL management (a sample moves w_ij by exactly rint(lr d_i x_j / 0.01) steps); transfer
and refresh reads perfect, their updates DETERMINISTIC_IMPLICIT (BL 1000 without
management, or the compound's BL 1 for AGAD). x ~ U(-1, 1), d ~ U(-0.3, 0.3) (numpy
seed 11 + case index), batch sizes cycle through 2, 1, 3. After every update call the
fixture records the hidden weights of every sub-device (OneSided g-, g+; AGAD A, C; the
MixedPrecision device) and the compound's digital state (MixedPrecision chi; AGAD buffer,
running and past means, input choppers).

Cases: OneSided without refresh (weights from U(-0.8, 0.8)); OneSided with
copy_inverted on devices with up_down 0.2 (up steps 0.012, down 0.008: g+ is device 0
mirrored, so it steps up by 0.008); MixedPrecision defaults; MixedPrecision with transfer_every 2,
n_rows_per_transfer 1, transfer_lr 2, granularity 0.02; MixedPrecision with deterministic
bins (n_x_bins 5, n_d_bins 3, stoc_round off); AGAD (in_chop_prob 0.5 regular, period 2,
tail_weightening 1, fast_lr 0.5 absolute, lr 0.1 for the transfer LR, one column per
vector, momentum 0, forget), AGAD without forgetting (momentum 0.3, buffer_cap 2) and
AGAD with no_buffer, with auto_scale (running max|x|, max|d| and the count LR) and with
experimental_correct_accumulation; row transfers (transfer_columns False) of
TransferCompound (transfer update BL 1000) and BufferedTransferCompound (BL 1, defaults
otherwise: momentum 0.1, forget), transfer_lr 0.37 scaled by the SGD lr 0.5; row
transfers of AGAD and of ChoppedTransferCompound (regular choppers, in_chop_prob 0.5).

OneSided's refresh is not in the fixture: aihwkit 1.1.0 selects the pairs by the
documented rule (reference §5.10) but writes the difference back with the wrong sign. The
probe `--probe-refresh` (1 x 1 tile, bounds +-1, refresh after the mini-batch) prints
g+ 0.9, g- 0.5 -> g+ -0.4, g- 0 and g+ 0.5, g- 0.9 -> g+ 0, g- -0.4 (the visible weight
flips from 0.4 to -0.4; pairs below the thresholds, g+ 0.6, g- 0.3, are left alone). With
one-sided devices whose w_min is 0 (PCMPresetDevice) the negative write is clipped, so
the refresh erases the weight. aihw writes the difference as documented (g+ 0.4, g- 0:
the visible weight is kept; tests/unit/test_compound_onesided.c).

Run with the aihwkit interpreter: /work/aihwkit-venv/bin/python
scripts/aihwkit/crosscheck_compounds.py
"""

import numpy as np

from xc_common import require_aihwkit, single_thread, versions, sig_list, write_fixture

require_aihwkit()
single_thread()

import torch  # noqa: E402
from aihwkit.simulator.tiles import AnalogTile  # noqa: E402
from aihwkit.simulator.configs import (  # noqa: E402
    DigitalRankUpdateRPUConfig,
    UnitCellRPUConfig,
)
from aihwkit.simulator.configs.compounds import (  # noqa: E402
    BufferedTransferCompound,
    ChoppedTransferCompound,
    DynamicTransferCompound,
    TransferCompound,
    MixedPrecisionCompound,
    OneSidedUnitCell,
)
from aihwkit.simulator.configs.devices import ConstantStepDevice  # noqa: E402
from aihwkit.simulator.parameters import IOParameters, UpdateParameters  # noqa: E402
from aihwkit.simulator.parameters.enums import PulseType  # noqa: E402

ROWS, COLS, CALLS = 3, 4, 12
BATCHES = [2, 1, 3]


def device(up_down=0.0):
    return ConstantStepDevice(
        dw_min=0.01,
        dw_min_dtod=0.0,
        dw_min_std=0.0,
        up_down=up_down,
        up_down_dtod=0.0,
        w_max=1.0,
        w_min=-1.0,
        w_max_dtod=0.0,
        w_min_dtod=0.0,
        reset_std=0.0,
    )


def exact_update(bl=1000):
    return UpdateParameters(
        pulse_type=PulseType.DETERMINISTIC_IMPLICIT,
        desired_bl=bl,
        update_management=False,
        update_bl_management=False,
    )


def finish(rc):
    rc.forward.is_perfect = True
    rc.backward.is_perfect = True
    rc.update = exact_update()
    return rc


def cases():
    out = []
    rc = finish(UnitCellRPUConfig(device=OneSidedUnitCell(unit_cell_devices=[device()])))
    out.append(("onesided_update", "OneSidedUnitCell", {"refresh_every": 0}, rc, 0.8, 1.0))
    rc = finish(UnitCellRPUConfig(device=OneSidedUnitCell(
        unit_cell_devices=[device(0.2)], copy_inverted=True)))
    out.append(("onesided_copy_inverted", "OneSidedUnitCell",
                {"copy_inverted": True, "device_up_down": 0.2}, rc, 0.8, 1.0))
    rc = finish(DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(device=device())))
    out.append(("mixed_default", "MixedPrecisionCompound", {}, rc, 0.3, 0.5))
    params = {"transfer_every": 2, "n_rows_per_transfer": 1, "transfer_lr": 2.0,
              "granularity": 0.02}
    rc = finish(DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(device=device(),
                                                                          **params)))
    out.append(("mixed_rows", "MixedPrecisionCompound", params, rc, 0.3, 0.5))
    params = {"n_x_bins": 5, "n_d_bins": 3, "stoc_round_x": False, "stoc_round_d": False}
    rc = finish(DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(device=device(),
                                                                          **params)))
    out.append(("mixed_bins", "MixedPrecisionCompound", params, rc, 0.3, 0.5))
    for name, extra in (("agad", {}),
                        ("agad_no_forget", {"forget_buffer": False, "momentum": 0.3,
                                            "buffer_cap": 2.0}),
                        ("agad_no_buffer", {"no_buffer": True}),
                        ("agad_auto_scale", {"auto_scale": True}),
                        ("agad_correct_accumulation",
                         {"experimental_correct_accumulation": True}),
                        ("agad_rows", {"transfer_columns": False})):
        params = {"in_chop_prob": 0.5, "in_chop_random": False, "tail_weightening": 1.0,
                  "fast_lr": 0.5, "transfer_every": 1.0, "units_in_mbatch": False}
        params.update(extra)
        rc = finish(UnitCellRPUConfig(device=DynamicTransferCompound(
            unit_cell_devices=[device(), device()],
            transfer_forward=IOParameters(is_perfect=True),
            transfer_update=exact_update(1), **params)))
        out.append((name, "DynamicTransferCompound", params, rc, 0.0, 0.1))
    for name, cls, kind, bl in (("ttv1_rows", TransferCompound, "TransferCompound", 1000),
                                ("ttv2_rows", BufferedTransferCompound,
                                 "BufferedTransferCompound", 1)):
        # transfer_lr 0.37: the TTv1 counts rint(0.37 lr a / 0.01) of whole-step weights a
        # never fall on a .5 tie (rounding of ties is not what is being compared)
        rc = finish(UnitCellRPUConfig(device=cls(
            unit_cell_devices=[device(), device()], transfer_columns=False, transfer_lr=0.37,
            transfer_forward=IOParameters(is_perfect=True), transfer_update=exact_update(bl))))
        # v1.1.0 uses fast_lr (1.0) as an absolute rate: aihw's scale_fast_lr = 0
        out.append((name, kind, {"transfer_columns": False, "transfer_bl": bl,
                                 "scale_fast_lr": 0, "transfer_lr": 0.37}, rc, 0.3, 0.5))
    params = {"in_chop_prob": 0.5, "in_chop_random": False, "out_chop_prob": 0.0,
              "fast_lr": 0.5, "transfer_every": 1.0, "units_in_mbatch": False,
              "transfer_columns": False, "transfer_lr": 0.37}  # 0.37: no |h| = 1 ties
    rc = finish(UnitCellRPUConfig(device=ChoppedTransferCompound(
        unit_cell_devices=[device(), device()], transfer_forward=IOParameters(is_perfect=True),
        transfer_update=exact_update(1), **params)))
    out.append(("chopped_rows", "ChoppedTransferCompound", params, rc, 0.0, 0.1))
    return out


def state(tile, kind):
    hidden = tile.get_hidden_parameters()
    rec = {"weights": sig_list(tile.get_weights()[0].numpy(), 8)}
    if kind == "OneSidedUnitCell":
        rec["sub0"] = sig_list(hidden["hidden_weights_0"].numpy(), 8)
        rec["sub1"] = sig_list(hidden["hidden_weights_1"].numpy(), 8)
    elif kind == "MixedPrecisionCompound":
        rec["chi"] = sig_list(hidden["hidden_weights_chi"].numpy(), 8)
    elif kind == "ChoppedTransferCompound":
        rec["sub0"] = sig_list(hidden["hidden_weights_0"].numpy(), 8)
        rec["sub1"] = sig_list(hidden["hidden_weights_1"].numpy(), 8)
        key = "buffered_FP_weight" if "buffered_FP_weight" in hidden else "buffered_FP_weight_0"
        rec["buffer_only"] = sig_list(hidden[key].numpy(), 8)
        extra = tile.tile.dump_extra()
        rec["in_chopper_only"] = [int(v) for v in
                                  np.asarray(extra["rpu.rpu_device.in_chopper"])]
    elif kind in ("TransferCompound", "BufferedTransferCompound"):
        rec["sub0"] = sig_list(hidden["hidden_weights_0"].numpy(), 8)
        rec["sub1"] = sig_list(hidden["hidden_weights_1"].numpy(), 8)
        if kind == "BufferedTransferCompound":
            rec["buffer_only"] = sig_list(hidden["buffered_FP_weight_0"].numpy(), 8)
    else:
        rec["sub0"] = sig_list(hidden["hidden_weights_0"].numpy(), 8)
        rec["sub1"] = sig_list(hidden["hidden_weights_1"].numpy(), 8)
        rec["buffer"] = sig_list(hidden["buffered_FP_weight"].numpy(), 8)
        rec["running_mean"] = sig_list(hidden["running_mean_weight"].numpy(), 8)
        rec["past_mean"] = sig_list(hidden["past_mean_weight"].numpy(), 8)
        extra = tile.tile.dump_extra()
        rec["in_chopper"] = [int(v) for v in np.asarray(extra["rpu.rpu_device.in_chopper"])]
    return rec


def main():
    result = {"generator": "scripts/aihwkit/crosscheck_compounds.py", "versions": versions(),
              "rows": ROWS, "cols": COLS, "cases": []}
    for index, (name, kind, params, rc, w_range, lr) in enumerate(cases()):
        rng = np.random.default_rng(11 + index)
        tile = AnalogTile(ROWS, COLS, rc)
        tile.set_learning_rate(lr)
        w0 = rng.uniform(-w_range, w_range, size=(ROWS, COLS)).astype(np.float32)
        w0 = np.round(w0 / 0.01) * 0.01  # whole steps: set exactly on both sides
        tile.set_weights(torch.tensor(w0, dtype=torch.float32))
        calls = []
        for k in range(CALLS):
            batch = BATCHES[k % len(BATCHES)]
            x = rng.uniform(-1, 1, size=(batch, COLS)).astype(np.float32)
            d = rng.uniform(-0.3, 0.3, size=(batch, ROWS)).astype(np.float32)
            tile.update(torch.tensor(x), torch.tensor(d))
            calls.append({"x": x.tolist(), "d": d.tolist(), "expect": state(tile, kind)})
        result["cases"].append({"name": name, "type": kind, "params": params, "lr": lr,
                                "w0": w0.tolist(), "calls": calls})
    write_fixture("compound_device.json", result)


def probe_refresh():
    """Prints aihwkit's OneSided refresh outcome for crafted 1 x 1 pairs (g+, g-)."""
    for every in (0, 1):
        for gp, gm in ((0.9, 0.5), (0.5, 0.9), (0.6, 0.3)):
            rc = finish(UnitCellRPUConfig(device=OneSidedUnitCell(
                unit_cell_devices=[device()], refresh_every=every,
                refresh_forward=IOParameters(is_perfect=True), refresh_update=exact_update())))
            tile = AnalogTile(1, 1, rc)
            tile.set_learning_rate(1.0)
            tile.set_weights(torch.zeros(1, 1))
            tile.update(torch.ones(2, 1), torch.tensor([[-gp], [gm]]))
            hidden = tile.get_hidden_parameters()
            print("refresh_every %d: g+ %.2f, g- %.2f -> g+ %.4f, g- %.4f" % (
                every, gp, gm, hidden["hidden_weights_1"].item(),
                hidden["hidden_weights_0"].item()))


if __name__ == "__main__":
    import sys

    if "--probe-refresh" in sys.argv:
        probe_refresh()
    else:
        main()
