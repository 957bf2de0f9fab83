"""SyntheticFaces: rendering -> simulation -> cache -> TBR samples, splits, determinism."""

from __future__ import annotations

import dataclasses
import pickle

import h5py
import numpy as np
import pytest
import torch

from neurova.datasets import SyntheticFaces, SyntheticFacesConfig, cache_key, synthetic
from neurova.datasets.synthetic import prepare_synthetic_faces, synthetic_cache
from neurova.emotions import EKMAN7, EKMAN7_NAMES
from neurova.errors import DatasetNotFoundError

TINY = {"n_subjects": 3, "clips_per_subject": 1, "frames_per_clip": 8, "image_size": 16, "sensor_size": (48, 36),
        "emotion_clips_per_emotion": 1}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("synthetic")
    SyntheticFaces(root, "all", progress=False, **TINY)
    return root


def test_sample_contract(cache_dir) -> None:
    ds = SyntheticFaces(cache_dir, "train", clip_length=3, build=False, **TINY)
    assert len(ds) > 0
    sample = ds[0]
    assert sample["frames"].shape == (3, 1, 16, 16) and sample["frames"].dtype == torch.float32
    assert 0.0 <= float(sample["frames"].min()) and float(sample["frames"].max()) <= 1.0
    assert sample["va"].shape == (3, 2) and sample["va"].dtype == torch.float32
    assert torch.isfinite(sample["va"]).all() and sample["va"].abs().max() <= 1.0
    assert sample["label"].dtype == torch.int64 and sample["label"].shape == () and int(sample["label"]) == -1
    meta = sample["meta"]
    assert meta["subject"].startswith("s") and meta["clip_id"].startswith(meta["subject"])
    assert meta["frame_indices"].dtype == torch.int64
    np.testing.assert_array_equal(meta["timestamps_us"].numpy(), meta["frame_indices"].numpy() * 40_000)
    # the first frame has no events before it, so samples start at frame 1
    assert int(meta["frame_indices"][0]) >= 1
    assert ds.contract.clip_length == 3 and ds.contract.channels == 1 and ds.contract.image_size == 16


def test_phase_ends_each_window_that_long_before_its_frame(cache_dir) -> None:
    from neurova.transforms import ToModelInput

    on = SyntheticFaces(cache_dir, "all", clip_length=2, build=False, **TINY)
    off = SyntheticFaces(cache_dir, "all", clip_length=2, build=False, phase_us=30_000, **TINY)
    by_frames = {(s["meta"]["clip_id"], tuple(s["meta"]["frame_indices"].tolist())): s for s in on}
    changed = 0
    for sample in off:
        meta = sample["meta"]
        same = by_frames[meta["clip_id"], tuple(meta["frame_indices"].tolist())]  # the same frames and labels
        assert torch.equal(sample["va"], same["va"])
        np.testing.assert_array_equal(meta["timestamps_us"].numpy(), same["meta"]["timestamps_us"].numpy() - 30_000)
        end = int(meta["timestamps_us"][-1])
        clip = off.clips[meta["clip_id"]]
        # the window lies after the clip's first frame, and is made by the operator predict applies
        assert end - off.window_us >= clip.frame_timestamps_us[0]
        box = clip.face_boxes[int(np.flatnonzero(clip.frame_indices == int(meta["frame_indices"][-1]))[0])]
        events = off.clip_events(meta["clip_id"], end - off.history_us, end)
        torch.testing.assert_close(sample["frames"], torch.from_numpy(ToModelInput(off.contract, box)(events, end)))
        changed += not torch.equal(sample["frames"], same["frames"])
    assert 0 < len(off) < len(on) and changed > 0  # the phase moves the first usable frame later
    # several phases: the samples take them in turn, over the frames usable at the largest
    mixed = SyntheticFaces(cache_dir, "all", clip_length=2, build=False, phase_us=(0, 30_000), **TINY)
    assert mixed.index == off.index and mixed.phases_us == (0, 30_000)
    for i in range(4):
        shift = int(mixed[i]["meta"]["timestamps_us"][-1]) - int(mixed[i]["meta"]["frame_indices"][-1]) * 40_000
        assert shift == (0, -30_000)[i % 2]
        assert torch.equal(mixed[i]["frames"], (on if i % 2 == 0 else off)[by_index(on, off, i)]["frames"])
    for bad in (-1, 2.5, True, (), (0, -1)):
        with pytest.raises(ValueError, match="phase_us"):
            SyntheticFaces(cache_dir, "all", build=False, phase_us=bad, **TINY)


