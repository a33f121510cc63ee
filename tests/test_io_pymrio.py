"""pymrio systems in and out, compared with pymrio's own calc_all on its test MRIO."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import bigplan
from bigplan import io as bio
from bigplan.errors import DataFileError, LabelError, MissingFileError, UnitsError

pymrio = pytest.importorskip("pymrio")


@pytest.fixture(scope="module")
def mrio():
    io = pymrio.load_test()
    io.calc_all()
    return io


@pytest.fixture(scope="module", params=["txt", "parquet"])
def saved(request, tmp_path_factory, mrio):
    if request.param == "parquet":
        pytest.importorskip("pyarrow")
    folder = tmp_path_factory.mktemp(f"mrio_{request.param}")
    io = pymrio.load_test()  # saved after calc_all: A, x, S and M are in the folder too
    io.calc_all()
    io.save_all(folder, table_format=request.param)
    return folder


def _check_against_pymrio(system, mrio, rtol):
    e = system.economy
    assert isinstance(e.labels, pd.MultiIndex) and list(e.labels.names) == ["region", "sector"]
    assert e.labels.equals(mrio.Z.index)
    np.testing.assert_allclose(e.A.toarray(), mrio.A.to_numpy(), rtol=rtol, atol=1e-15)
    # outputs: bigplan's solve of the total final demand equals pymrio's x
    out = bigplan.solve_output(e, system.final_demand.sum(axis=1))
    np.testing.assert_allclose(out.output, mrio.x.to_numpy().ravel(), rtol=rtol)
    # plans are the (region, category) columns of Y
    assert system.final_demand.columns.equals(mrio.Y.columns)
    # multipliers: labour values of each extension row equal pymrio's M = S L
    v = bigplan.labour_values(e).values
    for name, ext in (("Factor Inputs", mrio.factor_inputs), ("Emissions", mrio.emissions)):
        for row in ext.M.index:
            label = f"{name}: " + (" / ".join(row) if isinstance(row, tuple) else row)
            k = e.labour_names.index(label)
            np.testing.assert_allclose(v[k], ext.M.loc[row].to_numpy(), rtol=rtol)
            unit = ext.unit.loc[row]
            assert e.labour_units[k] == str(unit.iloc[0] if isinstance(unit, pd.Series) else unit)


def test_read_saved_folder_matches_pymrio(saved, mrio):
    system = bio.read_pymrio(saved)
    _check_against_pymrio(system, mrio, rtol=1e-6 if saved.name.startswith("mrio_txt") else 1e-10)
    assert set(system.economy.labour_units) == {"kg", "Mill USD"}
    # the dispatcher recognises the folder
    e = bio.read_economy(saved)
    assert e.n == 48 and e.labour_names == system.economy.labour_names


def test_read_iosystem_in_memory_and_back(mrio):
    system = bio.read_pymrio(mrio)
    _check_against_pymrio(system, mrio, rtol=1e-10)
    io2 = bio.to_pymrio(system.economy, system.final_demand)
    io2.calc_all()
    np.testing.assert_allclose(io2.x.to_numpy().ravel(), mrio.x.to_numpy().ravel(), rtol=1e-10)
    M2 = io2.labour.M
    k = system.economy.labour_names.index("Factor Inputs: Value Added")
    np.testing.assert_allclose(M2.iloc[k].to_numpy(), mrio.factor_inputs.M.iloc[0].to_numpy(), rtol=1e-10)
    assert io2.labour.unit.iloc[k, 0] == "Mill USD"


def test_labour_selection(mrio):
    s = bio.read_pymrio(mrio, labour="Factor Inputs")
    assert s.economy.labour_names == ("Factor Inputs: Value Added",)
    s = bio.read_pymrio(mrio, labour=[("Emissions", ("emission_type1", "air"))])
    assert s.economy.labour_names == ("Emissions: emission_type1 / air",) and s.economy.labour_units == ("kg",)
    assert bio.read_pymrio(mrio, labour=None).economy.labour is None
    with pytest.raises(LabelError, match="not found"):
        bio.read_pymrio(mrio, labour=[("Emissions", "nope")])


def test_a_derived_from_z_when_not_saved(tmp_path, mrio):
    io = pymrio.load_test()  # Z, Y and F only: no A, x or S saved
    io.save_all(tmp_path / "raw")
    assert not (tmp_path / "raw" / "A.txt").exists()
    _check_against_pymrio(bio.read_pymrio(tmp_path / "raw"), mrio, rtol=1e-6)


def test_bad_pymrio_folders(tmp_path, saved):
    with pytest.raises(MissingFileError):
        bio.read_pymrio(tmp_path / "nowhere")
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(saved, broken)
    params = json.loads((broken / "file_parameters.json").read_text())
    z = broken / params["files"]["Y"]["name"]
    z.write_bytes(z.read_bytes()[: 200])
    with pytest.raises(DataFileError):
        bio.read_pymrio(broken)
    shutil.rmtree(broken)
    shutil.copytree(saved, broken)
    ext = broken / "emissions"
    (ext / json.loads((ext / "file_parameters.json").read_text())["files"]["unit"]["name"]).unlink()
    with pytest.raises(MissingFileError):
        bio.read_pymrio(broken)


def test_units_that_disagree(saved):
    with pytest.raises(UnitsError, match="recorded"):
        bio.read_economy(saved, labour_units="hours")


def test_to_pymrio_without_pymrio_names_the_extra(monkeypatch):
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name == "pymrio":
            raise ImportError("no pymrio")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"bigplan\[pymrio\]"):
        bio.to_pymrio(bio.bea_economy(15))


@pytest.mark.parametrize("name", ["y.csv", "y.parquet"])
def test_mrio_plans_round_trip_through_files(tmp_path, mrio, name):
    if name.endswith("parquet"):
        pytest.importorskip("pyarrow")
    system = bio.read_pymrio(mrio)
    bio.write_plans(system.final_demand, tmp_path / name)
    back = bio.read_plans(tmp_path / name, system.economy)
    assert back.index.equals(system.economy.labels)
    np.testing.assert_array_equal(back.to_numpy(), system.final_demand.to_numpy())
    assert back.columns[0] == "reg1 / Final consumption expenditure by households"
