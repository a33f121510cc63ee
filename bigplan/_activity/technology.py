"""The technology: products x processes, validated once, immutable.

A process ``p`` runs at an activity level ``z_p >= 0``; per unit of activity it
uses ``inputs[:, p]`` of the products, ``labour[:, p]`` of each primary input
(kinds of labour, or other scarce resources), and makes one unit of product
``makes[p]`` (or, with joint production, ``outputs[:, p]``).  A square
:class:`~bigplan.Economy` is the special case of one process per product; a
*choice* of one process per product turns a technology back into one
(:meth:`Technology.economy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._arrays import to_host
from .._inputs import check_finite, host_array, product_vector
from ..economy import Economy
from ..synthetic import technology as synthetic_technology
from ..errors import InvalidTechnologyError, LabelError, ShapeError, UnknownProductError

__all__ = ["Technology", "ProcessAxis", "limit_vector"]

_SHOW = 10


class ProcessAxis:
    """The processes as an axis for :mod:`bigplan._inputs` (``n`` and ``labels``)."""

    __slots__ = ("n", "labels")

    def __init__(self, n: int, labels: pd.Index | None):
        self.n = n
        self.labels = labels


def _sparse(M: Any, what: str) -> sp.csc_matrix:
    M = to_host(M)
    if sp.issparse(M):
        out = sp.csc_matrix(M, dtype=np.float64, copy=True)
    else:
        arr = host_array(M, what)
        if np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise InvalidTechnologyError(f"{what} must be a real numeric matrix, got dtype {arr.dtype}")
        if arr.ndim != 2:
            raise ShapeError(f"{what} must be a 2-D matrix (products x processes), got shape {arr.shape}")
        out = sp.csc_matrix(arr.astype(np.float64))
    out.sum_duplicates()
    check_finite(out.data, what, lo=0.0, error=InvalidTechnologyError)
    out.eliminate_zeros()
    out.sort_indices()
    for a in (out.data, out.indices, out.indptr):
        a.flags.writeable = False
    return out


def _labels(labels, n: int, what: str) -> pd.Index | None:
    if labels is None:
        return None
    if isinstance(labels, (str, bytes)):
        raise LabelError(f"{what} labels must be a sequence, got the string {labels!r}")
    idx = labels if isinstance(labels, pd.Index) else pd.Index(list(labels))
    if len(idx) != n:
        raise LabelError(f"got {len(idx)} {what} labels for {n} {what}; give exactly one label each")
    if not idx.is_unique:
        raise LabelError(f"{what} labels must be unique; duplicated: {idx[idx.duplicated()].unique().tolist()[:5]}")
    return idx


def limit_vector(axis: Any, value: Any, what: str) -> np.ndarray | None:
    """Upper limits aligned to ``axis`` (``inf`` = none; a Series/mapping may leave entries out: no limit)."""
    if value is None:
        return None
    if isinstance(value, (pd.Series, Mapping)):
        s = pd.Series(dict(value), dtype=np.float64) if isinstance(value, Mapping) else value.astype(np.float64)
        inf = np.isposinf(s.to_numpy())
        vals = product_vector(axis, s.where(~inf, 0.0), what, missing="zero", lo=0.0, error=InvalidTechnologyError)
        given = product_vector(axis, pd.Series(1.0, index=s.index), what, missing="zero")
        unlimited = product_vector(axis, pd.Series(inf.astype(float), index=s.index), what, missing="zero")
        return np.where((given > 0) & (unlimited == 0), vals, np.inf)
    arr = np.asarray(value, dtype=np.float64) if not np.iscomplexobj(value) else np.asarray(value)
    if arr.ndim == 0 and axis.n >= 1:
        arr = np.full(axis.n, float(arr))
    inf = np.isposinf(arr) if arr.dtype.kind == "f" else np.zeros(arr.shape, dtype=bool)
    out = product_vector(axis, np.where(inf, 0.0, arr), what, lo=0.0, error=InvalidTechnologyError)
    out[inf] = np.inf
    return out


class Technology:
    """Products x processes: the several methods by which each product can be made.

    Parameters
    ----------
    inputs : scipy.sparse matrix or array_like, shape (n, P)
        ``inputs[i, p]``: units of product ``i`` used per unit of activity of process ``p``.
        Finite and non-negative.
    makes : array_like, shape (P,), optional
        The product each process makes, one unit per unit of activity: positions ``0 .. n-1``, or product labels
        when ``products`` is given.  Required unless ``outputs`` is given.
    labour : array_like, shape (P,) or (m, P)
        Primary inputs per unit of activity: one or several kinds of labour (or other scarce resources).
    outputs : scipy.sparse matrix, shape (n, P), optional
        Joint production: ``outputs[i, p]`` units of product ``i`` per unit of activity of ``p``.  Then only
        :func:`~bigplan.activity.plan_activities` applies (the non-substitution theorem does not).
    capacity : array_like (P,), pandas.Series or mapping by process label, optional
        Upper bound on each process's activity (``inf`` for none).
    products, processes : sequence, optional
        Unique labels of the ``n`` products and the ``P`` processes.
    labour_names : sequence of str, optional
        Names of the ``m`` primary inputs.

    Raises
    ------
    InvalidTechnologyError
        NaN, infinite or negative coefficients or capacities; a product no process makes.
    ShapeError, LabelError, UnknownProductError

    Examples
    --------
    >>> import numpy as np
    >>> from bigplan.activity import Technology
    >>> t = Technology([[0.1, 0.3, 0.0], [0.2, 0.0, 0.1]], makes=[0, 0, 1], labour=[1.0, 0.5, 2.0],
    ...                products=["grain", "iron"], processes=["hand", "tractor", "forge"])
    >>> t.n, t.n_processes, t.economy([1, 2]).A.toarray().tolist()
    (2, 3, [[0.3, 0.0], [0.0, 0.1]])
    """

    __slots__ = ("_inputs", "_makes", "_labour", "_outputs", "_capacity", "_products", "_processes",
                 "_labour_names", "_order", "_starts", "_colsum")

    def __init__(self, inputs: Any, makes: Any = None, labour: Any = None, *, outputs: Any = None,
                 capacity: Any = None, products: Sequence | None = None, processes: Sequence | None = None,
                 labour_names: Sequence[str] | None = None):
        A = _sparse(inputs, "inputs")
        n, P = A.shape
        if n == 0 or P == 0:
            raise ShapeError(f"inputs is empty ({n} products x {P} processes); a technology needs at least one of each")
        self._inputs = A
        self._products = _labels(products, n, "product")
        self._processes = _labels(processes, P, "process")
        self._outputs = None
        if outputs is not None:
            O = _sparse(outputs, "outputs")
            if O.shape != (n, P):
                raise ShapeError(f"outputs must have the shape of inputs ({n}, {P}), got {O.shape}")
            self._outputs = O
        self._makes = self._make_makes(makes, n, P)
        self._labour, self._labour_names = self._make_labour(labour, labour_names, P)
        self._capacity = None
        if capacity is not None:
            cap = limit_vector(self.process_axis, capacity, "capacity")
            cap.flags.writeable = False
            self._capacity = cap
        counts = np.bincount(self._makes, minlength=n)
        made = counts > 0
        if self._outputs is not None:
            made |= np.diff(self._outputs.tocsr().indptr) > 0
        if not made.all():
            gone = np.flatnonzero(~made)
            names = self.product_labels(gone[:_SHOW])
            raise InvalidTechnologyError(
                f"{gone.size} product(s) are made by no process: {names}{' ...' if gone.size > _SHOW else ''}; "
                "add a process that makes each of them (or drop them from the inputs)", products=names)
        order = np.argsort(self._makes, kind="stable")
        starts = np.searchsorted(self._makes[order], np.arange(n))
        colsum = np.asarray(A.sum(axis=0)).ravel()
        for a in (order, starts, colsum):
            a.flags.writeable = False
        self._order, self._starts, self._colsum = order, starts, colsum

    # -- validation -----------------------------------------------------------
    def _make_makes(self, makes, n: int, P: int) -> np.ndarray:
        if makes is None:
            if self._outputs is None:
                raise InvalidTechnologyError("makes is required: the product each process makes (or give outputs=)")
            out = np.asarray(self._outputs.argmax(axis=0)).ravel().astype(np.int64)
        else:
            arr = host_array(to_host(makes), "makes")
            if arr.shape != (P,):
                raise ShapeError(f"makes must have shape ({P},): one product per process, got {arr.shape}")
            if arr.dtype.kind in "iu":
                out = arr.astype(np.int64)
                bad = (out < 0) | (out >= n)
                if bad.any():
                    raise UnknownProductError(
                        f"makes names {int(bad.sum())} product positions outside 0..{n - 1}: "
                        f"{out[bad][:5].tolist()}; each process must make one of the {n} products")
            else:
                if self._products is None:
                    raise LabelError("makes holds labels but the technology has no product labels; pass products=")
                out = self._products.get_indexer(pd.Index(arr)).astype(np.int64)
                if (out < 0).any():
                    raise UnknownProductError(
                        f"makes names products the technology does not have: {arr[out < 0][:5].tolist()}; "
                        "add them to products=")
        out.flags.writeable = False
        return out

    def _make_labour(self, labour, names, P: int):
        if labour is None:
            raise InvalidTechnologyError("labour is required: primary inputs per unit of activity, (P,) or (m, P)")
        if isinstance(labour, pd.DataFrame):  # processes x kinds
            names = [str(c) for c in labour.columns] if names is None else names
            labour = np.stack([product_vector(self.process_axis, labour[c], f"labour {c!r}", lo=None,
                                              error=InvalidTechnologyError) for c in labour.columns])
        elif isinstance(labour, (pd.Series, Mapping)):
            labour = product_vector(self.process_axis, labour, "labour", lo=None, error=InvalidTechnologyError)
        L = host_array(to_host(labour), "labour")
        if np.iscomplexobj(L) or not (np.issubdtype(L.dtype, np.number) or L.dtype == bool):
            raise InvalidTechnologyError(f"labour must be real numbers, got dtype {L.dtype}")
        L = np.array(L, dtype=np.float64, ndmin=1)
        if L.ndim == 1:
            L = L[None, :]
        if L.ndim != 2 or L.shape[1] != P or L.shape[0] == 0:
            raise ShapeError(
                f"labour must have shape ({P},) or (m, {P}): one column per process, got {np.shape(labour)}")
        check_finite(L, "labour", lo=0.0, error=InvalidTechnologyError)
        m = L.shape[0]
        if names is None:
            names = ("labour",) if m == 1 else tuple(f"labour_{k}" for k in range(m))
        names = tuple(str(s) for s in names)
        if len(names) != m:
            raise ShapeError(f"got {len(names)} labour_names for {m} labour kinds")
        L.flags.writeable = False
        return L, names

    # -- constructors ---------------------------------------------------------
    @classmethod
    def from_economies(cls, economies: Mapping[str, Economy]) -> "Technology":
        """The technology whose processes are those of several alternative square economies.

        Process ``name:product`` makes ``product`` with the coefficients of economy ``name``.  All economies
        must have the same products (labels, or the same size when unlabelled) and the same labour kinds.

        Examples
        --------
        >>> import numpy as np, bigplan
        >>> from bigplan.activity import Technology
        >>> a = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0])
        >>> b = bigplan.Economy(np.array([[0.3, 0.3], [0.2, 0.1]]), labour=[0.5, 2.0])
        >>> t = Technology.from_economies({"old": a, "new": b})
        >>> t.n_processes, list(t.processes[:2])
        (4, ['old:0', 'old:1'])
        """
        if not isinstance(economies, Mapping) or not economies:
            raise InvalidTechnologyError("economies must be a non-empty mapping {name: Economy}")
        names = list(economies)
        econs = list(economies.values())
        first = econs[0]
        for name, e in zip(names, econs):
            if not isinstance(e, Economy):
                raise InvalidTechnologyError(f"economies[{name!r}] must be a bigplan.Economy, got {type(e).__name__}")
            if e.labour is None:
                raise InvalidTechnologyError(f"economies[{name!r}] has no labour coefficients; the choice needs them")
            if e.n != first.n or (e.labels is None) != (first.labels is None) or (
                    e.labels is not None and not e.labels.equals(first.labels)):
                raise LabelError(f"economies[{name!r}] does not have the products of economies[{names[0]!r}]: "
                                 "every alternative must list the same products in the same order")
            if e.labour.shape[0] != first.labour.shape[0]:
                raise ShapeError(f"economies[{name!r}] has {e.labour.shape[0]} labour kinds, "
                                 f"economies[{names[0]!r}] {first.labour.shape[0]}")
        n = first.n
        prod = first.labels if first.labels is not None else pd.RangeIndex(n)
        inputs = sp.hstack([e.A.tocsc() for e in econs], format="csc")
        labour = np.hstack([np.asarray(e.labour, dtype=np.float64) for e in econs])
        procs = [f"{name}:{p}" for name in names for p in prod]
        return cls(inputs, np.tile(np.arange(n), len(econs)), labour, products=first.labels, processes=procs,
                   labour_names=first.labour_names)

    @classmethod
    def from_frame(cls, inputs: pd.DataFrame, processes: pd.DataFrame) -> "Technology":
        """A technology from two long-format tables (as read from CSV or parquet files).

        Parameters
        ----------
        inputs : pandas.DataFrame
            Columns ``process``, ``product``, ``amount``: one row per non-zero input coefficient.
        processes : pandas.DataFrame
            Columns ``process``, ``makes`` (the product it makes), optional ``capacity``, and one numeric column
            per labour kind (every other column, in order).

        Examples
        --------
        >>> import pandas as pd
        >>> from bigplan.activity import Technology
        >>> procs = pd.DataFrame({"process": ["hand", "tractor", "forge"], "makes": ["grain", "grain", "iron"],
        ...                       "labour": [1.0, 0.5, 2.0]})
        >>> ins = pd.DataFrame({"process": ["hand", "tractor", "forge"], "product": ["grain", "iron", "iron"],
        ...                     "amount": [0.1, 0.3, 0.1]})
        >>> Technology.from_frame(ins, procs).economy(["tractor", "forge"]).A.toarray().tolist()
        [[0.0, 0.0], [0.3, 0.1]]
        """
        for df, what, cols in ((inputs, "inputs", ("process", "product", "amount")),
                               (processes, "processes", ("process", "makes"))):
            if not isinstance(df, pd.DataFrame):
                raise InvalidTechnologyError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
            lack = [c for c in cols if c not in df.columns]
            if lack:
                raise InvalidTechnologyError(f"the {what} table lacks the column(s) {lack}; it needs {list(cols)}")
        procs = pd.Index(processes["process"])
        if not procs.is_unique:
            raise LabelError(f"processes lists a process twice: {procs[procs.duplicated()].unique().tolist()[:5]}")
        products = pd.Index(pd.unique(pd.concat([processes["makes"], inputs["product"]], ignore_index=True)))
        col = procs.get_indexer(pd.Index(inputs["process"]))
        if (col < 0).any():
            raise UnknownProductError(f"inputs names processes the processes table lacks: "
                                      f"{inputs['process'][col < 0].unique().tolist()[:5]}")
        row = products.get_indexer(pd.Index(inputs["product"]))
        amount = pd.to_numeric(inputs["amount"], errors="coerce").to_numpy(dtype=np.float64)
        check_finite(amount, "inputs amount", lo=0.0, error=InvalidTechnologyError)
        A = sp.csc_matrix((amount, (row, col)), shape=(len(products), len(procs)))
        kinds = [c for c in processes.columns if c not in ("process", "makes", "capacity")]
        if not kinds:
            raise InvalidTechnologyError("the processes table has no labour column (any column besides "
                                         "process, makes, capacity is a labour kind)")
        L = np.stack([pd.to_numeric(processes[k], errors="coerce").to_numpy(dtype=np.float64) for k in kinds])
        cap = None
        if "capacity" in processes.columns:
            cap = pd.to_numeric(processes["capacity"], errors="coerce").to_numpy(dtype=np.float64)
        return cls(A, processes["makes"].to_numpy(), L, capacity=cap, products=products, processes=procs,
                   labour_names=[str(k) for k in kinds])

    @classmethod
    def synthetic(cls, n: int, **kwargs) -> "Technology":
        """A seeded synthetic technology: :func:`bigplan.synthetic.technology` ``(n, **kwargs)`` as a Technology.

        Examples
        --------
        >>> from bigplan.activity import Technology
        >>> Technology.synthetic(50, processes=3, inputs_per_process=4, seed=0).n_processes
        150
        """
        t = synthetic_technology(n, **kwargs)
        return cls(t.inputs, t.makes, t.labour)

    # -- attributes -----------------------------------------------------------
    @property
    def n(self) -> int:
        """Number of products."""
        return self._inputs.shape[0]

    @property
    def n_processes(self) -> int:
        """Number of processes ``P``."""
        return self._inputs.shape[1]

    @property
    def labels(self) -> pd.Index | None:
        """Product labels (the name :mod:`bigplan._inputs` aligns by)."""
        return self._products

    products = labels

    @property
    def processes(self) -> pd.Index:
        """Process labels (``p0, p1, ...`` when none were given)."""
        if self._processes is None:
            return pd.Index([f"p{i}" for i in range(self.n_processes)])
        return self._processes

    @property
    def process_axis(self) -> ProcessAxis:
        """The processes as an axis for aligning per-process inputs (capacity) by label."""
        return ProcessAxis(self.n_processes, self._processes)

    @property
    def inputs(self) -> sp.csc_matrix:
        """Input coefficients, products x processes (CSC, read-only)."""
        return self._inputs

    @property
    def makes(self) -> np.ndarray:
        """Position of the product each process makes (the main product under joint production)."""
        return self._makes

    @property
    def labour(self) -> np.ndarray:
        """Primary inputs per unit of activity, ``(m, P)``."""
        return self._labour

    @property
    def labour_names(self) -> tuple:
        return self._labour_names

    @property
    def outputs(self) -> sp.csc_matrix | None:
        """Joint-production outputs, products x processes, or ``None`` (one unit of ``makes[p]``)."""
        return self._outputs

    @property
    def joint(self) -> bool:
        """Whether the technology has joint production."""
        return self._outputs is not None

    @property
    def capacity(self) -> np.ndarray | None:
        return self._capacity

    @property
    def groups(self) -> tuple[np.ndarray, np.ndarray]:
        """``(order, starts)``: processes sorted by the product they make, and where each product's run starts."""
        return self._order, self._starts

    @property
    def column_sums(self) -> np.ndarray:
        """Total inputs per unit of activity of each process, ``(P,)``."""
        return self._colsum

    def product_labels(self, positions) -> list:
        """Labels (or positions) of products."""
        pos = np.asarray(positions, dtype=np.int64)
        return pos.tolist() if self._products is None else self._products[pos].tolist()

    def process_labels(self, positions) -> list:
        """Labels of processes (``p<i>`` when unlabelled)."""
        pos = np.asarray(positions, dtype=np.int64)
        return [f"p{i}" for i in pos.tolist()] if self._processes is None else self._processes[pos].tolist()

    def net_output_matrix(self) -> sp.csc_matrix:
        """``outputs - inputs`` (products x processes): net output per unit of each activity."""
        if self._outputs is not None:
            O = self._outputs
        else:
            P = self.n_processes
            O = sp.csc_matrix((np.ones(P), (self._makes, np.arange(P))), shape=self._inputs.shape)
        return sp.csc_matrix(O - self._inputs)

    # -- a choice of technique --------------------------------------------------
    def choice_positions(self, choice: Any) -> np.ndarray:
        """One process position per product from positions, labels or a result with ``.process``."""
        if hasattr(choice, "process") and not isinstance(choice, (np.ndarray, list, tuple, pd.Series)):
            choice = choice.process
        if isinstance(choice, (pd.Series, Mapping)):
            s = pd.Series(dict(choice)) if isinstance(choice, Mapping) else choice
            choice = s.reindex(self._products if self._products is not None else pd.RangeIndex(self.n))
            if choice.isna().any():
                raise LabelError("the choice lacks products: give one process for every product")
            choice = choice.to_numpy()
        arr = np.asarray(to_host(choice))
        if arr.shape != (self.n,):
            raise ShapeError(f"a choice needs one process per product: shape ({self.n},), got {arr.shape}")
        if arr.dtype.kind in "iu":
            pos = arr.astype(np.int64)
            if ((pos < 0) | (pos >= self.n_processes)).any():
                raise UnknownProductError(f"the choice names process positions outside 0..{self.n_processes - 1}")
        else:
            pos = self.processes.get_indexer(pd.Index(arr)).astype(np.int64)
            if (pos < 0).any():
                raise UnknownProductError(f"the choice names unknown processes: {arr[pos < 0][:5].tolist()}")
        wrong = np.flatnonzero(self._makes[pos] != np.arange(self.n))
        if wrong.size:
            raise InvalidTechnologyError(
                f"the choice gives {wrong.size} product(s) a process that does not make them: "
                f"{self.product_labels(wrong[:_SHOW])}", products=self.product_labels(wrong[:_SHOW]))
        return pos

    def economy(self, choice: Any, *, check: bool = True) -> Economy:
        """The square :class:`~bigplan.Economy` of a choice of one process per product.

        Parameters
        ----------
        choice : array_like (n,) of process positions or labels, mapping/Series product -> process, or a
            :class:`~bigplan.activity.ChoiceResult`
        check : bool, default True
            Certify productivity (raises :class:`~bigplan.NotProductiveError` when the choice is not productive).
        """
        if self.joint:
            raise InvalidTechnologyError("a technology with joint production has no square economy per choice; "
                                         "use plan_activities")
        pos = self.choice_positions(choice)
        A = self._inputs[:, pos].tocsr()
        return Economy(A, labour=self._labour[:, pos], labels=self._products, labour_names=self._labour_names,
                       check=check)

    def __repr__(self) -> str:
        return (f"<Technology {self.n} products x {self.n_processes} processes, {self._inputs.nnz} inputs, "
                f"{len(self._labour_names)} labour kind(s){', joint production' if self.joint else ''}>")