def test_box_jitter_moves_each_face_box_before_the_crop(cache_dir) -> None:
    """The error of a detector's box, applied to the events: frames exactly as ``predict`` makes them with that box."""
    from neurova.augment import RandomBoxJitter
    from neurova.transforms import ToModelInput

    true = SyntheticFaces(cache_dir, "all", clip_length=2, build=False, **TINY)
    fixed = SyntheticFaces(cache_dir, "all", clip_length=2, build=False, box_jitter=(0.1, 0.2), jitter_seed=3, **TINY)
    moved = 0
    for i in range(0, len(fixed), 7):
        sample, box, true_box = fixed[i], fixed.face_box(i), true.face_box(i)
        meta = sample["meta"]
        end = int(meta["timestamps_us"][-1])
        events = fixed.clip_events(meta["clip_id"], end - fixed.history_us, end)
        torch.testing.assert_close(sample["frames"], torch.from_numpy(ToModelInput(fixed.contract, box)(events, end)))
        assert torch.equal(fixed[i]["frames"], sample["frames"]) and fixed.face_box(i) == box  # fixed per sample
        generator = torch.Generator().manual_seed(int(np.random.SeedSequence([3, i]).generate_state(
            1, dtype=np.uint64)[0]))
        assert box == pytest.approx(RandomBoxJitter(0.1, 0.2).jitter_box(true_box, generator))
        moved += not torch.equal(sample["frames"], true[i]["frames"])
    assert moved > 0
    other_seed = SyntheticFaces(cache_dir, "all", clip_length=2, build=False, box_jitter=(0.1, 0.2), jitter_seed=4,
                                **TINY)
    assert other_seed.face_box(0) != fixed.face_box(0)
    fresh = SyntheticFaces(cache_dir, "all", clip_length=2, build=False, box_jitter=(0.1, 0.2), **TINY)
    torch.manual_seed(0)
    assert fresh.face_box(0) != fresh.face_box(0)  # without a seed: a new error at every call
    with pytest.raises(ValueError, match="cache_frames=False"):
        SyntheticFaces(cache_dir, "all", build=False, box_jitter=(0.1, 0.2), cache_frames=True, **TINY)
    with pytest.raises(ValueError, match="shift and scale"):
        SyntheticFaces(cache_dir, "all", build=False, box_jitter=(-0.1, 0.2), **TINY)


def by_index(on: SyntheticFaces, off: SyntheticFaces, i: int) -> int:
    """The index in ``on`` (i even) or ``off`` (i odd) of the sample ``off.index[i]`` (the same clip and frames)."""
    return on.index.index(off.index[i]) if i % 2 == 0 else i


def test_frames_hold_events(cache_dir) -> None:
    ds = SyntheticFaces(cache_dir, "all", mode="frame", build=False, **TINY)
    total = sum(float(ds[i]["frames"].sum()) for i in range(0, len(ds), 3))
    assert total > 0, "a moving face must produce events"
    assert ds[0]["frames"].shape == (1, 1, 16, 16)


def test_subject_splits_are_disjoint(cache_dir) -> None:
    subjects = {}
    for split in ("train", "val", "test", "emotion"):
        ds = SyntheticFaces(cache_dir, split, build=False, **TINY)
        subjects[split] = {m.subject for m in ds.clips.values()}
        assert subjects[split], split
    names = list(subjects)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not subjects[a] & subjects[b], (a, b)
    assert ds.split_path.is_file() and ds.split_path.parent == ds.cache.root


def test_emotion_clips_are_labelled_at_the_emotion(cache_dir) -> None:
    ds = SyntheticFaces(cache_dir, "emotion", mode="frame", build=False, **TINY)
    assert len(ds.clips) == len(EKMAN7_NAMES)
    for clip_id, meta in ds.clips.items():
        name = EKMAN7_NAMES[int(meta.labels[0])]
        assert clip_id.endswith(name.lower())
        np.testing.assert_allclose(meta.va.mean(axis=0), EKMAN7[name], atol=0.2)  # jitter 0.05
    assert int(ds[0]["label"]) in range(len(EKMAN7_NAMES))


def test_encodings_and_polarity(cache_dir) -> None:
    split = SyntheticFaces(cache_dir, "val", polarity="split", clip_length=2, build=False, **TINY)
    assert split[0]["frames"].shape == (2, 2, 16, 16)
    voxel = SyntheticFaces(cache_dir, "val", encoding="voxel", n_bits=4, clip_length=2, build=False, **TINY)
    assert voxel.contract.channels == 4 and voxel[0]["frames"].shape == (2, 4, 16, 16)


