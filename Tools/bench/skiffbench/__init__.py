"""Benchmark harness for Skiff (see Tools/README.md).

Modules:
  dataset    deterministic dataset generation (seeded) and the dataset marker
  mutate     deterministic mutation between the initial and incremental backup
  measure    running one command and measuring it; tree sizes; page-cache policy
  treecheck  manifests of trees (hashes) and comparison of a restore with its source
  tools      adapters for skiff, restic, borg and the cp -a baseline
  scenarios  the scenario registry and the standard scenarios
  runner     the `run` subcommand: workdir, dataset, scenarios in order
  report     Markdown and JSON results
  cli        argparse front end
"""
