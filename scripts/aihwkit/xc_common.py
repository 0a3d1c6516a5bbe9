"""Shared helpers of the aihwkit cross-check scripts (scripts/aihwkit/crosscheck_*.py).

The cross-check scripts measure statistics of IBM aihwkit (the project's yardstick) and
write them as JSON fixtures under tests/data/aihwkit/. They need aihwkit and PyTorch
(see scripts/aihwkit/README.md for the exact installation); the C test suite does not.

This module holds what every script shares: the import check with a clear message, the
version record, float rounding for compact JSON, and the fixture writer.
"""

import json
import math
import os
import sys

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURE_DIR = os.path.join(REPO_ROOT, "tests", "data", "aihwkit")


def require_aihwkit():
    """Import torch and aihwkit or exit(1) with a message naming what is missing."""
    try:
        import torch  # noqa: F401
        import aihwkit  # noqa: F401
        from aihwkit.simulator.tiles import AnalogTile  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the machine
        sys.stderr.write(
            "%s: aihwkit (with PyTorch) is not importable here: %s\n"
            "Install it as described in scripts/aihwkit/README.md and run this script\n"
            "with that interpreter (e.g. /work/aihwkit-venv/bin/python).\n"
            % (os.path.basename(sys.argv[0]), err)
        )
        sys.exit(1)


def single_thread():
    """One thread for torch and the aihwkit CPU kernels (shared machine, reproducible)."""
    import torch

    torch.set_num_threads(1)


def versions():
    """Versions of the packages that produced a fixture."""
    import aihwkit
    import numpy
    import torch

    return {"aihwkit": aihwkit.__version__, "torch": torch.__version__, "numpy": numpy.__version__}


def sig(value, digits=6):
    """A float rounded to `digits` significant digits (None for NaN/Inf: JSON null)."""
    value = float(value)
    if not math.isfinite(value):
        return None
    return float("%.*g" % (digits, value))


def sig_list(values, digits=6):
    """sig() over a (possibly nested) sequence or numpy array."""
    import numpy as np

    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        return sig(arr, digits)
    return [sig_list(v, digits) for v in arr] if arr.ndim > 1 else [sig(v, digits) for v in arr]


def write_fixture(name, obj):
    """Writes tests/data/aihwkit/<name> (compact JSON, one trailing newline); returns path."""
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    path = os.path.join(FIXTURE_DIR, name)
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(obj, handle, separators=(",", ":"), allow_nan=False)
        handle.write("\n")
    os.replace(tmp, path)
    print("wrote %s (%d bytes)" % (os.path.relpath(path, REPO_ROOT), os.path.getsize(path)))
    return path
