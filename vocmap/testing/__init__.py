"""For tests and benchmarks: a plain-Python transcription of the devkit and seeded
generators of VOC-format cases. Not used by the evaluator itself."""
