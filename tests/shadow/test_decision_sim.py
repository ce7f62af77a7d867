"""A small-budget run of bench/shadow_stats_sim.py: the decision rule's error rates through its own code."""

import importlib.util

import numpy as np

from test_runner import ROOT

spec = importlib.util.spec_from_file_location("shadow_stats_sim", ROOT / "bench" / "shadow_stats_sim.py")
sim = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sim)


def bound(p, runs):
    return p - 2.6 * np.sqrt(max(p * (1 - p), 1e-4) / runs)  # the rate's lower 99.5% Monte-Carlo bound


def test_sequential_looks_keep_the_false_pass_rate_at_alpha():
    rng, runs = np.random.default_rng(5), 1500
    spent = sim.sequential(rng, runs, sim.NOISE + sim.MARGIN)["PASS"]
    naive = sim.sequential(rng, runs, sim.NOISE + sim.MARGIN, fixed_alpha=True)["PASS"]
    assert bound(spent, runs) <= 0.05
    assert bound(naive, runs) > 0.05  # testing every look at the full alpha (the old gate) does not


def test_five_slices_and_a_sampled_noise_floor_keep_false_fails_rare():
    rng, runs = np.random.default_rng(6), 1500
    assert bound(sim.sliced(rng, runs, sim.NOISE), runs) <= 0.05
    sampled = sim.verdict(sim.draw(rng, runs, 1000, sim.NOISE, sim.NOISE, 0.3), 1)
    assert bound(float(np.mean(sampled == "FAIL")), runs) <= 0.05
