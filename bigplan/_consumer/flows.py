"""The stock identity of one period: production - intermediate use - final use."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._inputs import product_vector
from ..economy import Economy

__all__ = ["stock_change"]

def stock_change(economy: Economy, output: Any, final_use: Any = None) -> np.ndarray:
    """Change of stocks over a period: production - intermediate use - final use.

    Parameters
    ----------
    economy : Economy
    output : array_like (n,), pandas.Series or mapping ``{product: quantity}``
        Gross output produced in the period (aligned by label; every product given).
    final_use : same forms, optional
        Consumption, investment and exports taken in the period.

    Returns
    -------
    numpy.ndarray, shape (n,)
        ``output - A @ output - final_use``; pass its positive part as production
        and negative part as use to :meth:`Store.record_flows`.

    Raises
    ------
    UnknownProductError, LabelError
        Labelled input names a product the economy lacks, or lacks one.
    ShapeError, InvalidDemandError
        The wrong length, or NaN or infinite quantities.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]))
    >>> stock_change(e, [10.0, 5.0], [7.0, 2.0]).round(6).tolist()
    [0.5, 0.5]
    """
    x = product_vector(economy, output, "output", lo=None)
    f = np.zeros(economy.n) if final_use is None else product_vector(economy, final_use, "final_use", lo=None)
    use = economy.A @ x
    return x - use - f
