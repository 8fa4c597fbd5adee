"""A progress bar for long work (many series): counts, rate and time left, on a terminal only.

tqdm draws it on stderr when stderr is a terminal; redirected (a log file, CI, a pipe) it
draws nothing, so records and captured output stay free of bar frames. While the bar is up
the growlstm console lines go through ``tqdm.write``, above the bar, instead of tearing it.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import IO, Any, Iterator, Optional

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm


def on_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


REDRAW_SECONDS = 0.1  # at most one frame per this interval (tqdm's default)


@contextlib.contextmanager
def progress(total: int, desc: str, unit: str = "series", initial: int = 0,
             stream: Optional[IO[str]] = None) -> Iterator[tqdm]:
    """A bar for ``total`` items (``initial`` already done); ``.update(n)`` as items finish.

    Not a terminal: a disabled bar (``update`` does nothing). The bar is removed when done
    (``leave=False``): the console keeps the forecaster's lines only.
    """
    stream = stream if stream is not None else sys.stderr
    shown = on_terminal(stream)
    bar = tqdm(total=total, initial=initial, desc=desc, unit=unit, file=stream, disable=not shown,
               leave=False, dynamic_ncols=True, smoothing=0.1, mininterval=REDRAW_SECONDS)
    try:
        if shown:
            with logging_redirect_tqdm([logging.getLogger("growlstm")]):
                yield bar
        else:
            yield bar
    finally:
        bar.close()
