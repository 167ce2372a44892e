"""Sample QC numerics on simulated cohorts: sex check from marker expression, identity check from cis-QTLs."""

import numpy as np
import pytest

from qtlatlas.qc.identity import check_identity
from qtlatlas.qc.sex_check import check_sex, split_scores

# ---------------------------------------------------------------- sex check


def _markers(is_female: np.ndarray, rng, noise: float = 0.6):
    """log2(TPM + 1) of 2 female markers (XIST-, TSIX-like) and 3 male markers (RPS4Y1-, DDX3Y-, UTY-like)."""
    n = len(is_female)
    female = np.column_stack(
        [
            np.where(is_female, 6.0, 0.3) + rng.normal(0, noise, n),
            np.where(is_female, 2.5, 0.2) + rng.normal(0, noise, n),
        ]
    )
    male = np.column_stack(
        [np.where(is_female, 0.2, level) + rng.normal(0, noise, n) for level in (7.0, 4.0, 3.0)]
    )
    return np.clip(female, 0, None), np.clip(male, 0, None)


def _sexes(is_female):
    return np.where(is_female, "female", "male")


def test_flipped_declared_sex_is_the_only_flag():
    rng = np.random.default_rng(1)
    is_female = np.arange(120) % 2 == 0
    female, male = _markers(is_female, rng)
    declared = _sexes(is_female)
    declared[37] = "female" if declared[37] == "male" else "male"
    ids = np.array([f"IND{i:03d}" for i in range(120)])
    res = check_sex(female, male, declared, ids + "-liver", ids)
    assert res.split.separated
    assert list(res.individual_ids[res.flag]) == ["IND037"]
    assert res.inferred[37] == _sexes(is_female)[37] != res.declared[37]
    assert np.array_equal(res.inferred, _sexes(is_female))
    assert not res.discordant.any()
    # female markers high, male markers low: the female group scores above the male one
    assert res.score[is_female].min() > res.score[~is_female].max()


def test_one_female_among_men_is_called_and_not_flagged_when_declared_so():
    rng = np.random.default_rng(2)
    is_female = np.zeros(80, dtype=bool)
    is_female[11] = True
    female, male = _markers(is_female, rng)
    ids = np.arange(80).astype(str)
    res = check_sex(female, male, _sexes(is_female), ids, ids)
    assert res.split.separated
    assert res.inferred[11] == "female"
    assert (res.inferred[np.arange(80) != 11] == "male").all()
    assert not res.flag.any()
    # declared male, she is flagged
    declared = _sexes(is_female)
    declared[11] = "male"
    assert list(check_sex(female, male, declared, ids, ids).flag.nonzero()[0]) == [11]


@pytest.mark.parametrize("sex", [True, False])
def test_one_sex_only_calls_nothing(sex):
    rng = np.random.default_rng(3)
    is_female = np.full(100, sex)
    female, male = _markers(is_female, rng)
    declared = _sexes(~is_female)  # every declaration wrong, yet the data cannot say so
    ids = np.arange(100).astype(str)
    res = check_sex(female, male, declared, ids, ids)
    assert not res.split.separated
    assert not res.flag.any()
    assert (res.inferred == "").all()
    assert all("do not separate" in r for r in res.reason)


def test_uninformative_markers_flag_nothing_with_a_reason():
    rng = np.random.default_rng(4)
    is_female = np.arange(120) % 2 == 0
    noise_f = rng.normal(3.0, 1.0, (120, 2))
    noise_m = rng.normal(3.0, 1.0, (120, 3))
    declared = _sexes(is_female)
    declared[:10] = _sexes(~is_female[:10])
    ids = np.arange(120).astype(str)
    res = check_sex(noise_f, noise_m, declared, ids, ids)
    assert not res.flag.any()
    assert res.split.separation < 8
    assert all("uninformative" in r for r in res.reason)


