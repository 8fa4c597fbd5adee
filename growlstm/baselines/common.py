"""What every baseline shares: the protocol, input checks, quiet statsmodels, one BLAS thread."""

from __future__ import annotations

import contextlib
import ctypes
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike



_ICS: tuple[str, ...] = ("aicc", "aic", "bic")
# `spec` of an unfitted baseline: a string, not an error, so that isinstance(b, Baseline)
# (which reads the property on Python 3.11) works before fit.
_UNFITTED = "not fitted"


@runtime_checkable
class Baseline(Protocol):
    """A classical forecaster: ``fit(y) -> self``, ``predict(h) -> (h,)`` floats."""

    name: str

    def fit(self, y: np.ndarray) -> "Baseline": ...

    def predict(self, h: int) -> np.ndarray: ...

    @property
    def spec(self) -> str: ...


# --------------------------------------------------------------------------- helpers


def _as_series(y: ArrayLike) -> np.ndarray:
    """Validate and return a 1-D finite float array."""
    x = np.asarray(y, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D series, got shape {x.shape}")
    if x.size == 0:
        raise ValueError("cannot fit a baseline on an empty series")
    if not np.all(np.isfinite(x)):
        raise ValueError("the series holds NaN or infinite values")
    return x


def _check_h(h: int) -> int:
    if int(h) != h or h < 1:
        raise ValueError(f"horizon h must be a positive integer, got {h!r}")
    return int(h)


def _check_ic(ic: str) -> str:
    if ic not in _ICS:
        raise ValueError(f"unknown information criterion {ic!r}; valid: {', '.join(_ICS)}")
    return ic


def _check_m(m: int) -> int:
    if int(m) != m or m < 1:
        raise ValueError(f"season_length must be a positive integer, got {m!r}")
    return int(m)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence statsmodels/scipy/numpy warnings: the console is for the forecaster."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


# Thread-count setters of OpenBLAS builds (numpy/scipy wheels prefix and suffix them).
_OPENBLAS_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)


def _openblas_threads() -> list[tuple[Callable[[], int], Callable[[int], None]]]:
    """(get, set) thread-count functions of each OpenBLAS loaded in this process (Linux)."""
    try:
        with open("/proc/self/maps") as fh:
            paths = {ln.split()[-1] for ln in fh if "openblas" in ln.rsplit("/", 1)[-1].lower()}
    except OSError:
        return []
    out = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for setter in _OPENBLAS_SETTERS:
            getter = setter.replace("_set_", "_get_")
            if hasattr(lib, setter) and hasattr(lib, getter):
                out.append((getattr(lib, getter), getattr(lib, setter)))
                break
    return out


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run BLAS single-threaded, then restore the previous thread counts.

    The state-space and ETS fits multiply matrices of at most ~30 x 30, where BLAS threads
    only add overhead; on a busy 2-core machine OpenBLAS's spinning threads made the same
    search 20x slower (0.5 s -> 11 s on Nile). Best effort: a no-op without OpenBLAS.
    """
    handles = _openblas_threads()
    saved = [get() for get, _ in handles]
    for _, set_threads in handles:
        set_threads(1)
    try:
        yield
    finally:
        for (_, set_threads), n in zip(handles, saved):
            set_threads(n)


def _fitted(obj: object, attr: str) -> Any:
    """The fitted attribute ``attr``, or a clear error when ``fit`` was not called."""
    value = getattr(obj, attr, None)
    if value is None:
        raise RuntimeError(f"{type(obj).__name__} is not fitted: call fit(y) first")
    return value


def _finite(f: np.ndarray, who: str) -> np.ndarray:
    f = np.asarray(f, dtype=float).ravel()
    if not np.all(np.isfinite(f)):
        raise RuntimeError(f"{who} produced non-finite forecasts")
    return f


def _ic_value(llf: float, nobs: int, k: int, ic: str) -> float:
    """AIC / AICc / BIC from a log-likelihood with ``k`` parameters (sigma2 included)."""
    if ic == "aic":
        return -2.0 * llf + 2.0 * k
    if ic == "bic":
        return -2.0 * llf + k * math.log(nobs)
    if nobs - k - 1 <= 0:  # AICc undefined: too many parameters for the data
        return math.inf
    return -2.0 * llf + 2.0 * k + 2.0 * k * (k + 1) / (nobs - k - 1)


class ClassicalModel:
    """What every baseline does the same way: ``fit(y)`` checks the series (1-D, finite, at least
    one point) and returns the model; ``predict(h)`` checks ``h`` and that the model was fitted,
    and refuses non-finite forecasts. A family implements ``_fit(x)`` on the checked series and
    ``_predict(h)`` on the fitted state, kept in the attribute named by ``_state``."""

    name = ""
    _state = "result_"  # None until fitted

    def fit(self, y: ArrayLike) -> "ClassicalModel":
        self._fit(_as_series(y))
        return self

    def predict(self, h: int) -> np.ndarray:
        h = _check_h(h)
        _fitted(self, self._state)
        return _finite(self._predict(h), self.spec)

    def _fit(self, x: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, h: int) -> np.ndarray:
        raise NotImplementedError

    @property
    def spec(self) -> str:
        raise NotImplementedError
