"""Checkpoints, distributed helpers and the training log."""
