"""Training-run folders: the folder contract (shared with ssd_ref), loss history,
AP-by-step tables, and scoring every checkpoint."""
