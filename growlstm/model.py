"""The LSTM stack: per-layer widths, optional projection (LSTMP), a linear head.

A multi-layer ``nn.LSTM`` shares one hidden size, so each layer is its own module.
Inputs that are the same at every step of a window (the base forecast, ``model.base_input``)
enter the first layer at the last step only, through their own weights: read once, they cost
one step's matmul instead of one per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

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

    ``lookback``: the network reads the last ``lookback`` steps of each window (None: all).

    ``last_inputs``: input columns read at the last step only, through the first layer's
    ``weight_last`` (its rows in the gate order i, f, g, o, like ``weight_ih_l0``'s). The stack
    then computes what it would with those columns in ``weight_ih_l0`` and zero at every earlier
    step, without a matrix product per step for them.
    """

    def __init__(
        self,
        n_inputs: int,
        widths: Sequence[int],
        h: int,
        proj_size: int = 0,
        dropout: float = 0.0,
        last_inputs: Sequence[int] = (),
        lookback: Optional[int] = None,
    ) -> None:
        super().__init__()
        if not widths or min(widths) < 1:
            raise ValueError(f"widths must be positive integers, got {list(widths)}")
        if lookback is not None and lookback < 1:
            raise ValueError(f"lookback must be a positive number of steps, got {lookback}")
        self.widths = [int(w) for w in widths]
        # The last ``lookback`` steps of each window are read (None: all of them). Windows may be
        # gathered longer than a network reads, so that networks of several lookbacks (growth's
        # lookback move) share one window set; the steps before are dropped here.
        self.lookback = None if lookback is None else int(lookback)
        self.n_inputs, self.h, self.proj_size = n_inputs, h, proj_size
        self.last_inputs = sorted(int(c) for c in last_inputs)
        if self.last_inputs and (self.last_inputs[0] < 0 or self.last_inputs[-1] >= n_inputs):
            raise ValueError(f"last_inputs {self.last_inputs} outside the {n_inputs} input columns")
        step = sorted(set(range(n_inputs)) - set(self.last_inputs))
        # Column indices as buffers: they follow the module's device, and stay out of the state dict.
        self.register_buffer("step_cols", torch.tensor(step, dtype=torch.long), persistent=False)
        self.register_buffer("last_cols", torch.tensor(self.last_inputs, dtype=torch.long), persistent=False)
        self.layers = nn.ModuleList()
        self.heads = nn.ModuleList()
        size = len(step)
        if self.last_inputs:  # the first layer's weights for them, rows in its gate order (i, f, g, o)
            bound = 1.0 / self.widths[0] ** 0.5  # nn.LSTM's own initialisation
            self.weight_last = nn.Parameter(torch.empty(4 * self.widths[0], len(self.last_inputs)).uniform_(-bound, bound))
        for width in self.widths:
            proj = layer_proj(width, proj_size)
            self.layers.append(nn.LSTM(size, width, batch_first=True, proj_size=proj))
            size = proj or width
            self.heads.append(nn.Linear(size, h))
        # Dropout between stacked layers only, as nn.LSTM's own `dropout` argument does.
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.lookback is not None:
            if x.shape[1] < self.lookback:
                raise ValueError(f"windows of {x.shape[1]} steps are shorter than the network's lookback of "
                                 f"{self.lookback}")
            x = x[:, -self.lookback:]
        out = 0
        for i, (layer, head) in enumerate(zip(self.layers, self.heads)):
            if i > 0:
                x = self.dropout(x)
                x, _ = layer(x)
            else:
                x = self._first_layer(layer, x)
            out = out + head(x[:, -1, :])
        return out

    def _first_layer(self, layer: nn.LSTM, x: torch.Tensor) -> torch.Tensor:
        """The first layer's outputs at every step; the last-step inputs join its last step's gates."""
        if not self.last_inputs:
            return layer(x)[0]
        static, x = x[:, -1, self.last_cols], x[:, :, self.step_cols]
        if x.shape[1] > 1:
            before, (h, c) = layer(x[:, :-1])
            h, c = h[0], c[0]
        else:
            before = x.new_zeros(x.shape[0], 0, layer.proj_size or layer.hidden_size)
            h = x.new_zeros(x.shape[0], layer.proj_size or layer.hidden_size)
            c = x.new_zeros(x.shape[0], layer.hidden_size)
        # One LSTM step as nn.LSTM computes it (gate order i, f, g, o), plus the last-step inputs.
        gates = (x[:, -1] @ layer.weight_ih_l0.T + static @ self.weight_last.T + h @ layer.weight_hh_l0.T
                 + layer.bias_ih_l0 + layer.bias_hh_l0)
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        if layer.proj_size:
            h = h @ layer.weight_hr_l0.T
        return torch.cat([before, h[:, None, :]], dim=1)


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
