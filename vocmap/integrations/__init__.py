"""vocmap inside training frameworks, one module a framework, each importing its
framework only itself:

* :mod:`vocmap.integrations.distributed`: gather accumulators over ``torch.distributed``;
* :mod:`vocmap.integrations.torchmetrics`: a torchmetrics ``Metric`` (Lightning as is);
* :mod:`vocmap.integrations.detectron2`: a detectron2 ``DatasetEvaluator``;
* :mod:`vocmap.integrations.mmengine`: an MMEngine ``BaseMetric``;
* :mod:`vocmap.integrations.torchvision`: ground truth from ``VOCDetection`` targets.

Each gives the devkit's number, equal to ``vocmap evaluate`` on the same detections.
"""
