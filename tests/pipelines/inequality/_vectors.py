"""Test vectors of science.md §9.7 (hand-derived; never computed by the code under test)."""

from __future__ import annotations

import numpy as np

# Five IRIS sorted by income.
INCOME = np.array([12000.0, 15000, 18000, 22000, 30000])
LST_C = np.array([38.0, 36, 35, 33, 31])
POPULATION = np.array([2000.0, 1500, 2500, 1000, 3000])

RANKS = [0.1, 0.3, 0.5, 0.7, 0.9]  # C-1
MEAN = 34.6  # C-1
C_CELSIUS = -0.0393063584  # C-2
C_KELVIN = -0.0044191714  # C-3
GC = -1.36  # C-3, both units
C_DDOF1_BUG = -0.0491329480  # C-4
KAKWANI_A = [0.94490294, 0.97731297, 0.98195730, 0.96812456, 0.93117044]  # C-5
KAKWANI_VAR = 7.6181195e-05  # C-5
KAKWANI_SE = 0.0087281840  # C-5
RANKS_WEIGHTED = [0.1, 0.275, 0.475, 0.65, 0.85]  # C-6
MEAN_WEIGHTED = 34.35  # C-6
C_WEIGHTED = -0.0421397380  # C-6
GINI_WEIGHTED = 0.0421397380  # C-7
GINI_UNWEIGHTED = 0.0393063584  # C-7

SPEARMAN_R1 = -1.0
PEARSON_R1 = -0.9828168

R2_INCOME = np.array([11000.0, 12500, 14000, 15500, 17000, 19000, 21000, 23000, 26000, 31000])
R2_LST = np.array([37.2, 37.9, 36.1, 36.8, 35.0, 35.6, 34.1, 34.9, 33.0, 32.4])
R2_PEARSON = (-0.9396994, -0.9859683, -0.7593493)  # r, CI low, CI high
R2_SPEARMAN = (-0.9515152, -0.9892489, -0.7949937)

MORAN_BINARY = 0.4469178082  # M-1, rook binary, 5 IRIS on a line
MORAN_ROW = 0.5376712329  # M-1, row-standardised
MORAN_EXPECTED = -0.25  # M-1
GI_STAR = [1.6217697, 1.7569172, 0.0675737, -1.6217697, -1.7569172]  # G-1

P1_VALUES = np.array([36.5, 37.8, 35.9, 34.2, 33.8, 35.1, 32.9, 34.0])
P1_GROUP = np.array([True, True, True, False, False, False, False, False])
P1_DELTA = 2.7333333
P1_P = 1 / 56

PR_VALUES = np.array([31.0, 33, 35, 35, 36, 38])
PR1 = (0.40, 50.0)  # x = 35: "hotter than others" fraction, mid-rank PR in %
PR2 = (1.00, 91.67)  # x = 38
