"""How a trained net runs fastest for inference on the CPU, without changing what it computes.

:func:`inference_layout` is what :func:`neurova.predict` and the zero-shot evaluator run a model under: where the
trunk runs one frame at a time or prefers channels-last weights on whole windows (:func:`prefers_channels_last`),
channels-last weights (:func:`channels_last`), the trunk's batch norms folded into the convolutions before them
(:func:`fold_batch_norm`) and its module calls made direct calls of torch's functions (:func:`inline_module_calls`).
Outputs stay those of the model to rounding (1e-6 and below, docs/benchmarks.md). A fit on the CPU lays the weights of
such trunks out the same way while it trains (:func:`to_channels_last`, :func:`restore_contiguous`; see
:meth:`neurova.models.VARegressionTask.setup`).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

__all__ = ["channels_last", "fold_batch_norm", "folded_trunk", "inference_layout", "inline_module_calls",
           "prefers_channels_last", "restore_contiguous", "to_channels_last"]

#: The channels-last layout of a weight of each rank (2-D and 3-D convolutions).
_CHANNELS_LAST = {4: torch.channels_last, 5: torch.channels_last_3d}


@contextmanager
def inference_layout(model: Any, *, one_frame: bool = False) -> Iterator[None]:
    """Run the block with ``model`` laid out for inference: channels-last weights and its trunk (``model.net.trunk``)
    with batch norms folded, when ``one_frame`` (the trunk runs on one frame at a time, as streaming does) or when
    the trunk prefers channels-last weights; as it is otherwise (a resnet18 trunk on whole windows gained nothing
    from folding: 0.95x on a 3 s recording and 1.01x on 12 s, the fold included, docs/benchmarks.md). The model is
    as it was afterwards, also when the block raises."""
    net = getattr(model, "net", None)
    if not (one_frame or prefers_channels_last(net)):
        yield
        return
    layout = channels_last(model) if isinstance(model, torch.nn.Module) else nullcontext()
    with layout, folded_trunk(net, torch.channels_last):
        yield


@contextmanager
def channels_last(module: torch.nn.Module) -> Iterator[None]:
    """Run the block with ``module``'s 4-D (and 5-D) parameters and buffers in channels-last layout
    (:func:`to_channels_last`), then restore them (:func:`restore_contiguous`), also when the block raises.

    One frame at a time, torch runs a 3x3 convolution on a small input with its reference kernel unless the
    weights are channels-last, which selects oneDNN: a resnet18 trunk on one 64x64 frame took 19 ms of CPU
    with contiguous weights and 9.5 ms with channels-last ones (1 thread; outputs equal to 2e-9); on 4 frames at
    once (where torch picks oneDNN anyway) channels-last was 10-30 % slower for resnet18, 1.8-2.4x faster for the
    tiny CNN (:func:`prefers_channels_last`).
    """
    changed = to_channels_last(module)
    try:
        yield
    finally:
        restore_contiguous(changed)


def to_channels_last(module: torch.nn.Module) -> list[torch.Tensor]:
    """Lay ``module``'s contiguous 4-D parameters and buffers out channels-last (5-D ones channels-last-3d), in
    place; returns the tensors it changed.

    Tensors in another layout (channels-last already, say) are left alone. A weight with one input channel counts
    as both contiguous and channels-last for :meth:`torch.Tensor.is_contiguous`, but a convolution lays its output
    out as its weight's strides say, so such a weight is given the channels-last strides too: then the first
    convolution of a one-channel net (TinyConvNet on TBR frames) returns channels-last activations, and the whole
    net runs in one layout (``tensor.contiguous(memory_format=torch.channels_last)`` and
    ``module.to(memory_format=...)`` disagree on such weights). Parameters stay the same objects (their ``.data``
    is replaced), so an optimiser built on them keeps working; the tensors stay normal ones (not inference
    tensors) when called in :func:`torch.inference_mode`, so the module trains afterwards.
    """
    changed = []
    with torch.inference_mode(False), torch.no_grad():  # normal tensors even inside inference mode: trainable after
        for tensor in itertools.chain(module.parameters(), module.buffers()):
            memory_format = _CHANNELS_LAST.get(tensor.ndim)
            if memory_format is not None and _has_layout(tensor, torch.contiguous_format) and not _has_layout(
                    tensor, memory_format):
                tensor.data = _in_layout(tensor.data, memory_format)
                changed.append(tensor)
    return changed


def restore_contiguous(tensors: Iterable[torch.Tensor]) -> None:
    """Give ``tensors`` (those :func:`to_channels_last` changed) their contiguous layout back, in place."""
    with torch.inference_mode(False), torch.no_grad():
        for tensor in tensors:
            tensor.data = _in_layout(tensor.data, torch.contiguous_format)


def _in_layout(tensor: torch.Tensor, memory_format: torch.memory_format) -> torch.Tensor:
    """A copy of ``tensor`` with the strides torch gives a new tensor in ``memory_format``."""
    return torch.empty_like(tensor, memory_format=memory_format).copy_(tensor)


def _has_layout(tensor: torch.Tensor, memory_format: torch.memory_format) -> bool:
    """Whether ``tensor`` has exactly the strides of a new tensor of its shape in ``memory_format``
    (stricter than :meth:`torch.Tensor.is_contiguous`, which ignores the strides of size-1 dimensions)."""
    return tensor.stride() == torch.empty_like(tensor, device="meta", memory_format=memory_format).stride()


@contextmanager
def folded_trunk(net: torch.nn.Module | None, memory_format: torch.memory_format = torch.channels_last
                 ) -> Iterator[None]:
    """Run the block with ``net.trunk`` replaced by :func:`fold_batch_norm`'s copy of it (folded parts in
    ``memory_format``), its module calls made direct calls of torch's functions (:func:`inline_module_calls`); the
    trunk is put back afterwards, also when the block raises. ``net`` without a ``trunk`` is left as it is."""
    trunk = getattr(net, "trunk", None)
    folded = inline_module_calls(fold_batch_norm(trunk, memory_format)) if isinstance(trunk, torch.nn.Module) else trunk
    if folded is trunk:
        yield
        return
    net.trunk = folded  # type: ignore[union-attr]
    try:
        yield
    finally:
        net.trunk = trunk  # type: ignore[union-attr]


def prefers_channels_last(net: torch.nn.Module | None) -> bool:
    """Whether ``net``'s trunk runs whole windows faster with channels-last weights (its ``prefers_channels_last``
    attribute, e.g. :class:`neurova.nets.TinyConvNet`); one frame at a time every trunk does (:func:`channels_last`)."""
    return bool(getattr(getattr(net, "trunk", None), "prefers_channels_last", False))


def fold_batch_norm(module: torch.nn.Module, memory_format: torch.memory_format = torch.channels_last
                    ) -> torch.nn.Module:
    """A copy of ``module`` for inference whose batch norms are folded into the convolutions before them
    (:func:`torch.fx.experimental.optimization.fuse`); ``module`` itself where there is nothing to fold.

    A batch norm in eval mode is an affine map per channel, so folding it into the convolution's weights and bias
    leaves the output as it was up to rounding, and removes one pass over every activation: a resnet18 trunk on
    one 64x64 frame took 3.6 ms against 4.3 ms at 2 threads, 5.6 against 6.1 at 1 (outputs equal to 3e-8;
    docs/benchmarks.md). A module :mod:`torch.fx` cannot trace (one that checks its input's shape, say) has its
    children folded instead. The folded convolutions are new modules with weights in ``memory_format``; ``module``
    and the parts it shares with the copy (every part but the folded ones) are not changed. Modules in training mode
    are left as they are.
    """
    from torch.fx.experimental.optimization import fuse

    before = _batch_norms(module)
    if module.training or not before:
        return module
    try:
        with torch.inference_mode(False):  # new tensors are normal ones, whatever mode the caller is in
            # ``inplace=True`` only skips fuse's deep copy of the whole module (two thirds of its cost on resnet18):
            # the traced copy holds fresh parent modules, each folded convolution is a copy put in its parent there,
            # and the other parts are shared, unchanged (tested)
            folded = fuse(module, inplace=True)
    except Exception:  # torch.fx raises many kinds on code it cannot trace: fold the children instead
        children = {name: fold_batch_norm(child, memory_format) for name, child in module.named_children()}
        if all(children[name] is child for name, child in module.named_children()):
            return module
        clone = copy.copy(module)
        clone._modules = {**module._modules, **children}
        return clone
    if _batch_norms(folded) == before:
        return module
    shared = {id(part) for part in module.modules()}
    for part in folded.modules():  # the folded convolutions: new leaves (the shared parts keep their layout)
        if id(part) not in shared and next(part.children(), None) is None:
            part.to(memory_format=memory_format)
    return folded


def _batch_norms(module: torch.nn.Module) -> int:
    return sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules())


def inline_module_calls(module: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``module`` whose :mod:`torch.fx` graphs call torch's functions where they called common leaf modules
    (``Conv2d``, ``Linear``, ``ReLU``, ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d``, ``Flatten``, ``Identity``,
    ``Dropout`` in eval mode): the same operations on the same tensors, without ``nn.Module``'s call machinery and
    attribute lookups (a resnet18 trunk on one frame ran 1.15x faster inlined at one thread, 1.19x at two;
    docs/benchmarks.md). Graphs are those of :class:`torch.fx.GraphModule` parts (what :func:`fold_batch_norm`
    makes); ``module`` itself where it holds none. ``module`` is not changed; the copy reads its weights, so it is
    for inference on the module as it is now.
    """
    if isinstance(module, fx.GraphModule):
        return _inlined(module)
    children = {name: inline_module_calls(child) for name, child in module.named_children()}
    if all(children[name] is child for name, child in module.named_children()):
        return module
    clone = copy.copy(module)
    clone._modules = {**module._modules, **children}
    return clone


def _inlined(module: fx.GraphModule) -> fx.GraphModule:
    """:func:`inline_module_calls` of one graph module: a new graph, the calls it cannot inline kept as they are."""
    graph = fx.Graph()
    values: dict[fx.Node, fx.Node] = {}
    graph.output(graph.graph_copy(module.graph, values))
    tensors: dict[str, torch.Tensor] = {}

    def tensor(node: fx.Node, value: torch.Tensor | None) -> fx.Node | None:
        if value is None:
            return None
        key = f"_inlined_{len(tensors)}"
        tensors[key] = value
        with graph.inserting_before(node):
            return graph.create_node("get_attr", key)

    for node in list(graph.nodes):
        if node.op != "call_module" or len(node.args) != 1 or node.kwargs:
            continue
        part = module.get_submodule(str(node.target))
        x = node.args[0]
        kind = type(part)
        if kind in (nn.Identity, nn.Dropout) and not (kind is nn.Dropout and part.training):
            node.replace_all_uses_with(x)  # type: ignore[arg-type]
            graph.erase_node(node)
            continue
        if kind is nn.Conv2d and part.padding_mode == "zeros":
            call = (F.conv2d, (x, tensor(node, part.weight), tensor(node, part.bias), part.stride,
                               part.padding, part.dilation, part.groups), {})
        elif kind is nn.Linear:
            call = (F.linear, (x, tensor(node, part.weight), tensor(node, part.bias)), {})
        elif kind is nn.ReLU:
            call = (torch.relu_ if part.inplace else torch.relu, (x,), {})
        elif kind is nn.MaxPool2d and not part.return_indices:
            call = (F.max_pool2d, (x, part.kernel_size, part.stride, part.padding, part.dilation),
                    {"ceil_mode": part.ceil_mode})
        elif kind is nn.AvgPool2d:
            call = (F.avg_pool2d, (x, part.kernel_size, part.stride, part.padding, part.ceil_mode,
                                   part.count_include_pad, part.divisor_override), {})
        elif kind is nn.AdaptiveAvgPool2d:
            call = (F.adaptive_avg_pool2d, (x, part.output_size), {})
        elif kind is nn.Flatten:
            call = (torch.flatten, (x, part.start_dim, part.end_dim), {})
        else:
            continue
        with graph.inserting_before(node):
            direct = graph.call_function(call[0], call[1], call[2])
        node.replace_all_uses_with(direct)
        graph.erase_node(node)
    holder = nn.Module()
    for node in graph.nodes:  # what the graph still reads of the module: the calls kept, its own get_attr
        if node.op in ("call_module", "get_attr") and node.target not in tensors:
            root = str(node.target).split(".")[0]
            setattr(holder, root, getattr(module, root))
    for key, value in tensors.items():
        setattr(holder, key, value)
    inlined = fx.GraphModule(holder, graph, class_name=type(module).__name__)
    for key, value in tensors.items():  # plain attributes, read without nn.Module's lookup
        delattr(inlined, key)
        inlined.__dict__[key] = value
    return inlined
