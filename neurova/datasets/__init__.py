"""Torch datasets returning dict samples (see ``docs/architecture.md``).

* :class:`SyntheticFaces`: procedural faces with known valence and arousal, the embedded default;
* :class:`AFEWVA`: AFEW-VA simulated to events, cached in HDF5, TBR-encoded at load time;
* :class:`NEFER`: NEFER's TBR frames (or raw recordings) and RGB frames with emotion labels;
* :class:`LabelledEventFiles`: your own event recordings with valence/arousal labelled at given times;
* :func:`render_scene_clip` / :func:`sample_scene_layout`: synthetic head-and-shoulders scenes on a whole
  sensor with the true :func:`face_box` of every frame (what the synthetic faces and the face detector use).

Every sample is ``{"frames": (T, C, H, W) float32, "va": (T, 2) float32, "label": int64 (),
"meta": {"clip_id", "subject", "frame_indices", "timestamps_us"}}``.
"""

from __future__ import annotations

from neurova.datasets.afew_va import AFEWVA, AFEWVAClip, AFEWVASimulation, prepare_afew_va, scan_afew_va
from neurova.datasets.cache import ClipRecord, EventCache, EventCacheDataset, cache_key, default_cache_dir
from neurova.datasets.event_files import LabelledEventFiles, LabelledTime, read_label_csv
from neurova.datasets.nefer import NEFER, NEFER_CLASSES, NEFERClip, read_nefer_csv
from neurova.datasets.scenes import SceneLayout, face_box, render_scene_clip, sample_scene_layout
from neurova.datasets.splits import load_split, save_split, subject_holdout, subject_kfold
from neurova.datasets.synthetic import SyntheticFaces, SyntheticFacesConfig, prepare_synthetic_faces

__all__ = [
    "AFEWVA",
    "NEFER",
    "NEFER_CLASSES",
    "AFEWVAClip",
    "AFEWVASimulation",
    "ClipRecord",
    "EventCache",
    "EventCacheDataset",
    "LabelledEventFiles",
    "LabelledTime",
    "NEFERClip",
    "SceneLayout",
    "SyntheticFaces",
    "SyntheticFacesConfig",
    "cache_key",
    "default_cache_dir",
    "face_box",
    "load_split",
    "prepare_afew_va",
    "prepare_synthetic_faces",
    "read_label_csv",
    "read_nefer_csv",
    "render_scene_clip",
    "sample_scene_layout",
    "save_split",
    "scan_afew_va",
    "subject_holdout",
    "subject_kfold",
]
