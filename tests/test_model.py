"""The LSTM stack: shapes, per-layer widths, projection, parameter count formula."""

from __future__ import annotations

import pytest
import torch

from growlstm.model import LSTMStack, count_params


@pytest.mark.parametrize("widths,proj", [([2], 0), ([3, 2], 0), ([8, 4, 2], 0), ([8, 6], 4), ([2, 8], 3)])
def test_output_shape_and_param_count(widths: list[int], proj: int) -> None:
    net = LSTMStack(n_inputs=3, widths=widths, h=5, proj_size=proj, dropout=0.1)
    out = net(torch.randn(7, 12, 3))
    assert out.shape == (7, 5)
    assert sum(p.numel() for p in net.parameters()) == count_params(3, widths, 5, proj)


def test_recipe_formula_for_one_layer() -> None:
    # 4H(I+H) + 8H weights and biases, head (H+1) N_o: I=1, H=2, N_o=18.
    assert count_params(1, [2], 18) == 4 * 2 * 3 + 16 + 3 * 18


def test_layers_have_their_own_widths() -> None:
    net = LSTMStack(1, [8, 2], 4)
    assert [layer.hidden_size for layer in net.layers] == [8, 2]


def test_bad_widths() -> None:
    with pytest.raises(ValueError):
        LSTMStack(1, [], 4)
