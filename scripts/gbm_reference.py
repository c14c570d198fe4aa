#!/usr/bin/env python3
"""Writes tests/data/gbm_reference.csv: a small dataset and scikit-learn's
HistGradientBoostingClassifier probabilities on it, the reference for tests/gbm_reference.rs.

Features are small integers so both implementations bin them identically (one bin per
distinct value, thresholds at midpoints). Re-run after changing the parameters in both files:
    pip install scikit-learn && python3 scripts/gbm_reference.py
"""
import csv
import os

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

rng = np.random.default_rng(7)
n = 600
X = np.column_stack([
    rng.integers(0, 30, n),
    rng.integers(0, 5, n),
    rng.integers(0, 100, n),
    rng.integers(0, 2, n),
]).astype(float)
logit = 0.15 * (X[:, 0] - 15) + 0.8 * (X[:, 1] == 3) - 0.02 * (X[:, 2] - 50) + 1.2 * X[:, 3] * (X[:, 0] > 20)
y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)

model = HistGradientBoostingClassifier(
    max_iter=30, learning_rate=0.1, max_leaf_nodes=8, min_samples_leaf=10,
    l2_regularization=1.0, max_bins=255, early_stopping=False,
)
model.fit(X, y)
p = model.predict_proba(X)[:, 1]

out = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "gbm_reference.csv")
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["x0", "x1", "x2", "x3", "y", "p_sklearn"])
    for row, label, prob in zip(X, y, p):
        w.writerow([int(v) for v in row] + [int(label), f"{prob:.12f}"])
print(f"wrote {out}: {n} rows, positives {y.sum()}")
