"""MGE: requirements in, a tested codebase out — a pipeline library with two drivers.

`mge run` (cli/run.py → pipeline/local.py) drives it on a laptop; the kopf operator
(kube/ → pipeline/cluster.py) drives it in a cluster. See README.md for the map of subpackages.
"""
