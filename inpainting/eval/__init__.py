"""Evaluation: the papers' metric protocol, optional LPIPS/FID, tables, grids, baselines and the offline evaluator."""
