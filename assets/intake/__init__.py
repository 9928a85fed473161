"""Intake channels: how a delivery arrives (landing files, database, HTTP API); Dagster-free."""
