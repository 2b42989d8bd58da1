"""Symbolic workload: a small series expansion and a factorisation with sympy."""
from sympy import Symbol, cos, factor, series

x = Symbol("x")
print(series(cos(x) / (1 - x), x, 0, 4))
print(factor(x**3 - 6 * x**2 + 11 * x - 6))
