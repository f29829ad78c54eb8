"""The model build's statistics and data plumbing for the rebuilt demo model (NumPy only, no
TensorFlow): DeLong AUC intervals, calibration error and Platt scaling, the domain check's distance and
threshold, datasets read together with their near-duplicates kept in one split."""

from __future__ import annotations

import numpy as np
import pytest
from model_helpers import make_images

from spotter.modelbuild import data
from spotter.modelbuild.domain import distance, fit_whitening, threshold_for_share, whitening_weights
from spotter.modelbuild.features import near_duplicates
from spotter.modelbuild.metrics import (
    auc_difference,
    auc_interval,
    clipped_logit,
    delong,
    expected_calibration_error,
    fit_platt,
    platt,
    reliability_bins,
    roc_auc,
)


def _scores(n: int = 600, seed: int = 0, shift: float = 1.0):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.25
    return y, rng.normal(size=n) + shift * y


def test_delong_auc_is_the_rank_auc_and_its_interval_matches_the_bootstrap():
    y, s = _scores()
    aucs, cov = delong(y, [s])
    assert aucs[0] == pytest.approx(roc_auc(y, s))
    low, high = auc_interval(y, s)
    assert low < aucs[0] < high
    rng = np.random.default_rng(1)
    boot = []
    for _ in range(400):
        i = rng.integers(0, len(y), len(y))
        boot.append(roc_auc(y[i], s[i]))
    assert np.sqrt(cov[0, 0]) == pytest.approx(np.std(boot), rel=0.2)
    perfect = auc_interval(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))
    assert perfect == [1.0, 1.0]


def test_paired_auc_difference_is_tighter_than_two_intervals():
    y, s = _scores()
    noisy = s + np.random.default_rng(2).normal(scale=0.1, size=len(s))
    gap = auc_difference(y, noisy, s)
    assert gap["difference"] == pytest.approx(roc_auc(y, noisy) - roc_auc(y, s))
    low, high = gap["ci95"]
    assert low < gap["difference"] < high and high - low < 0.05  # far narrower than either AUC's own interval


def test_expected_calibration_error_by_hand():
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.05, 0.15, 0.95, 0.95, 0.55])
    # bins: [0,.1): 1 photo, 0 positive, mean .05; [.1,.2): .15, 0; [.5,.6): .55, 1; [.9,1]: .95, 1 (two)
    expected = (0.05 + 0.15 + 0.45 + 2 * 0.05) / 5
    assert expected_calibration_error(y, p) == pytest.approx(expected)
    rows = reliability_bins(y, p)
    assert len(rows) == 10 and sum(r["n"] for r in rows) == 5 and rows[9]["share_positive"] == 1.0
    assert expected_calibration_error(np.array([1]), np.array([1.0])) == 0.0  # a score of 1 is in the last bin


def test_platt_scaling_recovers_a_known_miscalibration_and_lowers_the_error():
    rng = np.random.default_rng(3)
    logit = rng.normal(scale=2.5, size=20000)
    y = rng.random(len(logit)) < platt(logit, 0.5, -1.0)  # the truth: overconfident and shifted
    raw = platt(logit, 1.0, 0.0)
    a, b = fit_platt(y, clipped_logit(raw))
    assert a == pytest.approx(0.5, abs=0.03) and b == pytest.approx(-1.0, abs=0.05)
    after = platt(clipped_logit(raw), a, b)
    assert expected_calibration_error(y, after) < 0.02 < expected_calibration_error(y, raw)
    assert roc_auc(y, after) == pytest.approx(roc_auc(y, raw))  # a calibration keeps the order


def test_clipped_logit_matches_the_runtime_clip():
    assert clipped_logit(np.array([0.0]))[0] == pytest.approx(np.log(1e-6 / (1 - 1e-6)))
    assert clipped_logit(np.array([1.0]))[0] == pytest.approx(-np.log(1e-6 / (1 - 1e-6)))


