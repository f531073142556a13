"""Presentation: text and markdown tables, plots, a run's summary in words, progress."""
