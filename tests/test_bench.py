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
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_speed.py"), "--size", "small", "--repeat", "5",
                           "--check", "--json", str(tmp_path / "bench.json")],
                          capture_output=True, text=True, timeout=900)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "bench.json").stat().st_size > 0
