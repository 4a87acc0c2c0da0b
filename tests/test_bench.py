"""The speed benchmark runs at small size and fails if a ratio regresses past its ceiling.

Ratios (nmfcore time / peer time measured in the same process), never wall times. The ceilings and
which of them are the core issue's targets are in ``bench/bench_speed.py`` (CHECK_CEILINGS).
"""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_speed_ratios_stay_below_their_ceilings(tmp_path):
    pytest.importorskip("sklearn")
    # The development and CI machines are shared: the same code's ratios moved by up to 40 % between runs on
    # 2026-11-28. A ceiling missed once is measured again; only a second miss is a regression.
    for attempt in range(2):
        proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_speed.py"), "--size", "small", "--repeat",
                               "5", "--check", "--json", str(tmp_path / "bench.json")],
                              capture_output=True, text=True, timeout=900)
        print(proc.stdout)
        if proc.returncode == 0:
            break
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "bench.json").stat().st_size > 0


def _bench_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_speed", ROOT / "bench" / "bench_speed.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_reference_loops_compute_the_same_updates_as_nmfcore():
    """The ratios compare equal work: the plain loop, the NumPy floor loops and nmfcore run the same
    multiplicative updates from the same start (a floor loop that skipped work would flatter nothing
    but would make the floor rows meaningless)."""
    import numpy as np
    import nmfcore as nc
    bench = _bench_module()
    X, W0, H0 = bench.data(30, 40, 3)
    res = nc.fit(X, 3, noise="poisson", init={"W": W0, "H": H0}, max_iter=20, tol=0.0)
    mu = res.W @ res.H
    for loop in (bench.plain_lee_seung, bench.floor_kl):
        W, H = loop(X, W0.copy(), H0.copy(), 20)
        np.testing.assert_allclose(W @ H, mu, rtol=1e-10)
    res = nc.fit(X, 3, noise=nc.Gaussian(estimate_phi=False), init={"W": W0, "H": H0}, max_iter=20, tol=0.0)
    W, H = bench.floor_frobenius(X, W0.copy(), H0.copy(), 20)
    np.testing.assert_allclose(W @ H, res.W @ res.H, rtol=1e-10)
