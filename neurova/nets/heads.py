"""Output heads."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["VAHead"]


class VAHead(nn.Module):
    """Linear map from features to (valence, arousal), optionally bounded to [-1, 1] by ``tanh``.

    Args:
        in_features: feature size F.
        bounded: apply ``tanh`` to the output.
        dropout: dropout probability before the linear layer.

    Shapes: ``(..., F)`` → ``(..., 2)``.
    """

    def __init__(self, in_features: int, bounded: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_features, 2)
        self.act = nn.Tanh() if bounded else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.fc(self.dropout(x)))
