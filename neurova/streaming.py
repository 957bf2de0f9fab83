"""The pieces of streaming inference: frames encoded once, trunks run once per frame, a fixed thread count.

Consecutive predictions of :func:`neurova.predict` one frame interval apart share K-1 of their K frames.
:class:`IncrementalModelInput` encodes only the new frames and reuses the others, :class:`FrameStepper`
runs a net's trunk on the new frames only (:meth:`neurova.nets.FrameFusionNet.step`, or the per-frame
features of a :class:`neurova.nets.TemporalNet`), and :func:`intra_op_threads` runs the whole at a small fixed thread count, so a busy machine does not
oversubscribe its cores. Each piece gives what the full computation gives, and falls back to it where reuse
would not: reuse needs frames that depend on their own window's events only (:func:`frames_independent`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from neurova.contract import InputContract
from neurova.encodings.rescale import resize_pixel_areas
from neurova.transforms import ToModelInput
from neurova.zero_shot.evaluate import model_frames

__all__ = ["FrameStepper", "IncrementalModelInput", "channels_last", "frames_independent", "intra_op_threads"]

Box = tuple[int, int, int, int]


def frames_independent(contract: InputContract, box: Box) -> bool:
    """Whether each frame :class:`~neurova.transforms.ToModelInput` makes in ``box`` depends only on its own events.

    Every encoding reads one window per frame, but the event-domain resize (``resize="events"``) of a box
    larger than ``image_size`` integrates each output pixel over the whole history from its start
    (:func:`neurova.encodings.resize_events`), so a frame's values depend on when the history started:
    the same frame differs between two overlapping windows. Replication (a box no larger than
    ``image_size``) and ``resize="area"`` map each frame on its own.
    """
    if contract.resize != "events":
        return True
    return int(resize_pixel_areas((box[2], box[3]), contract.image_size).max()) == 1


class IncrementalModelInput:
    """:class:`~neurova.transforms.ToModelInput` over consecutive windows, encoding only the new frames.

    A call for a window ending at ``t_end`` reuses the previous window's frames when the box is the same,
    frames are independent (:func:`frames_independent`) and ``t_end`` is ``m`` frame intervals after the
    previous end, ``0 < m < K``: the K-m frames the windows share are kept and the m new ones encoded.
    Otherwise the whole window is encoded. Either way the frames equal ``ToModelInput(contract, box, K)``.

    Args:
        contract: the model's input contract.
        num_frames: K, frames per window.
    """

    def __init__(self, contract: InputContract, num_frames: int) -> None:
        self.contract = contract
        self.num_frames = int(num_frames)
        self._frames: np.ndarray | None = None
        self._t_end: int | None = None
        self._box: Box | None = None
        self._reusable = False

    def new_frames(self, t_end: int, box: Box) -> int:
        """How many frames a window ending at ``t_end`` in ``box`` has to encode (K: all)."""
        if self._frames is None or box != self._box or not self._reusable:
            return self.num_frames
        shift = int(t_end) - int(self._t_end or 0)
        interval = self.contract.frame_interval_us
        if shift <= 0 or shift % interval:
            return self.num_frames
        return min(shift // interval, self.num_frames)

    def __call__(self, events: np.ndarray, t_end: int, box: Box) -> tuple[np.ndarray, int]:
        """``(frames, new)``: float32 ``(K, C, S, S)`` frames ending at ``t_end`` and how many were encoded.

        ``events`` must hold every event of the window (``ToModelInput(...).history_us`` before ``t_end``; others
        are ignored).
        """
        box = tuple(int(v) for v in box)  # type: ignore[assignment]
        new = self.new_frames(t_end, box)
        encoded = ToModelInput(self.contract, box, num_frames=new)(events, t_end)
        if new < self.num_frames:
            assert self._frames is not None
            frames = np.concatenate([self._frames[new:], encoded])
        else:
            frames = encoded
        if box != self._box:
            self._reusable = frames_independent(self.contract, box)
        self._frames, self._t_end, self._box = frames, int(t_end), box
        return frames, new


class FrameStepper:
    """Runs a valence/arousal model on consecutive windows, computing each frame's trunk features once.

    Three ways, each giving ``model(window)``'s output (a video model's last frame):

    * a frame model (``predicts_sequence`` false) whose ``net`` has ``step`` and a ``stream_window`` equal to
      the frames the model reads (:class:`neurova.nets.FrameFusionNet`) is stepped over the new frames;
    * a video model whose ``net`` has ``forward_features`` (per frame) and ``forward_temporal``
      (:class:`neurova.nets.TemporalNet`) keeps the window's per-frame features, computes those of the new
      frames and re-runs only the temporal model on the window;
    * any other model runs on the whole window.

    Args:
        model: a :mod:`neurova.models` model (or any module mapping ``(B, K, C, H, W)`` to ``(B, 2)``).
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        sequence, frames_used = model_frames(model)
        net = getattr(model, "net", None)
        window = getattr(net, "stream_window", None)
        self.mode = "whole"
        if not sequence and callable(getattr(net, "step", None)) and window is not None and window == frames_used:
            self.mode = "step"
        elif sequence and callable(getattr(net, "forward_features", None)) and callable(
                getattr(net, "forward_temporal", None)):
            self.mode = "features"
        self._state: Any = None

    @property
    def incremental(self) -> bool:
        """True when the trunk runs on new frames only."""
        return self.mode != "whole"

    def __call__(self, window: torch.Tensor, new: int) -> torch.Tensor:
        """``(B, 2)`` output for ``window`` ``(B, K, C, H, W)``, whose last ``new`` frames follow the previous window.

        ``new`` >= K (or a first call) starts afresh.
        """
        if self.mode == "whole":
            out = self.model(window)
            return out[:, -1] if out.ndim == 3 else out
        net = self.model.net
        if self.mode == "step":
            k = net.stream_window
            if self._state is None or new >= k:
                out, self._state = net.step(window[:, -k:], None)
            else:
                out, self._state = net.step(window[:, -new:], self._state)
            return out
        if self._state is None or new >= window.shape[1]:
            features = net.forward_features(window)
        else:
            features = torch.cat([self._state[:, new:], net.forward_features(window[:, -new:])], dim=1)
        self._state = features
        return net.forward_temporal(features)[:, -1]


