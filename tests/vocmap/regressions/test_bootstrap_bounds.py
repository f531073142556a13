"""Bootstrap intervals inside [0, 1] (issue 18, 1.4).

On the demo data eight classes had the upper bound ``1.0000000000000002``. The cause
is arithmetic: the devkit's 11-point AP is ``ap = ap + p/11`` eleven times, and
eleven additions of ``1/11`` give ``1 + 2**-52``. The point AP keeps that (it is the
devkit's number, bit for bit); an interval is clipped to [0, 1] where it is made
(``percentile_interval``), a difference's to [-1, 1].
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from fixture_paths import DEMO

from vocmap.analysis import bootstrap as bs
from vocmap.cli import main

ONE_UP = 1.0000000000000002


def test_the_cause_eleven_elevenths_are_more_than_one():
    total = 0.0
    for _ in range(11):
        total = total + 1.0 / 11
    assert total == ONE_UP == math.nextafter(1.0, 2.0)


@pytest.mark.parametrize("level", [0.5, 0.9, 0.95, 0.999])
def test_a_perfect_replicate_gives_an_upper_bound_of_exactly_one(level):
    values = np.array([0.9, 0.95, ONE_UP, ONE_UP, ONE_UP, ONE_UP])
    lo, hi = bs.percentile_interval(values, level)
    assert 0.0 <= lo <= hi == 1.0
    assert bs.percentile_interval(np.full(7, ONE_UP), level) == (1.0, 1.0)
    assert bs.percentile_interval(np.full(7, -1e-300), level) == (0.0, 0.0)


def test_a_difference_is_clipped_to_minus_one_to_one():
    assert bs.percentile_interval(np.full(5, -ONE_UP), 0.95, bounds=(-1.0, 1.0)) == (-1.0, -1.0)
    assert bs.percentile_interval(np.full(5, ONE_UP), 0.95, bounds=(-1.0, 1.0)) == (1.0, 1.0)


def test_every_demo_interval_lies_in_zero_to_one(capsys):
    capsys.readouterr()
    argv = ["evaluate", DEMO / "results", "--voc-root", DEMO / "VOC2007", "--ci", "--json", "-"]
    assert main([str(a) for a in argv]) == 0
    data = json.loads(capsys.readouterr().out)
    pairs = [*data["ci"]["classes"].values(), data["ci"]["map"]]
    assert all(0.0 <= lo <= hi <= 1.0 for lo, hi in pairs)
    # the eight classes whose bound was 1.0000000000000002 now end at 1.0 exactly
    assert data["ci"]["classes"]["aeroplane"][1] == 1.0
    assert data["classes"]["aeroplane"]["ap"] == 0.9870129870129872  # the point AP unchanged
