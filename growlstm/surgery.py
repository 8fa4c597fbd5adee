"""Function-preserving growth of an ``LSTMStack`` (Net2WiderNet for LSTMs, zero-head deepening).

``widen`` gives a layer more cells and ``deepen`` adds a layer on top; right after either, the
network computes the same forecasts (to float rounding), so training continues instead of
starting over. See RECIPE.md section 3 for the algebra; PyTorch's gate order is i, f, g, o and
row ``b*H + j`` belongs to cell j of gate b.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from growlstm.model import LSTMStack


def _split_map(old: int, new: int, generator: torch.Generator, noise: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Replica map g (new cell -> old cell) and outgoing scales S that sum to one per old cell.

    New cells copy a random old cell. S = (1 + eps_j - mean of eps over the replica group) / c:
    exact (each group still sums to one) but asymmetric, so replicas get different gradients
    and do not stay copies forever.
    """
    extra = torch.randint(0, old, (new - old,), generator=generator)
    g = torch.cat([torch.arange(old), extra])
    counts = torch.bincount(g, minlength=old).to(torch.float64)
    eps = noise * torch.randn(new, generator=generator, dtype=torch.float64)
    group_mean = torch.zeros(old, dtype=torch.float64).index_add_(0, g, eps) / counts
    scale = (1 + eps - group_mean[g]) / counts[g]
    return g, scale


@torch.no_grad()
def widen(
    net: LSTMStack, layer: int, width: int, generator: torch.Generator, noise: float = 0.1
) -> LSTMStack:
    """A copy of ``net`` whose layer ``layer`` has ``width`` cells, computing the same function."""
    old = net.widths[layer]
    if width <= old:
        raise ValueError(f"widen needs more cells than {old}, got {width}")
    widths = list(net.widths)
    widths[layer] = width
    dropout = net.dropout.p
    grown = LSTMStack(net.n_inputs, widths, net.h, proj_size=net.proj_size, dropout=dropout,
                      last_inputs=net.last_inputs)
    skip = (f"layers.{layer}.", f"heads.{layer}.", f"layers.{layer + 1}.", *(("weight_last",) if layer == 0 else ()))
    grown.load_state_dict({k: v for k, v in net.state_dict().items() if not k.startswith(skip)}, strict=False)
    g, scale = _split_map(old, width, generator, noise)
    scale = scale.to(torch.float32)
    src, dst = net.layers[layer], grown.layers[layer]
    rows = torch.cat([g + b * old for b in range(4)])
    dst.weight_ih_l0.copy_(src.weight_ih_l0[rows])
    if layer == 0 and net.last_inputs:  # the last-step inputs' weights are input weights too
        grown.weight_last.copy_(net.weight_last[rows])
    dst.bias_ih_l0.copy_(src.bias_ih_l0[rows])
    dst.bias_hh_l0.copy_(src.bias_hh_l0[rows])
    old_proj, new_proj = src.proj_size, dst.proj_size
    if old_proj:  # h = W_hr m: the split moves into W_hr, the recurrent input keeps its size
        dst.weight_hh_l0.copy_(src.weight_hh_l0[rows])
        dst.weight_hr_l0.copy_(src.weight_hr_l0[:, g] * scale)
        return _copy_consumers(net, grown, layer, None, None, pad=0)
    if new_proj:
        # The new width passes proj_size, so the layer starts projecting: embed the old h in the
        # first cells of the projected output and leave the other projected units at zero.
        out = new_proj
        hr = torch.zeros(out, width)
        hr[g, torch.arange(width)] = scale
        dst.weight_hr_l0.copy_(hr)
        hh = torch.zeros(4 * width, out)
        hh[:, :old] = src.weight_hh_l0[rows]
        dst.weight_hh_l0.copy_(hh)
        return _copy_consumers(net, grown, layer, None, None, pad=out - old)
    dst.weight_hh_l0.copy_(src.weight_hh_l0[rows][:, g] * scale)
    return _copy_consumers(net, grown, layer, g, scale, pad=0)


