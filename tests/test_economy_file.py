"""One file per economy (Economy.save / bigplan.io.load) and labour units on Economy."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import bigplan
from bigplan import io as bio
from bigplan.errors import DataFileError, LabelError, MissingFileError, UnitsError


def _economy(labels=None, **kw):
    rng = np.random.default_rng(0)
    n = 6 if labels is None else len(labels)
    A = sp.random(n, n, density=0.4, random_state=1, format="csr") * 0.15
    lab = rng.random((2, n))
    return bigplan.Economy(A, lab, labels=labels, labour_names=["hours", "energy"], **kw)


def _same(a: bigplan.Economy, b: bigplan.Economy):
    assert a.n == b.n and a.dtype == b.dtype and a.A.indices.dtype == b.A.indices.dtype
    assert (a.A != b.A).nnz == 0
    np.testing.assert_array_equal(a.labour, b.labour)
    assert a.labour_names == b.labour_names and a.labour_units == b.labour_units
    if a.labels is None:
        assert b.labels is None
    else:
        assert a.labels.equals(b.labels) and a.labels.dtype == b.labels.dtype
        assert list(a.labels.names) == list(b.labels.names)
        assert [type(v) for v in a.labels] == [type(v) for v in b.labels]
    for key in ("capacity", "stocks", "depreciation", "labour_supply"):
        va, vb = getattr(a, key), getattr(b, key)
        assert (va is None) == (vb is None)
        if va is not None:
            np.testing.assert_array_equal(va, vb)
    assert (a.capital is None) == (b.capital is None)
    if a.capital is not None:
        assert (a.capital != b.capital).nnz == 0


@pytest.mark.parametrize("labels", [
    None,
    ["a", "b", "c", "d", "e", "f"],
    pd.Index(["x1", "001", "1", " sp ", "é", "z"], dtype=object, name="product"),
    pd.Index([10, 20, 30, 40, 50, 60], name="code"),
    pd.MultiIndex.from_product([["reg1", "reg2"], ["food", "steel", "power"]], names=["region", "sector"]),
    pd.MultiIndex.from_arrays([["r", "r", "s", "s", "t", "t"], [1, 2, 1, 2, 1, 2]]),
])
def test_save_load_round_trips_every_part_exactly(tmp_path, labels):
    n = 6
    e = _economy(labels, labour_units=["hours", "kWh"],
                 capital=sp.random(n, n, density=0.3, random_state=2, format="csr"), depreciation=0.05,
                 capacity=np.arange(n) + 1.0, stocks=np.full(n, 0.5), labour_supply=[100.0, 7.0])
    f = e.save(tmp_path / "e.npz")
    back = bio.load(f)
    _same(e, back)
    # the solve on the reloaded economy equals the original's
    y = np.ones(n)
    np.testing.assert_allclose(bigplan.solve_output(back, y).output, bigplan.solve_output(e, y).output)


def test_file_is_plain_npz_without_pickles_and_versioned(tmp_path):
    e = _economy(["a", "b", "c", "d", "e", "f"], labour_units="hours")
    f = e.save(tmp_path / "e.npz", compress=True)
    with np.load(f, allow_pickle=False) as z:  # readable by plain NumPy, no pickles
        assert str(z["format"]) == "bigplan-economy" and int(z["format_version"]) == 1
        assert z["labels_0"].tolist() == list("abcdef")
        assert z["labour_units"].tolist() == ["hours", "hours"]
        A = sp.csr_matrix((z["A_data"], z["A_indices"], z["A_indptr"]), shape=(6, 6))
    assert (A != e.A).nnz == 0
    with zipfile.ZipFile(f) as zf:
        assert all(name.endswith(".npy") for name in zf.namelist())


def test_float32_and_int64_indices_survive(tmp_path):
    A = sp.random(5, 5, density=0.5, random_state=3, format="csr") * 0.2
    e = bigplan.Economy(A, dtype=np.float32, index_dtype=np.int64)
    back = bio.load(e.save(tmp_path / "e.npz"))
    assert back.dtype == np.float32 and back.A.indices.dtype == np.int64
    _same(e, back)


def test_save_is_atomic_and_refuses_overwrite_when_asked(tmp_path, monkeypatch):
    e = _economy()
    f = e.save(tmp_path / "e.npz")
    before = f.read_bytes()
    with pytest.raises(FileExistsError):
        e.save(f, overwrite=False)

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        _economy(["a", "b", "c", "d", "e", "f"]).save(f)
    assert f.read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["e.npz"]  # no temporary left behind


def test_unsaveable_labels_are_refused_before_writing(tmp_path):
    e = bigplan.Economy(np.array([[0.1, 0.0], [0.0, 0.1]]), labels=pd.Index(["a", 3], dtype=object))
    with pytest.raises(LabelError, match="astype"):
        e.save(tmp_path / "e.npz")
    assert not (tmp_path / "e.npz").exists()


def test_load_errors_are_typed(tmp_path):
    with pytest.raises(MissingFileError):
        bio.load(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(DataFileError, match="bad.npz"):
        bio.load(bad)
    np.savez(tmp_path / "other.npz", x=np.ones(3))
    with pytest.raises(DataFileError, match="not a bigplan economy"):
        bio.load(tmp_path / "other.npz")
    f = _economy().save(tmp_path / "e.npz")
    with np.load(f) as z:
        arrays = dict(z)
    arrays["format_version"] = np.int64(99)
    np.savez(tmp_path / "future.npz", **arrays)
    with pytest.raises(DataFileError, match="upgrade bigplan"):
        bio.load(tmp_path / "future.npz")


# --------------------------------------------------------------------------- labour units


def test_labour_units_contract():
    A = np.array([[0.1, 0.3], [0.2, 0.1]])
    e = bigplan.Economy(A, labour=[[1.0, 2.0], [3.0, 4.0]], labour_names=["work", "pay"],
                        labour_units=["hours", "USD"])
    assert e.labour_units == ("hours", "USD")
    assert "hours, USD" in repr(e)
    assert bigplan.Economy(A, labour=[1.0, 2.0]).labour_units is None
    assert bigplan.Economy(A, labour=[[1, 2], [3, 4]], labour_units="persons").labour_units == ("persons",) * 2
    # kept by with_changes, replaced on request
    assert e.with_changes({(0, 1): 0.2}).labour_units == ("hours", "USD")
    assert e.with_changes(labour_units="h").labour_units == ("h", "h")
    # distinct units cannot follow a different number of labour rows; a shared one can
    assert e.with_changes(labour=[1.0, 1.0]).labour_units is None
    same = bigplan.Economy(A, labour=[[1, 2], [3, 4]], labour_units="hours")
    assert same.with_changes(labour=[1.0, 1.0]).labour_units == ("hours",)


@pytest.mark.parametrize("units,match", [
    (["hours"], "1 labour_units for 2"),
    (["hours", ""], "non-empty"),
    (["hours", 3], "non-empty"),
    (5, "string"),
])
def test_bad_labour_units_raise(units, match):
    with pytest.raises(UnitsError, match=match):
        bigplan.Economy(np.eye(2) * 0.1, labour=[[1, 2], [3, 4]], labour_units=units)


def test_labour_units_need_labour():
    with pytest.raises(UnitsError, match="without labour"):
        bigplan.Economy(np.eye(2) * 0.1, labour_units="hours")


def test_bea_economy_states_its_money_unit():
    e = bio.bea_economy(15)
    assert e.labour_units == (bio.BEA_LABOUR_UNIT,)
    assert "compensation" in e.labour_units[0] and "USD" in e.labour_units[0]


def test_a_store_version_exports_to_one_file(tmp_path):
    from bigplan.inventory import open_store

    e = _economy(["a", "b", "c", "d", "e", "f"], labour_units="hours")
    s = open_store(tmp_path / "store")
    try:
        s.commit(e, author="t", reason="init")
        s.commit({("a", "b"): 0.05}, author="t", reason="cheaper b")
        v1 = s.economy(1)
        v2 = s.economy()
    finally:
        s.close()
    back = bio.load(v1.save(tmp_path / "v1.npz"))
    _same(v1, back)
    assert bio.load(v2.save(tmp_path / "v2.npz")).A[0, 1] == pytest.approx(0.05)