def test_contract_and_config_as_values(cache_dir) -> None:
    from neurova.contract import InputContract
    from neurova.errors import InputContractError

    by_keywords = SyntheticFaces(cache_dir, "val", polarity="split", clip_length=2, n_bits=4, build=False, **TINY)
    config = SyntheticFacesConfig(**{k: v for k, v in TINY.items()})
    contract = InputContract(polarity="split", clip_length=2, n_bits=4, image_size=16, face_crop=None)
    by_values = SyntheticFaces(cache_dir, "val", config=config, contract=contract, build=False)
    assert by_values.contract == contract.replace(face_crop="box") == by_keywords.contract
    assert by_values.config == by_keywords.config and by_values.clip_ids == by_keywords.clip_ids
    torch.testing.assert_close(by_values[0]["frames"], by_keywords[0]["frames"])
    resized = SyntheticFaces(cache_dir, "val", config=config, contract=contract.replace(image_size=8), build=False)
    assert resized[0]["frames"].shape == (2, 2, 8, 8) and resized.config.image_size == 8  # same cache, other size
    with pytest.raises(InputContractError, match=r"not both \(got contract and clip_length, image_size\)"):
        SyntheticFaces(cache_dir, "val", contract=contract, clip_length=3, build=False, **TINY)
    with pytest.raises(ValueError, match=r"not both \(got config and n_subjects\)"):
        SyntheticFaces(cache_dir, "val", config=config, n_subjects=5, build=False)


def test_in_memory_matches_lazy_reads(cache_dir) -> None:
    lazy = SyntheticFaces(cache_dir, "test", build=False, **TINY)
    ram = SyntheticFaces(cache_dir, "test", build=False, in_memory=True, **TINY)
    for i in (0, len(lazy) - 1):
        torch.testing.assert_close(lazy[i]["frames"], ram[i]["frames"])
    # datasets travel to spawned workers without their (unpicklable) HDF5 handles
    clone = pickle.loads(pickle.dumps(lazy))
    assert clone._handles == {} and clone._events == {}
    torch.testing.assert_close(clone[1]["frames"], lazy[1]["frames"])


def test_cached_frames_equal_fresh_ones_and_are_encoded_once(cache_dir, monkeypatch) -> None:
    fresh = SyntheticFaces(cache_dir, "train", build=False, **TINY)
    cached = SyntheticFaces(cache_dir, "train", build=False, cache_frames=True, **TINY)
    first = [cached[i]["frames"] for i in range(len(cached))]
    first[0].fill_(7.0)  # a consumer writing into a sample does not touch the cache
    monkeypatch.setattr(cached, "_encode", lambda *args: pytest.fail("a cached sample was encoded again"))
    for i in range(len(cached)):
        assert torch.equal(cached[i]["frames"], fresh[i]["frames"])


def test_deterministic_from_seed(cache_dir, tmp_path) -> None:
    cfg = {**TINY, "emotion_clips": False}
    again = SyntheticFaces(tmp_path, "all", progress=False, **cfg)
    first = SyntheticFaces(cache_dir, "all", build=False, **TINY)
    for clip_id in again.clip_ids:
        a, b = first.clip_events(clip_id), again.clip_events(clip_id)
        assert len(a) > 0
        np.testing.assert_array_equal(a, b)


def test_a_split_builds_only_its_clips_with_the_events_of_the_full_build(cache_dir, tmp_path, monkeypatch) -> None:
    made: list[str] = []
    make = synthetic._make_record
    monkeypatch.setattr(synthetic, "_make_record", lambda job: made.append(job.clip_id) or make(job))
    emotion = SyntheticFaces(tmp_path, "emotion", progress=False, **TINY)
    expected = sorted(f"e00-{name.lower()}" for name in EKMAN7_NAMES)
    assert sorted(made) == expected and sorted(emotion.cache.complete_clips()) == expected  # nothing else written
    assert [f.name for f in emotion.cache.files()] == ["events.emotion.h5"]
    full = SyntheticFaces(cache_dir, "all", build=False, **TINY)
    assert emotion.cache.key == full.cache.key
    for clip_id in expected:  # the same events, VA and labels as when built with every clip
        np.testing.assert_array_equal(emotion.clip_events(clip_id), full.clip_events(clip_id))
        np.testing.assert_array_equal(emotion.clips[clip_id].va, full.clips[clip_id].va)
        np.testing.assert_array_equal(emotion.clips[clip_id].labels, full.clips[clip_id].labels)
    with pytest.raises(DatasetNotFoundError, match="prepare_data"):
        SyntheticFaces(tmp_path, "train", build=False, **TINY)

    made.clear()  # the rest, later, while this process reads the emotion clips: reused, not rebuilt
    subjects = prepare_synthetic_faces(tmp_path, SyntheticFacesConfig(**TINY), progress=False)
    assert sorted(made) == sorted(c for c in full.clip_ids if c not in expected)
    assert sorted(subjects) == sorted(full.clip_ids)
    everything = SyntheticFaces(tmp_path, "all", build=False, **TINY)
    for clip_id in full.clip_ids:
        np.testing.assert_array_equal(everything.clip_events(clip_id), full.clip_events(clip_id))


