"""Seeds trained together (packed block-diagonally) give each seed its solo result."""

from __future__ import annotations

import pytest
import torch

from growlstm.train.batched import SeedPack, split_outputs, stack_inputs
from growlstm.config import Config, DataConfig, ModelConfig, TrainerConfig
from growlstm.data import load
from growlstm.model import LSTMStack
from growlstm.growth.preparation import prepare
from growlstm.surgery import grow_to
from growlstm.train.fit import fit_candidate
from growlstm.train.packed import fit_seeds


@pytest.mark.parametrize("widths,proj", [([3], 0), ([4, 2], 0), ([6, 5], 2)])
def test_packing_is_exact_and_reversible(widths: list[int], proj: int) -> None:
    nets = []
    for seed in range(3):
        torch.manual_seed(seed)
        nets.append(LSTMStack(2, widths, 5, proj_size=proj))
    pack = SeedPack(nets[0], 3)
    big = pack.pack(nets)
    xs = [torch.randn(8, 12, 2) for _ in range(3)]
    out = split_outputs(big(stack_inputs(xs)), 3)
    for s, net in enumerate(nets):
        torch.testing.assert_close(out[s], net(xs[s]), atol=1e-6, rtol=0)
        for name, value in pack.unpack(s).items():
            assert torch.equal(value, net.state_dict()[name])


def test_packing_keeps_each_seeds_last_step_inputs() -> None:
    nets = []
    for seed in range(3):
        torch.manual_seed(seed)
        nets.append(LSTMStack(5, [3, 2], 4, last_inputs=[1, 2, 3]))
    pack = SeedPack(nets[0], 3)
    big = pack.pack(nets)
    assert big.last_inputs == [1, 2, 3, 6, 7, 8, 11, 12, 13]
    xs = [torch.randn(8, 12, 5) for _ in range(3)]
    out = split_outputs(big(stack_inputs(xs)), 3)
    for s, net in enumerate(nets):
        torch.testing.assert_close(out[s], net(xs[s]), atol=1e-6, rtol=0)
        assert torch.equal(pack.unpack(s)["weight_last"], net.weight_last)
    big(stack_inputs(xs)).pow(2).sum().backward()
    pack.mask_gradients()
    assert torch.all(big.weight_last.grad[~pack.masks["weight_last"]] == 0)


def test_off_block_gradients_are_masked() -> None:
    torch.manual_seed(0)
    pack = SeedPack(LSTMStack(1, [3, 2], 4), 2)
    big = pack.pack([LSTMStack(1, [3, 2], 4), LSTMStack(1, [3, 2], 4)])
    big(torch.randn(5, 6, 2)).pow(2).sum().backward()
    pack.mask_gradients()
    for name, param in big.named_parameters():
        assert torch.all(param.grad[~pack.masks[name]] == 0), name


@pytest.fixture(scope="module")
def nile_windows():
    config = Config(data=DataConfig(name="nile"))
    return prepare(load(config.data), config)[1]


@pytest.mark.parametrize("widths,warm,loss", [([3], False, "mse"), ([3, 2], False, "mse"), ([4], True, "mse"),
                                              ([3], False, "mae")])
def test_each_seed_matches_its_solo_run(nile_windows, widths: list[int], warm: bool, loss: str) -> None:
    # Packing is exact arithmetic, but BLAS may sum a wider matrix in another order; with the
    # absolute error (a sign gradient) such rounding can flip a near-zero residual's sign, so the
    # seeds then agree to about 1e-3 rather than to rounding.
    tol = 1e-4 if loss == "mse" else 2e-3
    trainer = TrainerConfig(max_epochs=12, early_stopping_patience=3, loss=loss)
    seeds = [0, 1, 2]
    inits = None
    if warm:  # grown from a [2] parent per seed, as warm growth does
        parents = []
        for seed in seeds:
            torch.manual_seed(100 + seed)
            parents.append(LSTMStack(1, [2], nile_windows.h))
        inits = [grow_to(p, widths, torch.Generator().manual_seed(s)).state_dict() for p, s in zip(parents, seeds)]
    packed = fit_seeds(nile_windows, widths, ModelConfig(), trainer, seeds, init_states=inits)
    for k, seed in enumerate(seeds):
        solo = fit_candidate(nile_windows, widths, ModelConfig(), trainer, seed,
                             init_state=inits[k] if inits else None)
        together = packed[k]
        assert (together.epochs, together.best_epoch) == (solo.epochs, solo.best_epoch)
        assert together.val_loss == pytest.approx(solo.val_loss, rel=tol, abs=1e-6)
        assert together.train_loss == pytest.approx(solo.train_loss, rel=tol, abs=1e-6)
        for name, value in solo.module.net.state_dict().items():
            torch.testing.assert_close(together.module.net.state_dict()[name], value, atol=10 * tol, rtol=10 * tol)


def test_clip_per_seed_matches_each_seeds_own_clipping() -> None:
    nets = []
    for seed in range(3):
        torch.manual_seed(seed)
        nets.append(LSTMStack(1, [4, 2], 3))
    pack = SeedPack(nets[0], 3)
    big = pack.pack(nets)
    xs = [torch.randn(6, 8, 1) * (1 + 10 * s) for s in range(3)]  # seed 0 under the limit, 1 and 2 over
    split_outputs(big(stack_inputs(xs)), 3).pow(2).sum().backward()
    pack.clip_per_seed(0.5)
    for s, net in enumerate(nets):
        net(xs[s]).pow(2).sum().backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 0.5)
        for name, param in big.named_parameters():
            own = dict(net.named_parameters())[name].grad
            block = param.grad[pack.index[name][s][0][:, None], pack.index[name][s][1][None, :]] \
                if param.dim() == 2 else param.grad[pack.index[name][s][0]]
            torch.testing.assert_close(block, own, atol=1e-6, rtol=1e-5)
    for name, param in big.named_parameters():  # clipping masks the off-block gradients too
        assert torch.all(param.grad[~pack.masks[name]] == 0), name


@pytest.mark.parametrize("widths", [[3], [3, 2]])
def test_epoch_per_lightning_step_equals_lightnings_own_loop(nile_windows, widths: list[int]) -> None:
    """The growth loop steps through an epoch's minibatches inside one Lightning step; that must
    be the very training Lightning's per-minibatch loop does (same weights, epochs, steps)."""
    trainer = TrainerConfig(max_epochs=8, early_stopping_patience=3)
    fast = fit_candidate(nile_windows, widths, ModelConfig(), trainer, 0)
    slow = fit_candidate(nile_windows, widths, ModelConfig(), trainer, 0, per_step=True)
    assert (fast.epochs, fast.best_epoch, fast.steps) == (slow.epochs, slow.best_epoch, slow.steps)
    for name, value in slow.module.state_dict().items():
        torch.testing.assert_close(fast.module.state_dict()[name], value, atol=1e-6, rtol=0)
    fast_seeds = fit_seeds(nile_windows, widths, ModelConfig(), trainer, [0, 1])
    slow_seeds = fit_seeds(nile_windows, widths, ModelConfig(), trainer, [0, 1], per_step=True)
    for a, b in zip(fast_seeds, slow_seeds):
        assert (a.epochs, a.best_epoch, a.steps) == (b.epochs, b.best_epoch, b.steps)
        for name, value in b.module.state_dict().items():
            torch.testing.assert_close(a.module.state_dict()[name], value, atol=1e-6, rtol=0)