def test_samples_of_one_individual_that_disagree_are_reported():
    rng = np.random.default_rng(5)
    n_ind = 60
    is_female = np.arange(n_ind) % 2 == 0
    # two tissues per individual; individual 4 (female) has a male sample in the second tissue
    ind = np.repeat(np.arange(n_ind), 2)
    sample_female = is_female[ind].copy()
    sample_female[2 * 4 + 1] = False
    female, male = _markers(sample_female, rng)
    tissue = np.tile(["liver", "lung"], n_ind)
    ids = np.array([f"IND{i}" for i in ind])
    samples = np.char.add(ids.astype(str), np.char.add("-", tissue.astype(str)))
    res = check_sex(female, male, _sexes(is_female)[ind], samples, ids, groups=tissue)
    assert list(res.individual_ids[res.discordant]) == ["IND4"]
    assert not res.flag.any()  # discordant, not a confident mismatch
    assert res.inferred[4] == ""
    table = res.discordant_samples()
    assert set(table.sample_id) == {"IND4-liver", "IND4-lung"}
    assert dict(zip(table.sample_id, table.inferred_sex, strict=True)) == {
        "IND4-liver": "female",
        "IND4-lung": "male",
    }


def test_only_one_side_of_markers_and_missing_values():
    rng = np.random.default_rng(6)
    is_female = np.arange(100) % 3 == 0
    female, male = _markers(is_female, rng)
    female[5, 0] = np.nan
    female[7, :] = np.nan
    ids = np.arange(100).astype(str)
    only_female = check_sex(female, np.empty((100, 0)), _sexes(is_female), ids, ids)
    assert only_female.split.separated
    assert only_female.inferred[7] == "" and only_female.reason[7] == "no marker measured"
    # a sample is called correctly, or left uncalled when its score falls near the threshold
    called = only_female.inferred != ""
    assert np.array_equal(only_female.inferred[called], _sexes(is_female)[called])
    assert called.sum() >= 95
    only_male = check_sex(np.empty((100, 0)), male, _sexes(is_female), ids, ids)
    assert np.array_equal(only_male.inferred, _sexes(is_female))


def test_unimodal_scores_do_not_separate_at_any_size():
    rng = np.random.default_rng(7)
    for n in (50, 500, 5000):
        assert not split_scores(rng.normal(size=n)).separated


# ---------------------------------------------------------------- identity check


def _cohort(seed, n_ind=120, n_samples=100, k=60):
    """Lead dosages (n_ind, k), slopes (k,), who each sample is (n_samples,) and standardised expression."""
    rng = np.random.default_rng(seed)
    af = rng.uniform(0.1, 0.5, k)
    dosages = rng.binomial(2, af, size=(n_ind, k)).astype(float)
    r2 = rng.uniform(0.1, 0.4, k)
    slopes = np.sqrt(r2 / (2 * af * (1 - af))) * rng.choice([-1.0, 1.0], k)
    who = rng.choice(n_ind, n_samples, replace=False)
    y = slopes * (dosages[who] - 2 * af) + rng.normal(0, 1, (n_samples, k)) * np.sqrt(1 - r2)
    y = (y - y.mean(axis=0)) / y.std(axis=0)
    # the slopes as a QTL scan would report them, on the standardised scale
    fitted = np.array([np.polyfit(dosages[who, j], y[:, j], 1)[0] for j in range(k)])
    return dosages, fitted, who, y


def _ids(n, prefix):
    return np.array([f"{prefix}{i}" for i in range(n)])


def test_swapped_labels_are_exactly_the_two_flagged_each_naming_the_other():
    dosages, slopes, who, y = _cohort(seed=11)
    declared = who.copy()
    declared[[3, 40]] = declared[[40, 3]]
    ind = _ids(120, "IND")
    res = check_identity(y, dosages, slopes, declared, ind, _ids(100, "S"))
    assert list(np.nonzero(res.flag)[0]) == [3, 40]
    assert (res.swapped_with[3], res.swapped_with[40]) == ("S40", "S3")
    assert res.swap_z[3] == res.swap_z[40] >= res.best_z_threshold
    assert (res.swapped_with[np.arange(100) != 3][np.arange(99) != 39] == "").all()
    assert res.best_match[3] == ind[who[3]] == res.declared[40]
    assert res.best_match[40] == ind[who[40]] == res.declared[3]
    assert (res.declared_rank[[3, 40]] > 1).all()
    # every correctly labelled sample ranks its own individual first or near it
    others = np.setdiff1d(np.arange(100), [3, 40])
    assert np.median(res.declared_rank[others]) == 1
    assert np.median(res.declared_z[others]) > 3
    assert abs(np.median(res.expected_z) - np.median(res.declared_z[others])) < 1.0


