"""VOC reading, augmentation, the synthetic data set and the step-indexed samplers."""
