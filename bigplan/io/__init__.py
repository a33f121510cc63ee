"""Reading and writing economies and plans: real input-output tables and open file formats.

Readers
-------
* :func:`read_economy` -- one entry point that reads an economy from any of the formats below,
  chosen by suffix or folder; :func:`read_plans` reads plans aligned to an economy.
* :func:`load` / :meth:`bigplan.Economy.save` -- one file per economy (``.npz``, no pickles, versioned).
* :func:`read_pymrio` / :func:`to_pymrio` -- multi-regional tables saved by pymrio (EXIOBASE and others).
* :func:`read_matrix_market`, :func:`read_triplets` -- sparse ``A`` as Matrix Market or parquet triplets,
  read without a dense copy or a Python loop per entry.
* :func:`read_table` -- labelled CSV/parquet tables, dense or long.
* :func:`bea_economy`, :func:`bea_final_demand` -- the embedded BEA 2021 supply and use tables
  (:mod:`bigplan.io.bea`, the packaged tables in :mod:`bigplan.io.bea_packaged`); :func:`consumption_with_margins` -- household consumption that carries its trade
  and transport margins (:mod:`bigplan.io.margins`).
* :func:`write_plans`, :func:`write_table`, :func:`write_economy_folder` -- atomic writers.

Every reader raises a typed error (:class:`~bigplan.errors.DataFileError`,
:class:`~bigplan.errors.MissingFileError`, :class:`~bigplan.errors.LabelError`...) naming the file, the
line or entry, and the fix; every writer writes atomically.
"""

from __future__ import annotations

from ..errors import BEAFormatError, DataFileError, MissingFileError, UnitsError
from .bea import (
    BEA_LABOUR_UNIT,
    BEA_LEVELS,
    FINAL_DEMAND_CATEGORIES,
    NONCOMPARABLE_CODE,
    SCRAP_CODE,
    BEATables,
    final_demand_table,
    product_output,
    read_bea_tables,
    technical_coefficients,
)
from .bea_packaged import (
    _packaged,
    bea_economy,
    bea_final_demand,
    bea_product_names,
    bea_tables,
    default_economy,
    default_final_demand,
)
from .files import is_pymrio_folder, load, read_economy, save, write_economy_folder
from .margins import consumption_with_margins, distribute_margins
from .matrix import (
    read_matrix_market,
    read_triplets,
    write_matrix_market,
    write_triplets,
)
from .mrio import PymrioSystem, read_pymrio, to_pymrio
from .tables import (
    read_labels,
    read_labour,
    read_plans,
    read_square,
    read_table,
    read_vector,
    write_labels,
    write_plans,
    write_table,
)

__all__ = [
    "BEATables",
    "BEAFormatError",
    "BEA_LEVELS",
    "BEA_LABOUR_UNIT",
    "FINAL_DEMAND_CATEGORIES",
    "NONCOMPARABLE_CODE",
    "SCRAP_CODE",
    "read_bea_tables",
    "bea_tables",
    "technical_coefficients",
    "final_demand_table",
    "product_output",
    "bea_economy",
    "bea_final_demand",
    "bea_product_names",
    "default_economy",
    "default_final_demand",
    "DataFileError",
    "MissingFileError",
    "UnitsError",
    "read_economy",
    "read_pymrio",
    "consumption_with_margins",
    "distribute_margins",
    "to_pymrio",
    "PymrioSystem",
    "read_plans",
    "write_plans",
    "load",
    "save",
    "write_economy_folder",
    "is_pymrio_folder",
    "read_matrix_market",
    "write_matrix_market",
    "read_triplets",
    "write_triplets",
    "read_table",
    "write_table",
    "read_labels",
    "write_labels",
    "read_square",
    "read_vector",
    "read_labour",
]