def test_prepare_builds_the_clips_of_the_splits_asked_for(tmp_path) -> None:
    config = SyntheticFacesConfig(**TINY)
    test = prepare_synthetic_faces(tmp_path, config, splits="test", progress=False)
    cache = synthetic_cache(tmp_path, config)
    assert len(test) == 1 and set(cache.complete_clips()) == set(test)  # one of the 3 subjects, one clip each
    assert [f.name for f in cache.files()] == ["events.test.h5"]
    with pytest.raises(ValueError, match="part"):
        cache.part_path(part="../elsewhere")
    assert set(test) == set(SyntheticFaces(tmp_path, "test", build=False, **TINY).clip_ids)
    assert not cache.index_path.exists()  # the index records complete builds only
    with pytest.raises(ValueError, match="bogus"):
        prepare_synthetic_faces(tmp_path, config, splits=["bogus"])


def test_cache_key_tracks_event_parameters(tmp_path) -> None:
    base = SyntheticFacesConfig(**{k: v for k, v in TINY.items()})
    same = SyntheticFacesConfig(**{k: v for k, v in TINY.items()})
    assert synthetic_cache(tmp_path, base).key == synthetic_cache(tmp_path, same).key
    for change in ({"seed": 1}, {"sensor_size": (64, 48)}, {"face_fraction": (0.3, 0.5)}, {"supersample": 2},
                   {"preset": "noisy"}, {"upsample": 2}, {"max_step_px": 0.5},
                   {"dvs_params": {"shot_noise_rate_hz": 20.0}}):
        other = SyntheticFacesConfig(**{**TINY, **change})
        assert synthetic_cache(tmp_path, other).key != synthetic_cache(tmp_path, base).key, change
    # the model input side is applied at load time: the same events serve every image_size
    resized = SyntheticFacesConfig(**{**TINY, "image_size": 24})
    assert synthetic_cache(tmp_path, resized).key == synthetic_cache(tmp_path, base).key
    # a config read back from JSON (lists) is the same config
    assert SyntheticFacesConfig(**{**TINY, "sensor_size": [48, 36]}) == base
    assert cache_key({"a": 1, "b": [1.0, 2]}) == cache_key({"b": [1, 2], "a": 1.0})


def test_dvs_params_set_the_pixel_model_over_the_preset() -> None:
    noisier = SyntheticFacesConfig(**{**TINY, "preset": "noisy", "dvs_params": {"shot_noise_rate_hz": 50.0}})
    assert SyntheticFacesConfig(**{**TINY, "dvs_params": {}}) == SyntheticFacesConfig(**TINY)  # empty: the preset's
    counts = [len(synthetic._make_record(config.jobs()[0]["s000-c00"]).events)
              for config in (dataclasses.replace(noisier, dvs_params=None), noisier)]
    assert counts[1] > 1.5 * counts[0]  # 50 Hz of shot noise against the preset's 5 Hz
    with pytest.raises(ValueError, match="unknown DVS parameter"):
        SyntheticFacesConfig(**{**TINY, "dvs_params": {"shot_noise": 1.0}})
    with pytest.raises(ValueError, match="shot_noise_rate_hz must be >= 0"):
        SyntheticFacesConfig(**{**TINY, "dvs_params": {"shot_noise_rate_hz": -1.0}})


def test_light_flicker_lights_the_scene_with_a_flickering_lamp() -> None:
    from neurova.encodings import estimate_flicker_frequency

    steady = SyntheticFacesConfig(**TINY)
    lit = SyntheticFacesConfig(**{**TINY, "light_flicker": (120, 0.5)})
    assert lit.light_flicker == (120.0, 0.5) and "light_flicker" not in steady.cache_params()  # old keys kept
    assert lit.cache_params()["light_flicker"] == (120.0, 0.5)
    records = [synthetic._make_record(config.jobs()[0]["s000-c00"]) for config in (steady, lit)]
    assert len(records[1].events) > 5 * len(records[0].events)
    assert estimate_flicker_frequency(records[1].events) == pytest.approx(120.0, abs=1.0)
    np.testing.assert_array_equal(records[1].va, records[0].va)  # the same faces and labels
    for bad in ((0, 0.5), (100, 1.5), (100, -0.1)):
        with pytest.raises(ValueError, match="light_flicker"):
            SyntheticFacesConfig(**{**TINY, "light_flicker": bad})


