"""The metric core: ground truth and detections as arrays, the devkit's kernels and
the general path, settings, evaluation and results. numpy and numba only; imports
no other vocmap folder."""
