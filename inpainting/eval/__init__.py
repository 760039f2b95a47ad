"""Evaluation: the papers' metric protocol, optional LPIPS/FID, the evaluation engine, the report files, tables, grids, classical baselines, paper tables."""