def _copy_consumers(
    net: LSTMStack, grown: LSTMStack, layer: int, g: torch.Tensor | None, scale: torch.Tensor | None, pad: int
) -> LSTMStack:
    """Whatever reads layer ``layer``'s output (its head, the next layer's input weights).

    With a split (g, scale) the columns of replicas share the old column; with ``pad`` the new
    output units (all zero) get zero columns; otherwise the columns are unchanged.
    """

    def remap(weight: torch.Tensor) -> torch.Tensor:
        if g is not None and scale is not None:
            return weight[:, g] * scale
        if pad:
            return torch.cat([weight, torch.zeros(weight.shape[0], pad)], dim=1)
        return weight

    grown.heads[layer].weight.copy_(remap(net.heads[layer].weight))
    grown.heads[layer].bias.copy_(net.heads[layer].bias)
    if layer + 1 < len(net.layers):
        src, dst = net.layers[layer + 1], grown.layers[layer + 1]
        for name, value in src.named_parameters():
            getattr(dst, name).copy_(remap(value) if name == "weight_ih_l0" else value)
    return grown


@torch.no_grad()
def deepen(net: LSTMStack, width: int, generator: torch.Generator) -> LSTMStack:
    """A copy of ``net`` with a new top layer of ``width`` cells whose head starts at zero.

    The new layer's own weights get PyTorch's usual initialisation (drawn from ``generator``);
    its zero head leaves the forecast unchanged, and the head's gradient is non-zero at once, so
    the layer starts learning one step later.
    """
    grown = LSTMStack(net.n_inputs, [*net.widths, width], net.h, proj_size=net.proj_size, dropout=net.dropout.p,
                      last_inputs=net.last_inputs)
    grown.load_state_dict(net.state_dict(), strict=False)
    top = grown.layers[-1]
    bound = 1.0 / width**0.5
    for param in top.parameters():
        param.copy_(torch.empty_like(param).uniform_(-bound, bound, generator=generator))
    nn.init.zeros_(grown.heads[-1].weight)
    nn.init.zeros_(grown.heads[-1].bias)
    return grown


def grow_to(net: LSTMStack, widths: list[int], generator: torch.Generator, noise: float = 0.1) -> LSTMStack:
    """Grow ``net`` to ``widths`` (same depth and wider, or one layer deeper), exactly."""
    if list(widths) == net.widths:  # the lookback move: the same network, copied
        return copy.deepcopy(net)
    if len(widths) == len(net.widths) + 1 and widths[:-1] == net.widths:
        return deepen(net, widths[-1], generator)
    if len(widths) != len(net.widths) or any(w < o for w, o in zip(widths, net.widths)):
        raise ValueError(f"cannot grow {net.widths} into {widths}")
    for layer, (new, old) in enumerate(zip(widths, net.widths)):
        if new > old:
            net = widen(net, layer, new, generator, noise)
    return net


@torch.no_grad()
def shrink_perturb(net: LSTMStack, shrink: float, perturb: float, generator: torch.Generator) -> LSTMStack:
    """weights <- shrink * weights + perturb * freshly initialised weights (Ash & Adams 2020).

    Not function-preserving (unless shrink=1, perturb=0): it trades the exact start for the
    plasticity a fresh initialisation has, when warm starts generalise worse.
    """
    if shrink == 1 and perturb == 0:
        return net
    fresh = LSTMStack(net.n_inputs, net.widths, net.h, proj_size=net.proj_size, last_inputs=net.last_inputs)
    for param in fresh.parameters():  # PyTorch's default LSTM/Linear scale, drawn from `generator`
        bound = 1.0 / max(param.shape[-1] if param.dim() > 1 else param.shape[0], 1) ** 0.5
        param.copy_(torch.empty_like(param).uniform_(-bound, bound, generator=generator))
    for mine, new in zip(net.parameters(), fresh.parameters()):
        mine.mul_(shrink).add_(perturb * new)
    return net


__all__ = ["widen", "deepen", "grow_to", "shrink_perturb"]
