"""Evaluation: the papers' metric protocol, optional LPIPS/FID, the evaluation engine and its TestReport callback, tables, grids, classical baselines, paper tables."""
