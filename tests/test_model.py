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


@pytest.mark.parametrize("widths,proj", [([2], 0), ([5, 3], 0), ([6, 2], 3)])
def test_last_step_inputs_are_the_full_lstm_with_them_zero_before_the_last_step(widths: list[int], proj: int) -> None:
    """Inputs read at the last step only (the base forecast) compute what one nn.LSTM over all
    columns computes when those columns are zero at every earlier step, to 1e-6."""
    torch.manual_seed(0)
    last = [2, 3, 4]
    split = LSTMStack(6, widths, 5, proj_size=proj, last_inputs=last)
    full = LSTMStack(6, widths, 5, proj_size=proj)
    state = split.state_dict()
    weight = torch.zeros(4 * widths[0], 6)
    weight[:, [0, 1, 5]] = state.pop("layers.0.weight_ih_l0")
    weight[:, last] = state.pop("weight_last")
    full.load_state_dict(state | {"layers.0.weight_ih_l0": weight})
    x = torch.randn(7, 9, 6)
    earlier_zero = x.clone()
    earlier_zero[:, :-1, last] = 0
    torch.testing.assert_close(split(x), full(earlier_zero), atol=1e-6, rtol=0)
    # What they hold at earlier steps is never read.
    torch.testing.assert_close(split(earlier_zero), split(x), atol=0, rtol=0)
    assert sum(p.numel() for p in split.parameters()) == count_params(6, widths, 5, proj)
    assert split(torch.randn(4, 1, 6)).shape == (4, 5)  # a one-step lookback


def test_last_step_inputs_must_be_input_columns() -> None:
    with pytest.raises(ValueError, match="outside"):
        LSTMStack(3, [2], 4, last_inputs=[3])