def test_domain_distance_as_dense_relu_dense_and_its_threshold():
    rng = np.random.default_rng(4)
    mixing = rng.normal(size=(20, 20))
    train = rng.normal(size=(3000, 20)) @ mixing + 5.0
    fit = fit_whitening(train, 8)
    kernel, bias = whitening_weights(fit)
    as_layers = np.maximum(train @ kernel + bias, 0.0).sum(axis=1) / fit["k"]
    np.testing.assert_allclose(as_layers, distance(train, fit), rtol=1e-4)
    assert distance(train, fit).mean() == pytest.approx(np.sqrt(2 / np.pi), abs=0.03)  # E|N(0, 1)|
    far = rng.normal(size=(50, 20)) @ mixing * 4 + 5.0
    assert np.median(distance(far, fit)) > 2 * np.percentile(distance(train, fit), 99)
    held_out = distance(rng.normal(size=(500, 20)) @ mixing + 5.0, fit)
    cut = threshold_for_share(held_out, 0.02)
    assert (held_out > cut).sum() == 10 and (held_out > cut).mean() <= 0.02
    assert (held_out > threshold_for_share(held_out, 0.0)).sum() == 0


def test_near_duplicates_by_cosine():
    rng = np.random.default_rng(5)
    f = rng.random((6, 32))
    f[4] = f[1] * 3.0  # the same picture at another scale
    f[5] = f[2] + 0.001
    found = near_duplicates(f, list("abcdef"), 0.999)
    assert [(a, b) for a, b, _ in found] == [("b", "e"), ("c", "f")]


def _two_folders(tmp_path):
    first = make_images(tmp_path / "one", per_class=10, csv=True)
    second = tmp_path / "two"
    second.mkdir()
    rows = ["image,label,near_duplicate_of"]
    for colour, rgb in (("blue", (0, 0, 200)), ("red", (200, 0, 0))):
        for i in range(10):
            from PIL import Image

            Image.new("RGB", (16, 16), (rgb[0], 5 * i, rgb[2])).save(second / f"{colour}_x{i:02d}.png")
            twin = f"{colour}_x{i + 1:02d}" if i % 4 == 0 else ("missing_photo" if i == 9 else "")
            rows.append(f"{colour}_x{i:02d},{colour},{twin}")
    (second / "labels.csv").write_text("\n".join(rows) + "\n")
    return first, second


def test_datasets_read_together_keep_their_near_duplicates_in_one_split(tmp_path):
    first, second = _two_folders(tmp_path)
    dataset = data.load_datasets([first, second], "label", "near_duplicate_of")
    assert dataset.sources == {"one": 20, "two": 20} and dataset.counts() == {"blue": 20, "red": 20}
    assert dataset.groups["blue_x01"] == dataset.groups["blue_x00"] == "blue_x00"
    assert "missing_photo" not in dataset.groups  # a twin not in the data groups nothing
    some_id = "blue_03"  # from the first folder
    dataset = data.with_links(dataset, [(some_id, "blue_x05")])
    for seed in range(6):
        split = data.stratified_split(dataset, (0.6, 0.2, 0.2), seed=seed, test_only=["red_x08"])
        where = {i: name for name in data.SPLITS for i in split[name]}
        assert len(where) == 40
        for group in split["groups"]:
            assert len({where[i] for i in group}) == 1, group
        assert where["red_x08"] == where["red_x09"] == "test"  # a test-only photo takes its group along
        assert split["datasets"] == {"one": 20, "two": 20} and split["dataset"] == "one + two"
    with pytest.raises(ValueError, match="in both"):
        data.load_datasets([first, first], "label")


def test_a_split_without_groups_is_the_split_it_always_was(tmp_path):
    dataset = data.load_dataset(make_images(tmp_path, per_class=20))
    split = data.stratified_split(dataset, (0.6, 0.2, 0.2), seed=3)
    # fixed by the split before groups existed: per class shuffled, then cut train | validation | test
    rng = np.random.default_rng(3)
    for label, name in enumerate(dataset.labels):
        ids = sorted(s.id for s in dataset.samples if s.label == label)
        ids = [ids[i] for i in rng.permutation(len(ids))]
        assert set(ids[:12]) <= set(split["train"]) and set(ids[12:16]) <= set(split["validation"]), name
