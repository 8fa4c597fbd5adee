"""Train a stage's seeds as one model: block-diagonal packing of S networks.

S copies of an ``LSTMStack`` become one stack S times as wide whose weights are block-diagonal
(seed s owns cells ``s*H .. s*H+H-1`` of every gate, its inputs and its head outputs). Gradients
outside the blocks are masked to zero, so with Adam those weights stay exactly zero and every
seed trains exactly as it would alone (to float rounding), on its own batch order, with its own
gradient clipping, early stopping and best epoch; one optimiser step and one kernel launch serve
all seeds, which is what makes three seeds cost little more than one on tiny models.
"""

from __future__ import annotations

import torch

from growlstm.model import LSTMStack, layer_proj


def _index(param: str, sizes: dict[str, int], seeds: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Rows (and columns) of seed ``seed``'s block in the packed parameter ``param``."""
    h4 = lambda n: torch.cat([b * seeds * n + seed * n + torch.arange(n) for b in range(4)])  # noqa: E731
    own = lambda n: seed * n + torch.arange(n)  # noqa: E731
    kind = param.rsplit(".", 1)[-1]
    if param.startswith("heads."):
        return (own(sizes["h"]), own(sizes["rin"])) if kind == "weight" else (own(sizes["h"]),)
    if param == "weight_last":  # the first layer's weights of the last-step inputs
        return (h4(sizes["hid"]), own(sizes["last"]))
    return {
        "weight_ih_l0": lambda: (h4(sizes["hid"]), own(sizes["in"])),
        "weight_hh_l0": lambda: (h4(sizes["hid"]), own(sizes["rec"])),
        "bias_ih_l0": lambda: (h4(sizes["hid"]),),
        "bias_hh_l0": lambda: (h4(sizes["hid"]),),
        "weight_hr_l0": lambda: (own(sizes["rec"]), own(sizes["hid"])),
    }[kind]()


def _layer_sizes(net: LSTMStack) -> list[dict[str, int]]:
    last = len(net.last_inputs)
    sizes, size = [], net.n_inputs - last  # the first layer's step inputs
    for width in net.widths:
        rec = layer_proj(width, net.proj_size) or width
        sizes.append({"in": size, "hid": width, "rec": rec, "rin": rec, "h": net.h, "last": last})
        size = rec
    return sizes


class SeedPack:
    """Packs S same-shaped networks into one block-diagonal stack, and unpacks it again."""

    def __init__(self, template: LSTMStack, seeds: int) -> None:
        self.template, self.seeds = template, seeds
        t = template
        # Inputs sit side by side (``stack_inputs``): seed s's column c is s * n_inputs + c.
        self.big = LSTMStack(
            t.n_inputs * seeds, [w * seeds for w in t.widths], t.h * seeds,
            proj_size=t.proj_size * seeds, dropout=t.dropout.p,
            last_inputs=[s * t.n_inputs + c for s in range(seeds) for c in t.last_inputs], lookback=t.lookback,
        )
        self.sizes = _layer_sizes(t)
        # index[param][seed] = (rows, cols) in the packed parameter
        layer_of = lambda name: int(name.split(".")[1]) if "." in name else 0  # noqa: E731 (weight_last: layer 0)
        self.index = {
            name: [_index(name, self.sizes[layer_of(name)], seeds, s) for s in range(seeds)]
            for name, _ in self.big.named_parameters()
        }
        # owner[name]: which seed each entry of the packed parameter belongs to; ``seeds`` marks
        # the off-block entries. One gather per parameter then masks and clips all seeds at once.
        self.masks, self.owner = {}, {}
        for name, param in self.big.named_parameters():
            owner = torch.full(param.shape, seeds, dtype=torch.long)
            for s, idx in enumerate(self.index[name]):
                owner[_grid(idx)] = s
            self.owner[name] = owner.flatten()
            self.masks[name] = owner < seeds

    @torch.no_grad()
    def pack(self, nets: list[LSTMStack]) -> LSTMStack:
        """Load the seeds' weights into the packed stack (off-block weights zero)."""
        params = dict(self.big.named_parameters())
        for name, param in params.items():
            param.zero_()
            for net, idx in zip(nets, self.index[name]):
                param[_grid(idx)] = dict(net.named_parameters())[name]
        return self.big

    @torch.no_grad()
    def unpack(self, seed: int, state: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Seed ``seed``'s own state dict, from the packed stack (or a saved packed state)."""
        state = state if state is not None else self.big.state_dict()
        return {name: state[name][_grid(self.index[name][seed])].clone() for name in self.index}

    def mask_gradients(self) -> None:
        """Zero the gradient outside the blocks (call after backward, before the step)."""
        for name, param in self.big.named_parameters():
            if param.grad is not None:
                param.grad.mul_(self.masks[name])

    def clip_per_seed(self, max_norm: float) -> None:
        """Clip each seed's gradient norm on its own, as a solo run's clip_grad_norm_ would,
        and zero the off-block gradients (``mask_gradients``) in the same multiplication."""
        grads = [(name, p.grad) for name, p in self.big.named_parameters() if p.grad is not None]
        squares = torch.zeros(self.seeds + 1, dtype=torch.float64)
        for name, g in grads:
            squares.index_add_(0, self.owner[name], g.detach().flatten().double() ** 2)
        coef = (max_norm / (squares.sqrt() + 1e-6)).clamp(max=1.0)
        coef[self.seeds] = 0.0  # off-block: masked
        scale = coef.to(torch.float32)
        for name, g in grads:
            g.mul_(scale[self.owner[name]].view_as(g))


def _grid(idx: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """Advanced index selecting the block rows x cols (or rows of a vector)."""
    return (idx[0][:, None], idx[1][None, :]) if len(idx) == 2 else idx


def stack_inputs(xs: list[torch.Tensor]) -> torch.Tensor:
    """Per-seed input batches (B, L, C) side by side on the feature axis: (B, L, S*C)."""
    return torch.cat(xs, dim=-1)


def split_outputs(out: torch.Tensor, seeds: int) -> torch.Tensor:
    """Packed output (B, S*h) as (S, B, h)."""
    return out.reshape(out.shape[0], seeds, -1).transpose(0, 1)
