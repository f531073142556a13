"""Reading and writing files: VOC folders and XML, the annotation cache, devkit
result files, COCO-style JSON, the text-parsing kernels, VOC-format writers."""
