"""The `browser` marker: `pytest -m "not browser"` leaves out every Playwright test of tests/browser, and
`-m browser` picks them all (a `pytestmark` in a conftest marks nothing; the conftest's hook does)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def collect(marker: str) -> str:
    result = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                             "-m", marker, "tests/browser"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 5), result.stdout + result.stderr          # 5: nothing collected
    return result.stdout


def test_not_browser_leaves_out_every_browser_test_and_browser_picks_them_all():
    picked = [line for line in collect("browser").splitlines() if line.startswith("tests/browser/")]
    assert len(picked) > 10
    left_out = collect("not browser")
    assert "no tests collected" in left_out
    assert re.search(r"\((\d+) deselected\)", left_out).group(1) == str(len(picked))
