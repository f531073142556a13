"""The SSD300 network, its priors, box geometry, loss and post-processing."""
