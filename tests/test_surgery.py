"""Growth surgery preserves the network's function and lets the new cells learn."""

from __future__ import annotations

import pytest
import torch

from growlstm.model import LSTMStack, count_params
from growlstm.surgery import deepen, grow_to, widen

torch.manual_seed(0)
X = torch.randn(16, 12, 2)


def net(widths: list[int], proj: int = 0) -> LSTMStack:
    torch.manual_seed(1)
    model = LSTMStack(2, widths, 5, proj_size=proj)
    for p in model.parameters():  # non-trivial heads and biases everywhere
        torch.nn.init.uniform_(p, -0.5, 0.5)
    return model.eval()


CASES = [
    ([2], 0, 0, 5), ([3], 0, 0, 8), ([4, 3], 0, 0, 6), ([4, 3], 0, 1, 7), ([3, 2, 2], 0, 1, 4),
    ([6, 5], 2, 0, 9), ([6, 5], 2, 1, 8),  # projected layers
    ([2, 3], 4, 0, 6), ([4, 2], 3, 1, 5),  # a layer that starts projecting when widened
]


@pytest.mark.parametrize("widths,proj,layer,new", CASES)
def test_widen_preserves_outputs(widths: list[int], proj: int, layer: int, new: int) -> None:
    before = net(widths, proj)
    after = widen(before, layer, new, torch.Generator().manual_seed(0)).eval()
    assert after.widths[layer] == new
    assert sum(p.numel() for p in after.parameters()) == count_params(2, after.widths, 5, proj)
    torch.testing.assert_close(after(X), before(X), atol=1e-6, rtol=0)


@pytest.mark.parametrize("widths,proj", [([2], 0), ([4, 3], 0), ([6, 5], 2), ([3], 2)])
def test_deepen_preserves_outputs(widths: list[int], proj: int) -> None:
    before = net(widths, proj)
    after = deepen(before, 2, torch.Generator().manual_seed(0)).eval()
    assert after.widths == [*widths, 2]
    torch.testing.assert_close(after(X), before(X), atol=1e-6, rtol=0)


@pytest.mark.parametrize("widths,proj", [([2], 0), ([4, 3], 0), ([6, 5], 2)])
def test_growth_preserves_outputs_with_last_step_inputs(widths: list[int], proj: int) -> None:
    """The base forecast's weights (read at the last step) are widened with the first layer."""
    torch.manual_seed(1)
    before = LSTMStack(4, widths, 5, proj_size=proj, last_inputs=[1, 2]).eval()
    for p in before.parameters():
        torch.nn.init.uniform_(p, -0.5, 0.5)
    x = torch.randn(16, 12, 4)
    for widened in ([w + 3 for w in widths], [*widths, 2]):
        after = grow_to(before, widened, torch.Generator().manual_seed(0)).eval()
        assert after.last_inputs == [1, 2]
        assert sum(p.numel() for p in after.parameters()) == count_params(4, widened, 5, proj)
        torch.testing.assert_close(after(x), before(x), atol=1e-6, rtol=0)


def test_grow_to_chains_operations_exactly() -> None:
    before = net([3, 2])
    after = grow_to(before, [6, 4], torch.Generator().manual_seed(0)).eval()
    torch.testing.assert_close(after(X), before(X), atol=1e-6, rtol=0)
    with pytest.raises(ValueError):
        grow_to(before, [2, 2], torch.Generator())


def gradients_after_steps(model: LSTMStack, steps: int) -> dict[str, torch.Tensor]:
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    y = torch.randn(16, 5)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model.train()(X), y).backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        opt.step()
    return grads


def test_new_cells_learn_within_two_steps() -> None:
    grown = widen(net([3]), 0, 6, torch.Generator().manual_seed(0))
    grads = gradients_after_steps(grown, 1)
    new_rows = torch.cat([torch.arange(3, 6) + b * 6 for b in range(4)])
    assert grads["layers.0.weight_ih_l0"][new_rows].abs().sum() > 0
    deep = deepen(net([3]), 2, torch.Generator().manual_seed(0))
    first = gradients_after_steps(deep, 1)
    assert first["heads.1.weight"].abs().sum() > 0  # the zero head learns at once
    second = gradients_after_steps(deep, 1)  # one more step: the layer's own weights learn
    assert second["layers.1.weight_ih_l0"].abs().sum() > 0


def test_replicas_diverge_after_training() -> None:
    grown = widen(net([2]), 0, 4, torch.Generator().manual_seed(0))
    gradients_after_steps(grown, 3)
    w = grown.layers[0].weight_ih_l0.detach()
    # Cells 2 and 3 started as copies of old cells; the asymmetric split separates them.
    g_rows = [(j, b) for j in (2, 3) for b in range(4)]
    for j, b in g_rows:
        copies = [w[b * 4 + u] for u in (0, 1)]
        assert all(not torch.allclose(w[b * 4 + j], c, atol=1e-7) for c in copies)


def test_shrink_perturb_is_identity_by_default_and_mixes_otherwise() -> None:
    from growlstm.surgery import shrink_perturb

    before = net([3, 2])
    same = shrink_perturb(net([3, 2]), 1.0, 0.0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(same(X), before(X))
    mixed = shrink_perturb(net([3, 2]), 0.6, 0.01, torch.Generator().manual_seed(0))
    w0, w1 = before.layers[0].weight_ih_l0, mixed.layers[0].weight_ih_l0
    assert torch.allclose(w1, 0.6 * w0, atol=0.011) and not torch.allclose(w1, 0.6 * w0, atol=1e-6)
