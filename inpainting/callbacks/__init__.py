"""Lightning callbacks (and the CSV logger) that the ``callbacks`` and ``logger`` config groups instantiate.

One module per job: ``panel`` (the fixed image panel; its drawing in ``drawing``), ``curves`` (curves.png),
``progress`` (the progress bar), ``report`` (``TestReport``: test tables and results.json), ``checkpoint``
(checkpoints that follow a moved run folder), ``rank_errors`` (each DDP rank's error) and ``csv_logger``
(a CSV logger that keeps a resumed run's rows). Each callback gets what it needs as constructor arguments
from the config, never from the LightningModule's or the data module's attributes.
"""
