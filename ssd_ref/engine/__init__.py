"""The training loop and batch inference."""