def test_missing_cache_without_build_raises(tmp_path) -> None:
    with pytest.raises(DatasetNotFoundError, match="prepare_data"):
        SyntheticFaces(tmp_path, "train", build=False, **TINY)


def test_cache_layout(cache_dir) -> None:
    ds = SyntheticFaces(cache_dir, "all", build=False, **TINY)
    root = ds.cache.root
    assert (root / "manifest.json").is_file() and (root / "clips.json").is_file()
    with h5py.File(root / "events.h5", "r") as f:
        group = f["clips"][ds.clip_ids[0]]
        assert group.attrs["complete"] and group.attrs["subject"] == ds.clips[ds.clip_ids[0]].subject
        for name in ("events", "frame_timestamps_us", "va", "labels", "frame_indices", "valid"):
            assert name in group, name


def test_face_boxes_are_stored_per_frame_on_the_sensor(cache_dir) -> None:
    ds = SyntheticFaces(cache_dir, "all", build=False, **TINY)
    for meta in ds.clips.values():
        assert meta.sensor_size == (48, 36)
        boxes = meta.face_boxes
        assert boxes.shape == (len(meta.frame_timestamps_us), 4)
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 0] + boxes[:, 2] <= 48).all()
        assert (boxes[:, 1] + boxes[:, 3] <= 36).all()
        np.testing.assert_allclose(boxes[:, 2], boxes[:, 3])  # square
        assert (boxes[:, 3] >= 0.4 * 36 * 0.9).all() and (boxes[:, 3] <= 0.6 * 36 * 1.1).all()  # face_fraction
        assert np.abs(np.diff(boxes[:, :2], axis=0)).max() > 0  # the box follows the moving head


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="n_subjects"):
        SyntheticFacesConfig(n_subjects=2)
    with pytest.raises(ValueError, match="sensor_size"):
        SyntheticFacesConfig(sensor_size=(4, 4))
    with pytest.raises(ValueError, match="face_fraction"):
        SyntheticFacesConfig(face_fraction=(0.7, 0.2))
    with pytest.raises(ValueError, match="split"):
        SyntheticFaces(None, "bogus")  # type: ignore[arg-type]


# The events of one default-sized clip, per CACHE_VERSION and preset: (events, ON events, mean x, mean y, mean t in
# µs). Recorded with the code of that version; a renderer, scene or simulator change that moves them must bump
# CACHE_VERSION (stale caches are then rebuilt, the leaderboard reruns its entries) and add its line here.
FINGERPRINTS = {
    ("synthetic_faces-3", "clean"): (15165, 6603, 76.5916, 63.1792, 215542.04),
    ("synthetic_faces-3", "noisy"): (50082, 23786, 77.2667, 61.8992, 217944.79),
}


@pytest.mark.parametrize("preset", ["clean", "noisy"])
def test_the_events_of_a_clip_match_the_fingerprint_of_the_cache_version(preset: str) -> None:
    config = SyntheticFacesConfig(n_subjects=3, clips_per_subject=1, frames_per_clip=12, emotion_clips_per_emotion=0,
                                  preset=preset)
    jobs, _ = config.jobs()
    events = synthetic._make_record(jobs["s000-c00"]).events
    key = (synthetic.CACHE_VERSION, preset)
    assert key in FINGERPRINTS, f"record the fingerprint of {key}"
    n, n_on, *means = FINGERPRINTS[key]
    measured = (len(events), int(events["p"].sum()), events["x"].mean(), events["y"].mean(), events["t"].mean())
    # a few events may move between machines (floating point of the renderer's transcendental functions); a change
    # of the data moves thousands (the textures of version 3 added 15 % to a clip)
    message = (f"the synthetic events changed ({measured} against {FINGERPRINTS[key]}): "
               "bump neurova.datasets.synthetic.CACHE_VERSION and record its fingerprint here")
    assert measured[0] == pytest.approx(n, rel=2e-3) and measured[1] == pytest.approx(n_on, rel=3e-3), message
    assert measured[2:] == pytest.approx(tuple(means), rel=2e-3), message
