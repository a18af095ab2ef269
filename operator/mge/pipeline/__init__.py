"""The pipeline driver: stages run in order, each checkpointed in the store.

`local.run_local` runs every phase in one go (`mge run`); `cluster.run_cluster_phase` runs one
phase per call for the operator. Both call the same stage functions.
"""
