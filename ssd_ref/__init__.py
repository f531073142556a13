"""ssd_ref: a reference SSD300 trainer faithful to the original Caffe configuration."""
