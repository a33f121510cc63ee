"""Bad input to the readers: each a typed error naming the file (and line or entry); fuzzed with hypothesis."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bigplan
from bigplan import io as bio
from bigplan.errors import BigplanError, DataFileError, LabelError, MissingFileError, ShapeError, UnitsError

pytest.importorskip("pyarrow")


def _economy(n=6):
    A = sp.random(n, n, density=0.4, random_state=7, format="csr") * 0.15
    return bigplan.Economy(A, np.arange(1.0, n + 1), labels=[f"p{i}" for i in range(n)], labour_units="hours")


def test_missing_files(tmp_path):
    for name in ("e.npz", "A.parquet", "A.mtx", "A.csv", "folder"):
        with pytest.raises(MissingFileError, match=name):
            bio.read_economy(tmp_path / name)
    with pytest.raises(MissingFileError, match="plans"):
        bio.read_plans(tmp_path / "p.csv", _economy())
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match="no A.parquet"):
        bio.read_economy(tmp_path / "empty")


def test_unreadable_file(tmp_path, monkeypatch):
    e = _economy()
    f = e.save(tmp_path / "e.npz")
    p = bio.write_plans(pd.DataFrame({"a": np.ones(e.n)}, index=e.labels), tmp_path / "p.csv")
    monkeypatch.setattr(os, "access", lambda *a, **k: False)  # as chmod 0 would (root reads anything)
    with pytest.raises(MissingFileError, match="permission"):
        bio.read_economy(f)
    with pytest.raises(MissingFileError, match="permission"):
        bio.read_plans(p, e)


def test_truncated_parquet_and_matrix_market(tmp_path):
    e = _economy()
    f = bio.write_triplets(e, tmp_path / "A.parquet")
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFileError, match=r"A\.parquet.*truncated"):
        bio.read_economy(f)
    m = bio.write_matrix_market(e, tmp_path / "B.mtx")
    text = m.read_bytes()
    m.write_bytes(text.rsplit(b"\n", 3)[0] + b"\n")  # the last two lines missing
    with pytest.raises(DataFileError, match=r"B\.mtx"):
        bio.read_economy(m)
    m.write_bytes(text[: len(text) - 3])  # last number cut short: would read as a wrong value
    with pytest.raises(DataFileError, match="line break"):
        bio.read_economy(m)


def test_duplicate_and_missing_labels(tmp_path):
    e = _economy(3)
    f = bio.write_triplets(e, tmp_path / "A.parquet", labels=False)
    (tmp_path / "dup.csv").write_text("label\na\nb\na\n")
    with pytest.raises(LabelError, match=r"dup\.csv.*'a' \(line 4\)"):
        bio.read_economy(f, labels=tmp_path / "dup.csv")
    (tmp_path / "gap.csv").write_text("label\na\n\"\"\nc\n")
    with pytest.raises(LabelError, match=r"gap\.csv.*line 3"):
        bio.read_economy(f, labels=tmp_path / "gap.csv")
    (tmp_path / "short.csv").write_text("label\na\nb\n")
    with pytest.raises(ShapeError, match="3 products"):
        bio.read_economy(f, labels=tmp_path / "short.csv")


def test_non_square_and_non_numeric_a(tmp_path):
    (tmp_path / "rect.csv").write_text("product,a,b,c\na,0.1,0,0\nb,0,0.1,0\n")
    with pytest.raises(ShapeError, match=r"rect\.csv.*square"):
        bio.read_economy(tmp_path / "rect.csv")
    import scipy.io

    scipy.io.mmwrite(tmp_path / "rect.mtx", sp.random(3, 4, density=0.5, random_state=0))
    with pytest.raises(ShapeError, match=r"rect\.mtx.*square"):
        bio.read_economy(tmp_path / "rect.mtx")
    (tmp_path / "text.csv").write_text("product,a,b\na,0.1,zero\nb,0,0.1\n")
    with pytest.raises(DataFileError, match=r"text\.csv.*column 'b' on line 2 is 'zero'"):
        bio.read_economy(tmp_path / "text.csv")
    (tmp_path / "long.csv").write_text("row,col,value\na,b,0.1\nb,a,-0.2\n")
    with pytest.raises(BigplanError, match=r"long\.csv.*negative"):
        bio.read_economy(tmp_path / "long.csv")


def test_bad_triplet_entries_are_named(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"row": [0, 1, 5], "col": [1, 0, 0], "value": [0.1, 0.2, 0.3]}), tmp_path / "t.parquet")
    (tmp_path / "t.labels.csv").write_text("label\na\nb\nc\n")
    with pytest.raises(DataFileError, match=r"entry 2 has row 5, outside 0\.\.2"):
        bio.read_economy(tmp_path / "t.parquet")
    pq.write_table(pa.table({"row": [0, 1], "col": [1, 0], "value": [0.1, float("nan")]}), tmp_path / "n.parquet")
    with pytest.raises(DataFileError, match=r"entry 1 .* nan"):
        bio.read_triplets(tmp_path / "n.parquet")
    pq.write_table(pa.table({"r": [0], "c": [1], "v": [0.1]}), tmp_path / "x.parquet")
    with pytest.raises(DataFileError, match="column 'row' is missing"):
        bio.read_triplets(tmp_path / "x.parquet")


def test_units_that_disagree(tmp_path):
    f = _economy().save(tmp_path / "e.npz")
    with pytest.raises(UnitsError, match=r"e\.npz.*\['hours'\].*\['persons'\]"):
        bio.read_economy(f, labour_units="persons")
    assert bio.read_economy(f, labour_units="hours").labour_units == ("hours",)


def test_nothing_written_on_failure(tmp_path, monkeypatch):
    e = _economy()
    f = bio.write_triplets(e, tmp_path / "A.parquet")
    before = f.read_bytes()
    import pyarrow.parquet as pq

    def broken(self, *a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        bio.write_triplets(e, f, overwrite=True)
    assert f.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["A.labels.parquet", "A.parquet"]


# --------------------------------------------------------------------------- fuzz

#: A few examples in the test run; BIGPLAN_FUZZ_EXAMPLES=500 for a longer random search.
_EXAMPLES = int(os.environ.get("BIGPLAN_FUZZ_EXAMPLES", "25"))
_FUZZ = settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                 derandomize="BIGPLAN_FUZZ_EXAMPLES" not in os.environ)


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("valid")
    e = _economy(8)
    files = {
        "npz": e.save(d / "e.npz"),
        "parquet": bio.write_triplets(e, d / "A.parquet"),
        "mtx": bio.write_matrix_market(e, d / "M.mtx"),
        "csv": bio.write_table(pd.DataFrame(e.A.toarray(), index=e.labels, columns=e.labels)
                               .rename_axis("product"), d / "D.csv"),
    }
    return e, {k: (v, v.read_bytes()) for k, v in files.items()}


def _read_or_typed_error(path, original):
    """The reader returns the original economy or raises a typed error: never a crash or a wrong economy."""
    try:
        got = bio.read_economy(path)
    except BigplanError:
        return
    except (FileExistsError,) as exc:  # pragma: no cover - not expected from a reader
        raise AssertionError(exc)
    assert got.n == original.n
    np.testing.assert_allclose(got.A.toarray(), original.A.toarray(), rtol=1e-15)
    assert list(got.labels) == list(original.labels)


@pytest.mark.parametrize("kind", ["npz", "parquet", "mtx", "csv"])
@_FUZZ
@given(cut=st.floats(0.0, 0.999))
def test_fuzz_truncations(tmp_path_factory, valid_files, kind, cut):
    e, files = valid_files
    src, data = files[kind]
    d = tmp_path_factory.mktemp("cut")
    f = d / src.name
    f.write_bytes(data[: int(len(data) * cut)])
    side = src.with_name(src.name.split(".")[0] + ".labels.parquet")
    if side.exists():
        (d / side.name).write_bytes(side.read_bytes())
    side = src.with_name(src.name.split(".")[0] + ".labels.csv")
    if side.exists():
        (d / side.name).write_bytes(side.read_bytes())
    _read_or_typed_error(f, e)


@pytest.mark.parametrize("kind", ["npz", "parquet"])
@_FUZZ
@given(data=st.data())
def test_fuzz_byte_flips_in_checksummed_formats(tmp_path_factory, valid_files, kind, data):
    e, files = valid_files
    src, raw = files[kind]
    pos = data.draw(st.integers(0, len(raw) - 1))
    flip = data.draw(st.integers(1, 255))
    d = tmp_path_factory.mktemp("flip")
    f = d / src.name
    buf = bytearray(raw)
    buf[pos] ^= flip
    f.write_bytes(bytes(buf))
    if kind == "parquet":
        (d / "A.labels.parquet").write_bytes(src.with_name("A.labels.parquet").read_bytes())
    _read_or_typed_error(f, e)


@pytest.mark.parametrize("name", ["e.npz", "A.parquet", "A.mtx", "A.mtx.gz", "A.csv"])
@_FUZZ
@given(blob=st.binary(max_size=300))
def test_fuzz_random_bytes(tmp_path_factory, name, blob):
    d = tmp_path_factory.mktemp("rand")
    f = d / name
    f.write_bytes(blob)
    try:
        got = bio.read_economy(f)
    except BigplanError:
        return
    assert isinstance(got, bigplan.Economy)  # some byte strings are valid small CSV tables


@_FUZZ
@given(cut=st.floats(0.0, 0.999), fmt=st.sampled_from(["csv", "parquet"]))
def test_fuzz_truncated_plans(tmp_path_factory, cut, fmt):
    e = _economy(8)
    plans = pd.DataFrame(np.arange(16.0).reshape(8, 2) / 7, index=e.labels, columns=["a", "b"])
    d = tmp_path_factory.mktemp("plans")
    f = bio.write_plans(plans, d / f"p.{fmt}")
    raw = f.read_bytes()
    f.write_bytes(raw[: int(len(raw) * cut)])
    try:
        got = bio.read_plans(f, e)
    except BigplanError:
        return
    pd.testing.assert_frame_equal(got, plans, check_names=False, check_column_type=False)


def test_headers_that_promise_too_much_are_refused_before_allocating(tmp_path):
    (tmp_path / "big.mtx").write_text("%%MatrixMarket matrix coordinate real general\n1000000000 1000000000 "
                                      "900000000000\n1 1 0.5\n")
    with pytest.raises(DataFileError, match="more than the file can hold"):
        bio.read_economy(tmp_path / "big.mtx")
    # an .npz member whose .npy header claims 10^13 values: a typed error, never a bare MemoryError
    import io as _io
    import zipfile

    e = _economy()
    f = e.save(tmp_path / "e.npz")
    buf = _io.BytesIO()
    with zipfile.ZipFile(f) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "A_data.npy":
                head = np.lib.format.header_data_from_array_1_0(np.zeros(1))
                head["shape"] = (10**13,)
                out = _io.BytesIO()
                np.lib.format.write_array_header_1_0(out, head)
                data = out.getvalue() + b"\0" * 64
            dst.writestr(info, data)
    (tmp_path / "huge.npz").write_bytes(buf.getvalue())
    with pytest.raises(BigplanError, match="huge.npz"):
        bio.load(tmp_path / "huge.npz")
