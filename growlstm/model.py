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
    """Stacked LSTM layers of possibly different widths, each with its own linear head.

    Input ``(batch, input_size, n_inputs)``; output ``(batch, h)``: the sum of every layer's head
    applied to that layer's output at the last time step. The per-layer heads are a skip to the
    output: a new layer whose head starts at zero leaves the forecast unchanged, which is what
    makes growing in depth exact (RECIPE.md section 3). With one layer it is the plain LSTM + head.
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
        self.n_inputs, self.h, self.proj_size = n_inputs, h, proj_size
        self.layers = nn.ModuleList()
        self.heads = nn.ModuleList()
        size = n_inputs
        for width in self.widths:
            proj = layer_proj(width, proj_size)
            self.layers.append(nn.LSTM(size, width, batch_first=True, proj_size=proj))
            size = proj or width
            self.heads.append(nn.Linear(size, h))
        # Dropout between stacked layers only, as nn.LSTM's own `dropout` argument does.
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = 0
        for i, (layer, head) in enumerate(zip(self.layers, self.heads)):
            if i > 0:
                x = self.dropout(x)
            x, _ = layer(x)
            out = out + head(x[:, -1, :])
        return out


def count_params(n_inputs: int, widths: Sequence[int], h: int, proj_size: int = 0) -> int:
    """Parameters of an ``LSTMStack`` without building it (the policy needs it cheaply).

    One layer: 4H(I+R) + 8H, plus P*H with projection (R = P, else R = H); its head (R+1)*h.
    """
    total, size = 0, n_inputs
    for width in widths:
        proj = layer_proj(width, proj_size)
        rec = proj or width
        total += 4 * width * (size + rec) + 8 * width + proj * width + (rec + 1) * h
        size = rec
    return total
