"""The LSTM stack: per-layer widths, optional projection (LSTMP), a linear head.

A multi-layer ``nn.LSTM`` shares one hidden size, so each layer is its own module.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def layer_proj(width: int, proj_size: int) -> int:
    """PyTorch needs proj_size < hidden size: layers not wider than proj_size stay unprojected."""
    return proj_size if 0 < proj_size < width else 0


class LSTMStack(nn.Module):
    """Stacked LSTM layers of possibly different widths and a direct multi-output head.

    Input ``(batch, input_size, n_inputs)``; output ``(batch, h)``: the head reads the last
    layer's output at the last time step.
    """

    def __init__(
        self,
        n_inputs: int,
        widths: Sequence[int],
        h: int,
        proj_size: int = 0,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be positive integers, got {list(widths)}")
        self.widths = [int(w) for w in widths]
        self.layers = nn.ModuleList()
        size = n_inputs
        for width in self.widths:
            proj = layer_proj(width, proj_size)
            self.layers.append(nn.LSTM(size, width, batch_first=True, proj_size=proj))
            size = proj or width
        # Dropout between stacked layers only, as nn.LSTM's own `dropout` argument does.
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(size, h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            if i > 0:
                x = self.dropout(x)
            x, _ = layer(x)
        return self.head(x[:, -1, :])


def count_params(n_inputs: int, widths: Sequence[int], h: int, proj_size: int = 0) -> int:
    """Parameters of an ``LSTMStack`` without building it (the policy needs it cheaply).

    One layer: 4H(I+R) + 8H, plus P*H with projection (R = P, else R = H); head (R_last+1)*h.
    """
    total, size = 0, n_inputs
    for width in widths:
        proj = layer_proj(width, proj_size)
        rec = proj or width
        total += 4 * width * (size + rec) + 8 * width + proj * width
        size = rec
    return total + (size + 1) * h
