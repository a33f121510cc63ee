"""Trade and transport margins carried by the final-demand categories of the BEA tables.

The BEA use table values final demand at purchasers' prices: a good bought by households includes the
retailer's, the wholesaler's and the carrier's margins, while the retail, wholesale and transport rows of
the consumption column are (nearly) zero.  :func:`bigplan.io.bea.final_demand_table` moves the margins
(and net taxes on products) to basic prices in a separate column, ``margins_and_taxes``: negative on the
goods rows (the margins taken off), positive on the trade and transport rows (the margin services).  A plan
built from ``consumption`` alone therefore asks for goods without the trade and transport that deliver
them: "consumption +5 %" leaves retail and wholesale unchanged.

:func:`distribute_margins` gives every category its share of that column, so that each category is a
complete plan at basic prices:

* a row with a negative entry ``m_i`` (margins taken off a good) is shared among the categories in
  proportion to their purchases of that good, ``max(y_ic, 0)`` (every category but ``imports``);
* the positive entries (the margin services) are shared in proportion to each category's share of all the
  margins taken off goods.

The shares sum to one, so the categories still add up to the same total final demand (and the same
output).  The method is a proportional allocation: the published margin matrices (BEA's "margins" tables)
would allocate by product and margin type; it is exact in total and for the total of every category.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["distribute_margins", "consumption_with_margins"]

MARGINS = "margins_and_taxes"


def distribute_margins(final_demand: pd.DataFrame, *, column: str = MARGINS, exclude=("imports",)) -> pd.DataFrame:
    """Final demand with the margins column shared out among the categories (see the module notes).

    Parameters
    ----------
    final_demand : pandas.DataFrame
        Products x categories, with a margins column.
    column : str
        The margins column (dropped from the result).
    exclude : sequence of str
        Categories that carry no margins (imports).

    Returns
    -------
    pandas.DataFrame
        The other categories, each carrying its margins; row sums unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> fd = pd.DataFrame({"consumption": [90.0, 0.0], "exports": [10.0, 0.0],
    ...                    "margins_and_taxes": [-20.0, 20.0]}, index=["bread", "retail"])
    >>> distribute_margins(fd).to_dict()
    {'consumption': {'bread': 72.0, 'retail': 18.0}, 'exports': {'bread': 8.0, 'retail': 2.0}}
    """
    if column not in final_demand.columns:
        raise KeyError(f"no column {column!r} in the final demand (columns {list(final_demand.columns)})")
    m = final_demand[column].to_numpy(dtype=float)
    cats = [c for c in final_demand.columns if c != column]
    carry = [c for c in cats if c not in exclude]
    Y = final_demand[carry].to_numpy(dtype=float)
    pos = np.maximum(Y, 0.0)
    rowsum = pos.sum(axis=1, keepdims=True)
    total = pos.sum(axis=0)
    fallback = total / total.sum() if total.sum() > 0 else np.full(len(carry), 1.0 / len(carry))
    share = np.where(rowsum > 0, pos / np.where(rowsum > 0, rowsum, 1.0), fallback[None, :])
    neg = np.minimum(m, 0.0)
    taken = share * neg[:, None]  # margins taken off the goods each category buys
    weight = taken.sum(axis=0)
    weight = weight / weight.sum() if weight.sum() != 0 else fallback
    given = np.maximum(m, 0.0)[:, None] * weight[None, :]
    out = final_demand[cats].astype(float).copy()
    out[carry] = Y + taken + given
    return out


def consumption_with_margins(level: int = 71, *, path=None) -> pd.Series:
    """Household consumption of the BEA tables carrying its trade and transport margins (a complete plan).

    ``bea_final_demand(level, margins="distribute")["consumption"]``: raising it by 5 % raises retail,
    wholesale and transport output with the goods.

    Parameters
    ----------
    level : {71, 15}
    path : str or os.PathLike, optional
        Folder with the BEA tables; default: the packaged ones.

    Returns
    -------
    pandas.Series
        Indexed by product code (millions of USD).
    """
    from .bea_packaged import bea_final_demand

    return bea_final_demand(level, path=path, margins="distribute")["consumption"]
