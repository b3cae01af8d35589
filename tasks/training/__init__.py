"""Elastic ring all-reduce training: job specs and store, workloads, ranks, launcher, cluster."""
