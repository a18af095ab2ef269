"""The pipeline driver: stages run in order, each checkpointed in the store.

`phase_table.PIPELINE` is the one table of phases (stage step, what it reads, what it
checkpoints). `local.run_local` walks every row in one go (`mge run`);
`cluster.run_cluster_phase` runs one row per call for the operator. `collaborators` builds what
every driver hands the stages; `review_decision` carries out a reviewer's decision for every
front end.
"""