def test_too_few_phenotypes_flags_nothing_and_says_so():
    dosages, slopes, who, y = _cohort(seed=12, k=60)
    declared = who.copy()
    declared[[3, 40]] = declared[[40, 3]]
    ind = _ids(120, "IND")
    res = check_identity(y[:, :5], dosages[:, :5], slopes[:5], declared, ind, _ids(100, "S"))
    assert not res.flag.any()
    assert all(r.startswith("too few phenotypes") for r in res.reason)


def test_declared_individual_without_genotypes_is_reported_not_flagged():
    dosages, slopes, who, y = _cohort(seed=13)
    declared = who.copy()
    declared[8] = -1
    ind = _ids(120, "IND")
    res = check_identity(y, dosages, slopes, declared, ind, _ids(100, "S"))
    assert not res.flag[8]
    assert res.declared[8] == "" and np.isnan(res.declared_z[8]) and res.declared_rank[8] == 0
    assert res.reason[8].startswith("declared individual has no genotypes")
    assert not res.flag.any()


def test_missing_values_and_blocked_scoring_agree_with_one_block(monkeypatch):
    import qtlatlas.qc.identity as identity

    dosages, slopes, who, y = _cohort(seed=14, n_ind=70, n_samples=40, k=30)
    rng = np.random.default_rng(0)
    y[rng.random(y.shape) < 0.1] = np.nan
    dosages[rng.random(dosages.shape) < 0.05] = np.nan
    args = (y, dosages, slopes, who, _ids(70, "I"), _ids(40, "S"))
    whole = check_identity(*args)
    monkeypatch.setattr(identity, "_MAX_CELLS", 7)
    blocked = check_identity(*args)
    np.testing.assert_allclose(blocked.declared_score, whole.declared_score, rtol=1e-10)
    np.testing.assert_allclose(blocked.best_z, whole.best_z, rtol=1e-10)
    assert np.array_equal(blocked.declared_rank, whole.declared_rank)
    assert np.isfinite(whole.declared_score).all()


def test_shapes_are_checked():
    dosages, slopes, who, y = _cohort(seed=15, n_ind=30, n_samples=20, k=25)
    with pytest.raises(ValueError):
        check_identity(y, dosages[:, :-1], slopes, who, _ids(30, "I"), _ids(20, "S"))
    with pytest.raises(ValueError):
        check_identity(y, dosages, slopes, np.full(20, 30), _ids(30, "I"), _ids(20, "S"))


def _swap_study(k, seeds):
    """False flags over cohorts with no swap, and the fraction of planted swapped samples flagged."""
    false_flags, n_clean, caught, n_swapped, pointed_right = 0, 0, 0, 0, 0
    for seed in seeds:
        dosages, slopes, who, y = _cohort(seed=1000 + seed, k=k)
        ind, samples = _ids(120, "IND"), _ids(100, "S")
        false_flags += check_identity(y, dosages, slopes, who, ind, samples).flag.sum()
        n_clean += len(who)
        declared = who.copy()
        pairs = np.arange(20).reshape(10, 2)
        declared[pairs[:, 0]], declared[pairs[:, 1]] = who[pairs[:, 1]], who[pairs[:, 0]]
        res = check_identity(y, dosages, slopes, declared, ind, samples)
        swapped = pairs.ravel()
        caught += res.flag[swapped].sum()
        # a flagged sample points at the right individual, or at the right partner sample
        partner = samples[pairs[:, ::-1].ravel()]
        right = (res.best_match[swapped] == ind[who[swapped]]) | (res.swapped_with[swapped] == partner)
        pointed_right += right[res.flag[swapped]].sum()
        false_flags += res.flag[20:].sum()
        n_clean += len(who) - 20
        n_swapped += len(swapped)
    return false_flags, n_clean, caught / n_swapped, pointed_right / max(1, caught)


@pytest.mark.parametrize("k, power_floor", [(30, 0.3), (60, 0.7)])
def test_false_positive_rate_and_power(k, power_floor):
    false_flags, n_clean, power, pointed_right = _swap_study(k, range(20))
    print(
        f"K={k}: {false_flags} false flags in {n_clean} correctly labelled samples; power {power:.2f}; "
        f"{pointed_right:.2f} of the flagged name the right individual or partner"
    )
    assert false_flags == 0
    assert power >= power_floor
    assert pointed_right >= 0.9
