"""Reading real input-output tables: the BEA 2021 supply and use tables.

The package ships the United States Bureau of Economic Analysis (BEA) supply
("make") and use tables for 2021 at two levels of detail, 71 and 15 products
(``bigplan/data/bea/``; values in millions of US dollars, ``---`` = 0).  This
module parses them (:func:`read_bea_tables`), derives a commodity-by-commodity
economy under the industry-technology assumption
(:func:`technical_coefficients`) and the final demand that goes with it
(:func:`final_demand_table`); the loaders of the packaged tables
(:func:`bigplan.io.bea_economy`, :func:`bigplan.io.bea_final_demand`, the
default economy) live in :mod:`bigplan.io.bea_packaged`.

Method
------
With ``U`` the use table (commodities x industries, purchasers' prices as
published), ``V`` the make table (industries x commodities, Miller and
Blair's orientation; the file holds its transpose, the BEA supply table),
``q = 1' V`` the domestic output of each commodity and ``g`` the output of
each industry, the technical coefficients are (Miller and Blair,
*Input-Output Analysis*, 2nd ed., ch. 5)::

    A = U diag(g)^-1 V diag(q)^-1        (B = U diag(g)^-1,  D = V diag(q)^-1)

and the labour coefficients are compensation of employees per unit of industry
output carried to commodities by the market shares ``D``:
``l = (compensation / g) D``.

Two rows of the BEA tables are not products a planner can order, and one
column of the supply table is not an industry:

* **Scrap, used and secondhand goods** (BEA code ``Used``) is a by-product:
  industries sell scrap as a minor part of their output, and the used-goods
  row of the use table holds resales (some negative).  It is dropped as a
  product, in the way of the BEA's own scrap adjustment: each industry's
  inputs and labour are spread over its output *excluding* scrap, i.e. ``g``
  above is ``V 1`` over the 71 kept commodities, not the published total
  (at most 0.7 % smaller for any industry).  Purchases of scrap by
  industries are treated like a primary input (they leave ``A``).
* **Noncomparable imports and rest-of-the-world adjustment** (``Other``) are
  imports with no domestic counterpart (almost no domestic output, 4 of
  222 thousand million).  They are dropped as a product and treated like a
  primary input bought abroad; the tiny domestic output leaves ``g`` as
  scrap does.
* **CIF/FOB adjustments on imports** (supply-table column) value imports
  consistently; it is not an industry, so it is not part of ``V``.  It is
  added to the (negative) ``imports`` category of final demand.
* Negative entries of the make table (in 2021 a single one: -87 million of
  insurance produced by state and local government enterprises) would make
  negative coefficients; they are set to 0 (:func:`product_output`).

With this choice ``A q = U 1`` holds exactly over the kept commodities, so the
final demand ``y = q - U 1`` reproduces the published domestic output:
``(I - A)^-1 y = q``.  The use table is at purchasers' prices and holds no
imports column, so :func:`final_demand_table` splits ``y`` into the published
final-demand categories (``consumption``, ``investment``, ``inventories``,
``exports``, ``government``), ``imports`` (minus imports and CIF/FOB
adjustments from the supply table) and ``margins_and_taxes``: the remainder,
which moves trade and transport margins and net taxes on products from
purchasers' to basic prices (summed over all commodities it equals minus the
published net taxes on products; it is large and positive for the trade and
transport services whose margins the use table spreads over goods rows, and
the total is negative for some goods, such as primary metals, whose use at
purchasers' prices, margins included, exceeds their domestic output).

Every derived matrix is non-negative and the economy is productive (spectral
radius about 0.50 at 71 products, 0.51 at 15).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd

from ..errors import (
    BEAFormatError,
    InvalidEconomyError,
    LabelError,
    MissingFileError,
    NotProductiveError,
    ShapeError,
)

__all__ = [
    "BEATables",
    "BEAFormatError",
    "BEA_LEVELS",
    "FINAL_DEMAND_CATEGORIES",
    "BEA_LABOUR_UNIT",
    "read_bea_tables",
    "technical_coefficients",
    "final_demand_table",
    "product_output",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Levels of detail shipped with the package.
BEA_LEVELS = (15, 71)

#: Unit of the BEA economy's only labour row: the tables record pay, not hours or persons.
BEA_LABOUR_UNIT = "million USD (compensation of employees)"

#: Columns of the final-demand tables, in this order.
FINAL_DEMAND_CATEGORIES = (
    "consumption",
    "investment",
    "inventories",
    "exports",
    "government",
    "imports",
    "margins_and_taxes",
)

#: BEA codes of the two special commodities, and of the 15 sectors (whose files carry names only).
SCRAP_CODE = "Used"
NONCOMPARABLE_CODE = "Other"
_SECTOR_CODES = {
    "agriculture, forestry, fishing, and hunting": "11",
    "mining": "21",
    "utilities": "22",
    "construction": "23",
    "manufacturing": "31G",
    "wholesale trade": "42",
    "retail trade": "44RT",
    "transportation and warehousing": "48TW",
    "information": "51",
    "finance, insurance, real estate, rental, and leasing": "FIRE",
    "professional and business services": "PROF",
    "educational services, health care, and social assistance": "6",
    "arts, entertainment, recreation, accommodation, and food services": "7",
    "other services, except government": "81",
    "government": "G",
}

#: Final-demand columns by BEA code prefix ...
_FD_CODES = (
    ("F01", "consumption"),
    ("F02", "investment"),
    ("F03", "inventories"),
    ("F04", "exports"),
    ("F05", "imports"),
    ("F06", "government"),
    ("F07", "government"),
    ("F08", "government"),
    ("F09", "government"),
    ("F10", "government"),
)
# ... and by words in the column name (first match wins: government before investment/consumption).
_FD_WORDS = (
    ("government", "government"),
    ("inventor", "inventories"),
    ("export", "exports"),
    ("import", "imports"),
    ("investment", "investment"),
    ("consumption", "consumption"),
)

_MISSING = ("---", "")  # BEA's mark for a suppressed or zero value; empty cells read as 0 too


@dataclass(frozen=True, eq=False)
class BEATables:
    """The parsed BEA supply and use tables (millions of US dollars).

    Commodities and industries are labelled by BEA code (``"111CA"``, ``"HS"``,
    ``"Used"`` for scrap, ``"Other"`` for noncomparable imports; at 15 sectors the
    BEA sector codes ``"11"``, ``"31G"``, ``"FIRE"``...); names are in
    :attr:`commodity_names` and :attr:`industry_names`.  The objects are the
    parser's own: copy before modifying (:func:`bea_tables` hands out copies).

    Attributes
    ----------
    use : pandas.DataFrame
        Intermediate use ``U``, commodities x industries (purchasers' prices),
        every commodity row of the file (scrap and noncomparable imports included).
    make : pandas.DataFrame
        Make table ``V``, industries x commodities (the transpose of the BEA
        supply table), industry columns of the file only (no CIF/FOB, no totals).
    industry_output : pandas.Series
        Published ``Total industry output (basic prices)`` per industry, ``g``.
    commodity_output : pandas.Series
        Domestic output of each commodity, ``q = 1' V`` (the supply table's row sums
        over industries; its ``Total Commodity Output`` where published).
    compensation : pandas.Series
        ``Compensation of employees`` per industry.
    final_demand : pandas.DataFrame
        Commodities x :data:`FINAL_DEMAND_CATEGORIES`.  The published categories
        are sums of the use table's final-demand columns; ``imports`` is minus
        imports and CIF/FOB adjustments (supply table), or the use table's own
        imports column when it has one; ``margins_and_taxes`` is the remainder that
        makes each row sum to ``q - U 1``.
    final_demand_detail : pandas.DataFrame
        The use table's final-demand columns as published (BEA codes or names).
    imports : pandas.Series
        Imports of each commodity from the supply table (positive; zero if absent).
    cif_fob : pandas.Series
        CIF/FOB adjustments on imports (supply table; zero if absent).
    value_added : pandas.DataFrame
        The use table's rows below ``Total Intermediate`` (value added, taxes, totals) x industries.
    commodity_names, industry_names : pandas.Series
        Full BEA names, indexed by code.
    scrap, noncomparable : str or None
        Codes of the scrap and noncomparable-imports commodities, if present.
    use_file, make_file : str
        Where the tables were read from.
    """

    use: pd.DataFrame
    make: pd.DataFrame
    industry_output: pd.Series
    commodity_output: pd.Series
    compensation: pd.Series
    final_demand: pd.DataFrame
    final_demand_detail: pd.DataFrame
    imports: pd.Series
    cif_fob: pd.Series
    value_added: pd.DataFrame
    commodity_names: pd.Series
    industry_names: pd.Series
    scrap: str | None
    noncomparable: str | None
    use_file: str
    make_file: str

    @property
    def products(self) -> pd.Index:
        """Codes of the commodities a plan can order (all but scrap and noncomparable imports)."""
        drop = {self.scrap, self.noncomparable} - {None}
        return self.use.index[~self.use.index.isin(list(drop))]

    def copy(self) -> "BEATables":
        """A deep copy (every pandas object copied)."""
        kw = {}
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            kw[name] = v.copy(deep=True) if isinstance(v, (pd.DataFrame, pd.Series)) else v
        return BEATables(**kw)


# --------------------------------------------------------------------------- parsing


def _norm(label: object) -> str:
    """Label as compared: stripped, inner whitespace collapsed, lower case."""
    return re.sub(r"\s+", " ", str(label)).strip().lower()


def _read_csv(path: PathLike, what: str) -> pd.DataFrame:
    """Read one BEA CSV as strings, row labels in the first column."""
    p = Path(path)
    if p.is_dir():
        raise MissingFileError(f"BEA {what} table {p} is a directory, not a CSV file; give the table's file")
    if not p.is_file():
        raise MissingFileError(f"BEA {what} table not found: {p}")
    try:
        raw = pd.read_csv(p, index_col=0, dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.EmptyDataError as exc:
        raise BEAFormatError(f"{p}: the {what} table is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise BEAFormatError(f"{p}: cannot read the {what} table as CSV ({exc})") from exc
    if raw.shape[0] == 0 or raw.shape[1] == 0:
        raise ShapeError(f"{p}: the {what} table has no data (shape {raw.shape})")
    raw.index = pd.Index([re.sub(r"\s+", " ", str(s)).strip() for s in raw.index], dtype=object)
    raw.columns = pd.Index([re.sub(r"\s+", " ", str(s)).strip() for s in raw.columns], dtype=object)
    for axis, labels in (("row", raw.index), ("column", raw.columns)):
        if any(s == "" or s.startswith("Unnamed:") for s in labels):
            raise LabelError(f"{p}: the {what} table has a {axis} without a label")
        dup = labels[labels.duplicated()]
        if len(dup):
            raise LabelError(f"{p}: duplicated {axis} label(s) in the {what} table: {list(dup[:5])}")
    return raw


def _numeric(raw: pd.DataFrame, path: PathLike, what: str) -> pd.DataFrame:
    """Cells as floats; ``---`` and empty cells are 0; anything else non-numeric raises."""
    out = {}
    bad: list[str] = []
    for col in raw.columns:
        s = raw[col].astype(str).str.strip()
        missing = s.isin(_MISSING)
        num = pd.to_numeric(s.where(~missing, "0"), errors="coerce")
        wrong = num.isna() | ~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))
        if wrong.any():
            for row in s.index[wrong][: 3 - len(bad)]:
                bad.append(f"row {row!r}, column {col!r}: {s[row]!r}")
            if len(bad) >= 3:
                break
        out[col] = num.astype(float)
    if bad:
        raise BEAFormatError(
            f"{path}: non-numeric cell(s) in the {what} table (only numbers and '---' are allowed): "
            + "; ".join(bad)
        )
    return pd.DataFrame(out, index=raw.index)


def _find(labels: pd.Index, candidates: tuple[str, ...], *, prefix: bool = False) -> int | None:
    """Position of the first label equal to (or starting with) one of the candidates."""
    cands = tuple(_norm(c) for c in candidates)
    for i, lab in enumerate(labels):
        n = _norm(lab)
        if n in cands or (prefix and n.startswith(cands)):
            return i
    return None


def _require(pos: int | None, path: PathLike, what: str, kind: str, name: str) -> int:
    if pos is None:
        raise LabelError(f"{path}: the {what} table has no {kind} {name}")
    return pos


def _is_scrap(label: str) -> bool:
    n = _norm(label)
    return n.startswith("scrap") or n == _norm(SCRAP_CODE)


def _is_noncomparable(label: str) -> bool:
    n = _norm(label)
    return n.startswith("noncomparable") or n == _norm(NONCOMPARABLE_CODE)


def _is_aux(label: str) -> bool:
    """Supply-table rows/columns that are not commodities or industries."""
    n = _norm(label)
    return n.startswith("total") or n.startswith("imports") or "cif/fob" in n


def _fd_category(label: str) -> str | None:
    code = str(label).strip().upper()
    for prefix, cat in _FD_CODES:
        if code.startswith(prefix):
            return cat
    n = _norm(label)
    for word, cat in _FD_WORDS:
        if word in n:
            return cat
    return None


def _diff_labels(a, b) -> str:
    only_a = [x for x in a if x not in set(b)]
    only_b = [x for x in b if x not in set(a)]
    return f"only in the use table: {only_a[:3]}; only in the make table: {only_b[:3]}"


def read_bea_tables(use_csv: PathLike, make_csv: PathLike) -> BEATables:
    """Parse a BEA use table and the matching supply (make) table.

    Parameters
    ----------
    use_csv : str or os.PathLike
        Use table: rows are commodities, then ``Total Intermediate`` and the
        value-added rows (``Compensation of employees``, ..., ``Total industry
        output (basic prices)``); columns are industries, then ``T001`` (or
        ``Total Intermediate``), then final-demand columns (BEA codes ``F010``...
        or names such as ``Personal consumption expenditures``) and optionally
        ``T019``/``Total use of products``.
    make_csv : str or os.PathLike
        Supply table: rows are the same commodities then ``Total ...`` rows;
        columns are industries, then optional ``Total Commodity Output``,
        ``Imports``, ``CIF/FOB Adjustments on Imports`` and a last total column
        (total product supply).  A table in the transposed (industry x
        commodity) orientation is recognised by its labels and accepted.

    Returns
    -------
    BEATables

    Raises
    ------
    MissingFileError
        A file does not exist (a ``FileNotFoundError``), or is a directory.
    BEAFormatError
        A cell other than a number or ``---``; a file that is not a CSV table.
    LabelError
        A missing row or column (``Total Intermediate``, ``Compensation of
        employees``, ``Total industry output``, personal consumption), duplicated
        labels, an unknown final-demand column, or commodity/industry labels that
        differ between the two tables.
    ShapeError
        The two tables disagree on the number of industries.
    BEAFormatError
        The make table's industry totals do not match the use table's industry output.
    """
    use_path, make_path = str(use_csv), str(make_csv)
    raw_use = _read_csv(use_path, "use")
    raw_make = _read_csv(make_path, "make")

    # ---- use table layout
    ti_row = _require(_find(raw_use.index, ("Total Intermediate",)), use_path, "use", "row", "'Total Intermediate'")
    commodities = raw_use.index[:ti_row]
    if len(commodities) == 0:
        raise ShapeError(f"{use_path}: the use table has no commodity rows above 'Total Intermediate'")
    va_rows = raw_use.index[ti_row + 1:]
    comp_pos = _require(_find(va_rows, ("Compensation of employees",)), use_path, "use", "row",
                        "'Compensation of employees'")
    g_pos = _require(_find(va_rows, ("Total industry output",), prefix=True), use_path, "use", "row",
                     "'Total industry output (basic prices)'")
    ti_col = _require(_find(raw_use.columns, ("T001", "Total Intermediate")), use_path, "use", "column",
                      "'T001' (Total Intermediate)")
    industries = raw_use.columns[:ti_col]
    if len(industries) == 0:
        raise ShapeError(f"{use_path}: the use table has no industry columns left of '{raw_use.columns[ti_col]}'")
    fd_cols, fd_cats = [], []
    for col in raw_use.columns[ti_col + 1:]:
        n = _norm(col)
        if re.fullmatch(r"t0\d\d", n) or n.startswith("total"):
            continue  # T019 total use and other totals
        cat = _fd_category(col)
        if cat is None:
            raise LabelError(
                f"{use_path}: unknown final-demand column {col!r} in the use table (expected BEA codes "
                "F01x-F10x or names of consumption, investment, inventories, exports, imports, government)"
            )
        fd_cols.append(col)
        fd_cats.append(cat)
    if "consumption" not in fd_cats:
        raise LabelError(
            f"{use_path}: the use table has no personal consumption column ('F010' or "
            "'Personal consumption expenditures')"
        )
    use_num = _numeric(raw_use, use_path, "use")

    # ---- make (supply) table layout and orientation
    make = raw_make
    com_set = set(commodities)
    main_rows = [r for r in make.index if not _is_aux(r)]
    main_cols = [c for c in make.columns if not _is_aux(c)]
    if set(main_rows) != com_set and set(main_cols) == com_set:
        make = make.T  # industry x commodity file: bring it to the supply orientation
        main_rows, main_cols = main_cols, main_rows
    if set(main_rows) != com_set:
        raise LabelError(
            f"commodity labels differ between the use table {use_path} and the make table {make_path}: "
            + _diff_labels(list(commodities), main_rows)
        )
    if len(main_cols) != len(industries):
        raise ShapeError(
            f"the use table {use_path} has {len(industries)} industry columns but the make table "
            f"{make_path} has {len(main_cols)}"
        )
    make_num = _numeric(make, make_path, "make")

    # industries: align by name when the use table names them, else by position (use has codes)
    use_ind = list(industries)
    if set(use_ind) == set(main_cols):
        ind_names = pd.Series(use_ind, index=use_ind)
        make_cols_in_use_order = use_ind
    elif set(use_ind) & set(main_cols):
        raise LabelError(
            f"industry labels differ between the use table {use_path} and the make table {make_path}: "
            + _diff_labels(use_ind, main_cols)
        )
    else:
        ind_names = pd.Series(main_cols, index=use_ind)  # use has codes, make has names, same order
        make_cols_in_use_order = main_cols

    # codes: BEA codes in the use table, else the known sector codes, else the names themselves
    ind_code = {}
    for label, name in ind_names.items():
        ind_code[label] = label if label != name else _SECTOR_CODES.get(_norm(name), name)
    name_to_code = {_norm(ind_names[lab]): ind_code[lab] for lab in use_ind}
    com_code = {}
    for c in commodities:
        if _is_scrap(c):
            com_code[c] = SCRAP_CODE
        elif _is_noncomparable(c):
            com_code[c] = NONCOMPARABLE_CODE
        else:
            com_code[c] = name_to_code.get(_norm(c), _SECTOR_CODES.get(_norm(c), c))
    if len(set(com_code.values())) != len(com_code) or len(set(ind_code.values())) != len(ind_code):
        com_code = {c: c for c in commodities}  # codes would collide: fall back to names
        ind_code = {i: ind_names[i] for i in use_ind}
    com_idx = pd.Index([com_code[c] for c in commodities], name="commodity")
    ind_idx = pd.Index([ind_code[i] for i in use_ind], name="industry")

    U = pd.DataFrame(use_num.loc[commodities, use_ind].to_numpy(), index=com_idx, columns=ind_idx)
    supply = make_num.loc[list(commodities)]
    V = pd.DataFrame(supply[make_cols_in_use_order].to_numpy().T, index=ind_idx, columns=com_idx)
    g = pd.Series(use_num.loc[va_rows[g_pos], use_ind].to_numpy(), index=ind_idx, name="industry_output")
    comp = pd.Series(use_num.loc[va_rows[comp_pos], use_ind].to_numpy(), index=ind_idx, name="compensation")
    q = V.sum(axis=0).rename("commodity_output")

    # orientation / consistency check: industry totals of the make table = published industry output
    g_make = V.sum(axis=1)
    tol = np.maximum(0.5 * len(commodities), 1e-3 * np.abs(g.to_numpy()))
    off = np.abs(g_make.to_numpy() - g.to_numpy()) > tol
    if off.any():
        i = int(np.argmax(np.abs(g_make.to_numpy() - g.to_numpy())))
        raise BEAFormatError(
            f"the make table {make_path} does not add up to the industry output of the use table "
            f"{use_path} for {int(off.sum())} industries (worst: {ind_idx[i]!r}, {g_make.iloc[i]:.0f} vs "
            f"{g.iloc[i]:.0f}); is a row missing or the table transposed?"
        )

    # imports and CIF/FOB from the supply table's extra columns
    aux = [c for c in make.columns if _is_aux(c)]
    zeros = pd.Series(0.0, index=com_idx)
    cif_col = next((c for c in aux if "cif/fob" in _norm(c)), None)
    imp_col = next((c for c in aux if _norm(c).startswith("imports")), None)
    totals = [c for c in aux if _norm(c).startswith("total") and _norm(c) != "total commodity output"]
    cif = zeros.copy() if cif_col is None else pd.Series(supply[cif_col].to_numpy(), index=com_idx)
    if imp_col is not None:
        imports = pd.Series(supply[imp_col].to_numpy(), index=com_idx)
    elif totals:
        imports = pd.Series(supply[totals[-1]].to_numpy(), index=com_idx) - q - cif
    else:
        imports = zeros.copy()
    imports.name, cif.name = "imports", "cif_fob"

    # final demand by category
    detail = pd.DataFrame(use_num.loc[commodities, fd_cols].to_numpy(), index=com_idx, columns=pd.Index(fd_cols))
    fd = pd.DataFrame(0.0, index=com_idx, columns=pd.Index(FINAL_DEMAND_CATEGORIES, name="category"))
    for col, cat in zip(fd_cols, fd_cats):
        fd[cat] += detail[col]
    if "imports" not in fd_cats:
        fd["imports"] = -(imports + cif)
    fd["margins_and_taxes"] = 0.0
    fd["margins_and_taxes"] = q - U.sum(axis=1) - fd.sum(axis=1)

    value_added = pd.DataFrame(use_num.loc[va_rows, use_ind].to_numpy(), index=pd.Index(va_rows), columns=ind_idx)
    com_names = pd.Series(list(commodities), index=com_idx, name="name")
    ind_names_s = pd.Series(ind_names.to_numpy(), index=ind_idx, name="name")
    scrap = next((com_code[c] for c in commodities if _is_scrap(c)), None)
    nonc = next((com_code[c] for c in commodities if _is_noncomparable(c)), None)
    return BEATables(
        use=U, make=V, industry_output=g, commodity_output=q, compensation=comp, final_demand=fd,
        final_demand_detail=detail, imports=imports, cif_fob=cif, value_added=value_added,
        commodity_names=com_names, industry_names=ind_names_s, scrap=scrap, noncomparable=nonc,
        use_file=use_path, make_file=make_path,
    )


# --------------------------------------------------------------------------- derivation


def _clean_make(tables: BEATables) -> np.ndarray:
    """``V`` over the plannable products, negative entries (rounding-size negative secondary output) set to 0."""
    return np.maximum(tables.make.loc[:, tables.products].to_numpy(dtype=float), 0.0)


def product_output(tables: BEATables) -> pd.Series:
    """Domestic output ``q`` of the products of :func:`technical_coefficients`.

    The column sums of the make table over industries, after setting its
    negative entries to 0 (in the 2021 tables a single one: -87 million of
    insurance from state and local government enterprises), so it may differ
    from :attr:`BEATables.commodity_output` by such amounts.  This is the output
    that the total of :func:`final_demand_table` reproduces exactly.

    Parameters
    ----------
    tables : BEATables

    Returns
    -------
    pandas.Series
        Indexed by product code (millions of US dollars).
    """
    return pd.Series(_clean_make(tables).sum(axis=0), index=tables.products, name="output")


def technical_coefficients(tables: BEATables) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Commodity-by-commodity coefficients under the industry-technology assumption.

    ``A = U diag(g)^-1 V diag(q)^-1`` over the commodities a plan can order
    (scrap and noncomparable imports dropped, see the module notes), with ``g``
    the industries' output of those commodities and ``q`` their domestic output.

    Parameters
    ----------
    tables : BEATables

    Returns
    -------
    A : numpy.ndarray
        ``(n, n)`` non-negative technical coefficients (dollars of input per dollar of output).
    labour : numpy.ndarray
        ``(n,)`` compensation of employees per dollar of each commodity,
        ``(compensation / g) D`` with ``D = V diag(q)^-1``.
    labels : pandas.Index
        The ``n`` commodity codes (``tables.products``).

    Raises
    ------
    InvalidEconomyError
        A commodity with no domestic output, an industry producing none of the
        kept commodities while using inputs, or non-finite or negative coefficients.
    NotProductiveError
        Spectral radius of ``A`` >= 1.
    """
    labels = tables.products
    U = tables.use.loc[labels].to_numpy(dtype=float)
    V = _clean_make(tables)
    comp = tables.compensation.reindex(tables.make.index).to_numpy(dtype=float)
    q = V.sum(axis=0)
    g = V.sum(axis=1)
    if np.any(q <= 0):
        bad = list(labels[q <= 0][:5])
        raise InvalidEconomyError(f"commodities with no domestic output cannot be planned: {bad}")
    idle = g <= 0
    if np.any(idle & ((np.abs(U).sum(axis=0) > 0) | (comp != 0))):
        bad = list(tables.make.index[idle][:5])
        raise InvalidEconomyError(f"industries that use inputs but produce none of the products: {bad}")
    g_safe = np.where(idle, 1.0, g)
    B = U / g_safe
    D = V / q
    A = B @ D
    labour = (comp / g_safe) @ D
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(labour))):
        raise InvalidEconomyError("the derived coefficients are not finite")
    if A.min() < 0 or labour.min() < 0:
        where = labels[np.argmin(A.min(axis=0))] if A.min() < 0 else labels[np.argmin(labour)]
        raise InvalidEconomyError(
            f"the derived coefficients have negative entries (product {where!r}); the tables hold negative "
            "intermediate uses or compensation"
        )
    rho = float(np.max(np.abs(np.linalg.eigvals(A)))) if len(A) <= 2000 else float(A.sum(axis=0).max())
    if rho >= 1:
        cs = A.sum(axis=0)
        raise NotProductiveError(
            f"the economy derived from {tables.use_file} is not productive (spectral radius {rho:.4f} >= 1)",
            spectral_radius=rho, sectors=list(labels[np.argsort(-cs)][:5]),
        )
    return A, labour, labels


def final_demand_table(tables: BEATables) -> pd.DataFrame:
    """Final demand of the products of :func:`technical_coefficients`, by category.

    Rows sum to ``q - U 1`` (domestic output, :func:`product_output`, less
    intermediate use), so ``(I - A)^-1 y = q`` with ``y`` the row sums.

    Parameters
    ----------
    tables : BEATables

    Returns
    -------
    pandas.DataFrame
        Products x :data:`FINAL_DEMAND_CATEGORIES` (millions of US dollars).
    """
    fd = tables.final_demand.loc[tables.products].copy()
    fd["margins_and_taxes"] += product_output(tables) - tables.commodity_output.loc[tables.products]
    return fd
