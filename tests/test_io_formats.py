"""Round trips of every file format of bigplan.io, checked against the arrays written (and a dense solve)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import bigplan
from bigplan import io as bio
from bigplan.errors import DataFileError, LabelError

pytest.importorskip("pyarrow")


def _economy(n=30, labels=True, seed=0, **kw):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=0.2, random_state=seed, format="csr")
    A = A.multiply(0.5 / max(A.sum(axis=0).max(), 1e-9)).tocsr()
    lab = [f"p{i:03d}" for i in range(n)] if labels else None
    return bigplan.Economy(A, rng.random((2, n)), labels=lab, labour_names=["hours", "persons"],
                           labour_units=["hours", "persons"], **kw)


def _same_A(a, b):
    assert a.shape == b.shape
    np.testing.assert_allclose(a.toarray(), b.toarray(), rtol=0, atol=0)


def test_triplets_round_trip_with_labels(tmp_path):
    e = _economy()
    f = bio.write_triplets(e, tmp_path / "A.parquet")
    assert (tmp_path / "A.labels.parquet").is_file()
    back = bio.read_economy(f)
    _same_A(e.A, back.A)
    assert back.labels.equals(e.labels)


def test_triplets_small_batches_and_unsorted_rows_read_the_same(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    e = _economy(n=50, labels=False, seed=4)
    coo = e.A.tocoo()
    perm = np.random.default_rng(1).permutation(coo.nnz)  # rows out of order: the two-pass path
    t = pa.table({"row": coo.row[perm].astype(np.int64), "col": coo.col[perm].astype(np.int64),
                  "value": coo.data[perm]})
    pq.write_table(t, tmp_path / "u.parquet", row_group_size=17)
    for bs in (7, 1 << 20):
        A = bio.read_triplets(tmp_path / "u.parquet", batch_size=bs)
        _same_A(e.A, A)
    sorted_file = bio.write_triplets(e.A, tmp_path / "s.parquet", row_group_size=13)
    _same_A(e.A, bio.read_triplets(sorted_file, batch_size=5))


def test_triplets_from_a_positions_file_without_metadata_use_the_largest_position(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"row": [0, 2], "col": [1, 0], "value": [0.25, 0.5]}), tmp_path / "t.parquet")
    A = bio.read_triplets(tmp_path / "t.parquet")
    np.testing.assert_array_equal(A.toarray(), [[0, 0.25, 0], [0, 0, 0], [0.5, 0, 0]])


@pytest.mark.parametrize("name", ["A.mtx", "A.mtx.gz"])
def test_matrix_market_round_trip(tmp_path, name):
    e = _economy()
    f = bio.write_matrix_market(e, tmp_path / name)
    assert (tmp_path / "A.labels.csv").is_file()
    back = bio.read_economy(f)
    np.testing.assert_allclose(back.A.toarray(), e.A.toarray(), rtol=1e-15)
    assert list(back.labels) == list(e.labels)
    # SciPy's reader (fast_matrix_market) agrees with the chunked one
    np.testing.assert_array_equal(bio.read_matrix_market(f, chunked=False).toarray(),
                                  bio.read_matrix_market(f, batch_size=7).toarray())


@pytest.mark.parametrize("layout,name", [("dense", "A.csv"), ("long", "A.csv"), ("long", "A.parquet"),
                                         ("dense", "A.parquet")])
def test_tables_dense_and_long_round_trip(tmp_path, layout, name):
    e = _economy(n=12)
    dense = pd.DataFrame(e.A.toarray(), index=e.labels, columns=e.labels)
    if layout == "long":
        coo = e.A.tocoo()
        frame = pd.DataFrame({"row": e.labels[coo.row], "col": e.labels[coo.col], "value": coo.data})
        bio.write_table(frame, tmp_path / name, index=False)
    else:
        # columns in another order than the rows: matched by label
        bio.write_table(dense[dense.columns[::-1]].rename_axis("product"), tmp_path / name)
    labels = None
    if layout == "long":  # a long table lists only non-zero entries: give the labels for the order
        bio.write_labels(e.labels, tmp_path / "labels.csv")
        labels = tmp_path / "labels.csv"
    back = bio.read_economy(tmp_path / name, labels=labels)
    assert list(back.labels) == list(e.labels)
    np.testing.assert_allclose(back.A.toarray(), e.A.toarray(), rtol=1e-15)


def test_folder_round_trip_with_every_part(tmp_path):
    n = 20
    e = _economy(n=n, capital=sp.random(n, n, density=0.1, random_state=5, format="csr"),
                 depreciation=np.linspace(0, 0.1, n), capacity=np.arange(n) + 2.0, stocks=np.full(n, 3.0),
                 labour_supply=[50.0, 10.0])
    bio.write_economy_folder(e, tmp_path / "econ")
    back = bio.read_economy(tmp_path / "econ")
    _same_A(e.A, back.A)
    _same_A(e.capital, back.capital)
    np.testing.assert_array_equal(back.labour, e.labour)
    assert back.labour_names == e.labour_names and back.labour_units == e.labour_units
    for k in ("capacity", "stocks", "depreciation", "labour_supply"):
        np.testing.assert_array_equal(getattr(back, k), getattr(e, k))
    assert list(back.labels) == list(e.labels)


def test_parts_given_as_files_are_aligned_by_label(tmp_path):
    e = _economy(n=8)
    f = bio.write_triplets(e, tmp_path / "A.parquet")
    lab = pd.DataFrame({"product": e.labels[::-1], "work": e.labour[0][::-1]})  # other order
    bio.write_table(lab, tmp_path / "labour.csv", index=False)
    cap = pd.DataFrame({"product": ["p003", "p001"], "value": [4.0, 2.0]})  # long: absent products are 0
    bio.write_table(cap, tmp_path / "cap.csv", index=False)
    back = bio.read_economy(f, labour=tmp_path / "labour.csv", capacity=tmp_path / "cap.csv",
                            labour_units="hours")
    np.testing.assert_allclose(back.labour[0], e.labour[0])
    assert back.labour_names == ("work",) and back.labour_units == ("hours",)
    np.testing.assert_array_equal(back.capacity, [0, 2, 0, 4, 0, 0, 0, 0])


def test_npz_through_the_dispatcher(tmp_path):
    e = _economy()
    back = bio.read_economy(e.save(tmp_path / "e.npz"))
    _same_A(e.A, back.A)
    assert back.labour_units == e.labour_units


# --------------------------------------------------------------------------- plans


@pytest.mark.parametrize("name", ["plans.csv", "plans.parquet", "plans.tsv", "plans.csv.gz"])
def test_plans_wide_round_trip(tmp_path, name):
    e = _economy(n=10)
    rng = np.random.default_rng(3)
    plans = pd.DataFrame(rng.random((10, 3)), index=e.labels, columns=["base", "more", "less"])
    bio.write_plans(plans, tmp_path / name)
    back = bio.read_plans(tmp_path / name, e)
    assert back.index.equals(e.labels) and list(back.columns) == ["base", "more", "less"]
    np.testing.assert_allclose(back.to_numpy(), plans.to_numpy(), rtol=1e-15)
    # the plans solve like the originals (dense check)
    out = bigplan.solve_output(e, back).output
    np.testing.assert_allclose(out, np.linalg.solve(np.eye(10) - e.A.toarray(), plans.to_numpy()), rtol=1e-9)


def test_plans_long_and_integer_labels(tmp_path):
    e = bigplan.Economy(np.array([[0.1, 0.2, 0], [0, 0.1, 0.3], [0.2, 0, 0.1]]), labels=[7, 8, 9])
    (tmp_path / "p.csv").write_text("product,plan,value\n9,a,1.5\n7,b,2\n7,a,0.5\n")
    back = bio.read_plans(tmp_path / "p.csv", e)
    assert list(back.index) == [7, 8, 9] and list(back.columns) == ["a", "b"]
    np.testing.assert_array_equal(back.to_numpy(), [[0.5, 2.0], [0, 0], [1.5, 0]])
    (tmp_path / "one.csv").write_text("product,value\n8,3\n")
    np.testing.assert_array_equal(bio.read_plans(tmp_path / "one.csv", e)["plan"].to_numpy(), [0, 3, 0])


def test_plans_for_a_multiindex_economy(tmp_path):
    labels = pd.MultiIndex.from_product([["r1", "r2"], ["food", "steel"]], names=["region", "sector"])
    e = bigplan.Economy(np.eye(4) * 0.2, labels=labels)
    plans = pd.DataFrame({"x": [1.0, 2, 3, 4]}, index=labels)
    bio.write_plans(plans, tmp_path / "p.csv")
    back = bio.read_plans(tmp_path / "p.csv", e)
    assert back.index.equals(labels)
    np.testing.assert_array_equal(back["x"].to_numpy(), [1, 2, 3, 4])


def test_plans_npy_and_overwrite(tmp_path):
    e = _economy(n=5)
    plans = pd.DataFrame(np.arange(10.0).reshape(5, 2), index=e.labels, columns=["a", "b"])
    f = bio.write_plans(plans, tmp_path / "p.npy")
    np.testing.assert_array_equal(np.load(f, allow_pickle=False), plans.to_numpy())
    with pytest.raises(FileExistsError, match="overwrite"):
        bio.write_plans(plans, f)
    bio.write_plans(plans * 2, f, overwrite=True)
    np.testing.assert_array_equal(np.load(f), plans.to_numpy() * 2)


def test_plans_with_wrong_products_raise_naming_the_file_and_line(tmp_path):
    e = _economy(n=4)
    (tmp_path / "p.csv").write_text("product,a\np000,1\np001,2\nnope,3\np003,1\n")
    with pytest.raises(LabelError, match=r"p\.csv.*'nope' \(line 4\)"):
        bio.read_plans(tmp_path / "p.csv", e)
    (tmp_path / "q.csv").write_text("product,a\np000,1\np001,2\n")
    with pytest.raises(LabelError, match="missing"):
        bio.read_plans(tmp_path / "q.csv", e)
    (tmp_path / "r.csv").write_text("product,a\np000,1\np000,2\np002,1\np003,1\n")
    with pytest.raises(LabelError, match=r"duplicated.*line 3"):
        bio.read_plans(tmp_path / "r.csv", e)
    (tmp_path / "s.csv").write_text("product,a\np000,1\np001,x\np002,1\np003,1\n")
    with pytest.raises(DataFileError, match=r"line 3 is 'x'"):
        bio.read_plans(tmp_path / "s.csv", e)


# --------------------------------------------------------------------------- BEA margins


def test_consumption_with_margins_raises_trade_and_transport():
    e = bio.bea_economy(71)
    fd = bio.bea_final_demand(71)
    y = fd.sum(axis=1)
    dist = bio.bea_final_demand(71, margins="distribute")
    assert "margins_and_taxes" not in dist.columns
    np.testing.assert_allclose(dist.sum(axis=1), y, rtol=1e-12, atol=1e-6)  # totals unchanged
    c = bio.consumption_with_margins(71)
    pd.testing.assert_series_equal(c, dist["consumption"])
    L = np.linalg.inv(np.eye(e.n) - e.A.toarray())
    x0 = L @ y.to_numpy()
    old = L @ (y + 0.05 * fd["consumption"]).to_numpy() / x0 - 1
    new = L @ (y + 0.05 * c).to_numpy() / x0 - 1
    pos = {code: e.labels.get_loc(code) for code in ("441", "445", "452", "4A0", "42")}
    for code, i in pos.items():
        assert old[i] < 0.002, code  # consumption alone barely touches retail and wholesale
        assert new[i] > 0.02, code   # with its margins it raises them by a few per cent
    # and the library's solve agrees with the dense check
    x = bigplan.solve_output(e, y + 0.05 * c).output
    np.testing.assert_allclose(x, L @ (y + 0.05 * c).to_numpy(), rtol=1e-8)


def test_plans_from_plain_pandas_parquet_with_the_labels_in_the_index(tmp_path):
    e = _economy(n=6)
    plans = pd.DataFrame({"a": np.arange(6.0), "b": np.ones(6)}, index=e.labels)
    plans.to_parquet(tmp_path / "p.parquet")  # labels stored as the pandas index (schema metadata)
    back = bio.read_plans(tmp_path / "p.parquet", e)
    np.testing.assert_array_equal(back.to_numpy(), plans.to_numpy())
    assert list(back.columns) == ["a", "b"]


def test_bea_bad_arguments_are_typed(tmp_path):
    from bigplan.errors import InvalidOptionError, MissingFileError

    with pytest.raises(InvalidOptionError, match="level"):
        bio.bea_tables(3)
    with pytest.raises(InvalidOptionError, match="margins"):
        bio.bea_final_demand(71, margins="spread")
    with pytest.raises(MissingFileError, match="directory"):
        bio.read_bea_tables(tmp_path, tmp_path)
    with pytest.raises(MissingFileError):
        bio.bea_economy(71, path=tmp_path / "nowhere")


def test_matrix_market_kinds_and_unsorted_entries(tmp_path):
    import scipy.io

    S = sp.random(6, 6, density=0.4, random_state=2) * 0.1
    S = (S + S.T).tocsr()
    scipy.io.mmwrite(tmp_path / "sym.mtx", S, symmetry="symmetric")  # goes through scipy.io.mmread
    np.testing.assert_allclose(bio.read_matrix_market(tmp_path / "sym.mtx").toarray(), S.toarray())
    # entries out of row order, read in small chunks (two-pass scatter)
    (tmp_path / "u.mtx").write_text("%%MatrixMarket matrix coordinate real general\n% comment\n3 3 4\n"
                                    "3 1 0.5\n1 2 0.25\n2 3 0.125\n1 1 0.1\n")
    A = bio.read_matrix_market(tmp_path / "u.mtx", batch_size=2)
    np.testing.assert_array_equal(A.toarray(), [[0.1, 0.25, 0], [0, 0, 0.125], [0.5, 0, 0]])
    (tmp_path / "bad.mtx").write_text("%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 0.5\n2 9 0.1\n")
    with pytest.raises(DataFileError, match=r"bad\.mtx: line 4 has col 9, outside 1\.\.3"):
        bio.read_matrix_market(tmp_path / "bad.mtx")
