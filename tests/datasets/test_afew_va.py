"""AFEW-VA: parsing the authors' layout, landmark crops, the resumable event cache, subject splits."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from neurova.datasets import AFEWVA, AFEWVASimulation, load_split, save_split, scan_afew_va
from neurova.datasets.afew_va import _Job, _make_record, afew_va_cache, crop_clip, prepare_afew_va
from neurova.datasets.splits import check_disjoint
from neurova.errors import DatasetNotFoundError, NeurovaError, VideoFormatError
from neurova.image import read_frames
from tests.data.afew_va.data import make_afew_va

SIM = AFEWVASimulation(image_size=24, smooth_window=5)


@pytest.fixture(scope="module")
def afew_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_afew_va(tmp_path_factory.mktemp("afew_va") / "AFEW-VA")


@pytest.fixture(scope="module")
def built(afew_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache_dir = tmp_path_factory.mktemp("cache")
    prepare_afew_va(afew_root, cache_dir, SIM, progress=False)
    return cache_dir


def _jobs(root: Path, sim: AFEWVASimulation = SIM) -> dict[str, _Job]:
    return {c.clip_id: _Job(c, sim) for c in scan_afew_va(root)}


# ------------------------------------------------------------------------------------------ parsing


def test_scan_reads_the_authors_layout(afew_root: Path) -> None:
    clips = scan_afew_va(afew_root)
    assert [c.clip_id for c in clips] == ["001", "002", "003", "004", "005"]
    clip = clips[0]
    doc = json.loads((afew_root / "001" / "001.json").read_text())
    assert clip.actor == doc["actor"] and clip.video_id == doc["video_id"]
    assert clip.va.shape == (12, 2) and clip.landmarks.shape == (12, 68, 2)
    np.testing.assert_allclose(clip.va[3], [doc["frames"]["00003"]["valence"] / 10, doc["frames"]["00003"]["arousal"] / 10])
    np.testing.assert_array_equal(clip.timestamps_us, np.arange(12) * 40_000)
    assert clip.labelled.all()


def _copy_tree(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_missing_labels_and_frames_warn_once_with_counts(afew_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(afew_root, tmp_path / "afew")
    doc_path = root / "002" / "002.json"
    doc = json.loads(doc_path.read_text())
    del doc["frames"]["00004"]  # a frame without label
    doc["frames"]["00005"]["valence"] = None  # a label without valence
    doc_path.write_text(json.dumps(doc))
    (root / "003" / "00007.png").unlink()  # a label without its frame
    (root / "005" / "005.json").unlink()  # a clip without annotations
    with pytest.warns(UserWarning) as record:
        clips = scan_afew_va(root)
    assert len(record) == 1
    message = str(record[0].message)
    assert "1 clips without a JSON file (005)" in message
    assert "2 frames without labels" in message and "1 labels whose frame PNG is missing" in message
    by_id = {c.clip_id: c for c in clips}
    assert set(by_id) == {"001", "002", "003", "004"}
    np.testing.assert_array_equal(np.flatnonzero(~by_id["002"].labelled), [4, 5])
    assert 7 not in by_id["003"].frame_indices.tolist() and len(by_id["003"].frame_paths) == 11


def test_clip_windows_never_span_a_missing_frame(afew_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(afew_root, tmp_path / "afew")
    (root / "003" / "00007.png").unlink()
    with pytest.warns(UserWarning, match="1 labels whose frame PNG is missing"):
        ds = AFEWVA(root, "all", cache_dir=tmp_path / "cache", sim=SIM, clip_length=3, progress=False)
    starts = [int(ds[i]["meta"]["frame_indices"][0]) for i in range(len(ds)) if ds.index[i][0] == "003"]
    assert starts == [1, 2, 3, 4, 8, 9]  # windows 5-7 and 6-8 would cross the gap
    for i in range(len(ds)):
        assert (ds[i]["meta"]["frame_indices"].diff() == 1).all()


def test_clean_tree_does_not_warn(afew_root: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scan_afew_va(afew_root)


def test_malformed_json_names_the_file(afew_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(afew_root, tmp_path / "afew")
    bad = root / "003" / "003.json"
    bad.write_text('{"actor": "x", "frames": {"00000": ')
    with pytest.raises(NeurovaError, match=r"003\.json.*malformed"):
        scan_afew_va(root)
    bad.write_text(json.dumps({"actor": "x", "frames": {"00000": {"valence": 1, "arousal": 2, "landmarks": [[0, 0]]}}}))
    with pytest.raises(NeurovaError, match=r"003\.json.*68 landmarks"):
        scan_afew_va(root)


def test_unreadable_png_names_the_file(afew_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(afew_root, tmp_path / "afew")
    (root / "002" / "00003.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    with pytest.raises(VideoFormatError, match=r"002/00003\.png"):
        read_frames(sorted((root / "002").glob("*.png")))
    with pytest.raises(VideoFormatError, match=r"00003\.png"):
        prepare_afew_va(root, tmp_path / "cache", SIM, progress=False)


def test_missing_root_raises(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError):
        scan_afew_va(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="no AFEW-VA clip"):
        scan_afew_va(tmp_path / "empty")


def test_crop_follows_the_landmarks_and_fills_gaps(afew_root: Path) -> None:
    clip = scan_afew_va(afew_root)[0]
    frames = read_frames(clip.frame_paths)
    landmarks = clip.landmarks.copy()
    landmarks[:4] = np.nan  # unlabelled start: boxes borrowed from the labelled frames
    crops, boxes = crop_clip(frames, landmarks, image_size=20, smooth_window=3)
    assert crops.shape == (12, 20, 20) and crops.dtype == np.uint8
    assert np.isfinite(boxes).all() and boxes.shape == (12, 4)
    np.testing.assert_allclose(boxes[:, 2], boxes[:, 3])  # square
    # the face (bright) fills the centre of the crop
    assert crops[:, 8:12, 8:12].mean() > frames.mean()


# ------------------------------------------------------------------------------------------ cache


def test_dataset_samples(afew_root: Path, built: Path) -> None:
    ds = AFEWVA(afew_root, "all", cache_dir=built, sim=SIM, clip_length=2, build=False)
    sample = ds[0]
    assert sample["frames"].shape == (2, 1, 24, 24) and sample["frames"].dtype == torch.float32
    assert sample["va"].shape == (2, 2) and int(sample["label"]) == -1
    assert sample["meta"]["subject"] == "Adam_Sandler" and sample["meta"]["clip_id"] == "001"
    assert len(ds) == 5 * (12 - 1 - 1)  # frame 0 has no events before it; windows of 2
    frames = AFEWVA(afew_root, "all", cache_dir=built, sim=SIM, mode="frame", build=False)
    assert len(frames) == 5 * 11 and frames[0]["frames"].shape == (1, 1, 24, 24)
    assert sum(float(frames[i]["frames"].sum()) for i in range(len(frames))) > 0


def test_dataset_takes_the_contract_as_one_value(afew_root: Path, built: Path) -> None:
    from neurova.contract import InputContract
    from neurova.errors import InputContractError

    contract = InputContract(polarity="split", clip_length=2, image_size=24, face_crop=None)
    ds = AFEWVA(afew_root, "all", cache_dir=built, sim=SIM, contract=contract, build=False)
    assert ds.contract == contract.replace(face_crop="landmarks") and ds[0]["frames"].shape == (2, 2, 24, 24)
    same = AFEWVA(afew_root, "all", cache_dir=built, sim=SIM, polarity="split", clip_length=2, build=False)
    assert same.contract == ds.contract
    torch.testing.assert_close(same[3]["frames"], ds[3]["frames"])
    smaller = AFEWVA(afew_root, "all", cache_dir=built, sim=SIM, contract=contract.replace(image_size=12), build=False)
    assert smaller[0]["frames"].shape == (2, 2, 12, 12)  # events of the 24 px crops resized as the contract says
    with pytest.raises(InputContractError, match=r"AFEWVA: .* not both \(got contract and n_bits\)"):
        AFEWVA(afew_root, "all", cache_dir=built, sim=SIM, contract=contract, n_bits=4, build=False)
    with pytest.raises(InputContractError, match="frame_interval_us=40000, the contract 33333"):
        AFEWVA(afew_root, "all", cache_dir=built, sim=SIM, contract=contract.replace(frame_interval_us=33_333),
               build=False)


def test_unlabelled_frames_are_never_sampled(afew_root: Path, tmp_path: Path) -> None:
    root = _copy_tree(afew_root, tmp_path / "afew")
    doc_path = root / "001" / "001.json"
    doc = json.loads(doc_path.read_text())
    del doc["frames"]["00006"]
    doc_path.write_text(json.dumps(doc))
    with pytest.warns(UserWarning, match="1 frames without labels"):
        ds = AFEWVA(root, "all", cache_dir=tmp_path / "cache", sim=SIM, mode="frame", progress=False)
    indices = [int(ds[i]["meta"]["frame_indices"][0]) for i in range(len(ds)) if ds.index[i][0] == "001"]
    assert 6 not in indices and len(indices) == 10
    assert ds.clips["001"].frame_timestamps_us[6] == 6 * 40_000  # still simulated: the video stays continuous


def test_stale_cache_is_not_reused(afew_root: Path, built: Path) -> None:
    old = afew_va_cache(built, SIM)
    assert old.has(["001", "005"])
    bigger = AFEWVASimulation(image_size=32, smooth_window=5)
    new = afew_va_cache(built, bigger)
    assert new.key != old.key and not new.has(["001"])
    ds = AFEWVA(afew_root, "all", cache_dir=built, sim=bigger, mode="frame", progress=False)
    assert ds.sensor_size == (32, 32) and ds[0]["frames"].shape[-1] == 32
    assert afew_va_cache(built, AFEWVASimulation(image_size=24, smooth_window=5, seed=1)).key != old.key
    camera = AFEWVASimulation(image_size=24, smooth_window=5, preset="noisy", dvs_params={"shot_noise_rate_hz": 20.0})
    assert afew_va_cache(built, camera).key not in {old.key, afew_va_cache(built, dataclasses.replace(
        camera, dvs_params=None)).key}
    with pytest.raises(ValueError, match="unknown DVS parameter"):
        AFEWVASimulation(dvs_params={"noise": 1.0})
    # an unchanged configuration builds nothing
    assert old.build(_jobs(afew_root), _make_record, progress=False) == []


def _all_events(cache_dir: Path, clip_ids: list[str]) -> dict[str, np.ndarray]:
    cache = afew_va_cache(cache_dir, SIM)
    metas = cache.read_meta(clip_ids)
    out = {}
    for clip_id, meta in metas.items():
        with h5py.File(meta.file, "r") as f:
            from neurova.io import read_events_from_group

            out[clip_id] = read_events_from_group(f["clips"][clip_id]["events"])
    return out


def test_interrupted_build_resumes(afew_root: Path, built: Path, tmp_path: Path) -> None:
    jobs = _jobs(afew_root)
    calls: list[str] = []

    def flaky(job: _Job):
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        calls.append(job.clip.clip_id)
        return _make_record(job)

    cache = afew_va_cache(tmp_path, SIM)
    with pytest.raises(KeyboardInterrupt):
        cache.build(jobs, flaky, progress=False)
    assert set(cache.complete_clips()) == set(calls)
    with h5py.File(cache.part_path(), "a") as f:  # a clip half-written when the process died
        f["clips"].create_group("004").create_dataset("va", data=np.zeros((3, 2)))
    assert "004" not in cache.complete_clips()
    written = cache.build(jobs, _make_record, progress=False)
    assert sorted(written) == sorted(set(jobs) - set(calls))
    resumed, reference = _all_events(tmp_path, sorted(jobs)), _all_events(built, sorted(jobs))
    for clip_id in jobs:
        np.testing.assert_array_equal(resumed[clip_id], reference[clip_id])


def test_sharded_build_across_ranks(afew_root: Path, built: Path, tmp_path: Path) -> None:
    jobs = _jobs(afew_root)
    cache = afew_va_cache(tmp_path, SIM)
    first = cache.build(jobs, _make_record, rank=0, world_size=2, progress=False)
    second = cache.build(jobs, _make_record, rank=1, world_size=2, progress=False)
    assert sorted(first + second) == sorted(jobs) and not set(first) & set(second)
    assert sorted(p.name for p in cache.files()) == ["events.part0-of-2.h5", "events.part1-of-2.h5"]
    # a later single-process run reuses both parts
    assert cache.build(jobs, _make_record, rank=0, world_size=1, progress=False) == []
    sharded, reference = _all_events(tmp_path, sorted(jobs)), _all_events(built, sorted(jobs))
    for clip_id in jobs:
        np.testing.assert_array_equal(sharded[clip_id], reference[clip_id])


def test_build_with_worker_processes(afew_root: Path, built: Path, tmp_path: Path) -> None:
    jobs = dict(list(_jobs(afew_root).items())[:2])
    cache = afew_va_cache(tmp_path, SIM)
    assert sorted(cache.build(jobs, _make_record, num_workers=2, progress=False)) == sorted(jobs)
    got, reference = _all_events(tmp_path, sorted(jobs)), _all_events(built, sorted(jobs))
    for clip_id in jobs:
        np.testing.assert_array_equal(got[clip_id], reference[clip_id])


# ------------------------------------------------------------------------------------------ splits


def test_kfold_by_actor_is_saved_and_subject_independent(afew_root: Path, built: Path) -> None:
    train = AFEWVA(afew_root, "train", cache_dir=built, sim=SIM, n_folds=2, fold=0, build=False)
    val = AFEWVA(afew_root, "val", cache_dir=built, sim=SIM, n_folds=2, fold=0, build=False)
    assert train.split_path == val.split_path and train.split_path.parent == train.cache.root
    assert sorted(train.clip_ids + val.clip_ids) == ["001", "002", "003", "004", "005"]
    actors = {c: m.subject for c, m in {**train.clips, **val.clips}.items()}
    check_disjoint({"train": train.clip_ids, "val": val.clip_ids}, actors)
    assert load_split(train.split_path) == {"train": train.clip_ids, "val": val.clip_ids}
    other = AFEWVA(afew_root, "val", cache_dir=built, sim=SIM, n_folds=2, fold=1, build=False)
    assert sorted(other.clip_ids) == sorted(train.clip_ids)


def test_explicit_split_file(afew_root: Path, built: Path, tmp_path: Path) -> None:
    path = save_split(tmp_path / "mine.json", {"train": ["001", "003"], "val": ["002"]}, note="hand-made")
    ds = AFEWVA(afew_root, "val", cache_dir=built, sim=SIM, split_file=path, build=False)
    assert ds.clip_ids == ["002"]
    with pytest.raises(ValueError, match="unknown split"):
        AFEWVA(afew_root, "test", cache_dir=built, sim=SIM, split_file=path, build=False)


def test_corrupt_cache_file_is_named(afew_root: Path, tmp_path: Path) -> None:
    cache = afew_va_cache(tmp_path, SIM)
    cache.root.mkdir(parents=True)
    cache.part_path().write_bytes(b"not an HDF5 file")
    with pytest.raises(NeurovaError, match=r"events\.h5.*delete it to rebuild"):
        cache.build(_jobs(afew_root), _make_record, progress=False)
