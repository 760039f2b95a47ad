"""Reproducing a paper table: ``inpaint-reproduce table=<name> scale=<scale>`` (docs/reproduce.md).

``spec`` reads ``experiments/tables/<table>.yaml``; ``plan`` turns a row into its ``inpaint-train`` job
(``experiment=<row's> scale=<scale> [data=<dataset>] reproduce.table=... reproduce.row=...``);
``run`` runs jobs in dependency order and checks full-scale data; ``collect`` reads a job folder;
``report`` writes the table beside the paper's; ``table`` ties them together.
"""
from inpainting.reproduce.collect import Outcome, collect_job
from inpainting.reproduce.plan import Job, Scale, load_scale, make_job
from inpainting.reproduce.spec import Row, SpecError, TableSpec, load_spec, phases, select_rows, table_names
from inpainting.reproduce.table import Reproduced, reproduce

__all__ = ["Job", "Outcome", "Reproduced", "Row", "Scale", "SpecError", "TableSpec", "collect_job", "load_scale",
           "load_spec", "make_job", "phases", "reproduce", "select_rows", "table_names"]
