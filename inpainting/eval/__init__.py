"""Evaluation: the papers' metric protocol, tables, grids, baselines and the offline evaluator."""