@contextmanager
def intra_op_threads(threads: int | None) -> Iterator[None]:
    """Run the block with torch's intra-op thread count set to ``threads`` (``None``: unchanged), then restore it.

    Raises:
        ValueError: ``threads`` is not a positive integer.
    """
    if threads is None:
        yield
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def channels_last(module: torch.nn.Module) -> Iterator[None]:
    """Run the block with ``module``'s 4-D parameters and buffers in channels-last layout, then restore them.

    One frame at a time, torch runs a 3x3 convolution on a small input with its reference kernel unless the
    weights are channels-last, which selects oneDNN: a resnet18 trunk on one 64x64 frame took 19 ms of CPU
    with contiguous weights and 9.5 ms with channels-last ones (1 thread; outputs equal to 2e-9); on 4 frames at
    once (where torch picks oneDNN anyway) channels-last was 10-30 % slower. Tensors
    already channels-last (or for which both layouts coincide) are left alone; the others get their
    contiguous layout back afterwards, also when the block raises.
    """
    changed = []
    with torch.no_grad():
        for tensor in itertools.chain(module.parameters(), module.buffers()):
            if tensor.ndim == 4 and tensor.is_contiguous() and not tensor.is_contiguous(
                    memory_format=torch.channels_last):
                tensor.data = tensor.data.contiguous(memory_format=torch.channels_last)
                changed.append(tensor)
    try:
        yield
    finally:
        with torch.no_grad():
            for tensor in changed:
                tensor.data = tensor.data.contiguous()
