"""tidecv (the TIDE authors' package) run on vocmap's inputs: the oracle of the coco50 mode.

Inputs are handed over the way tidecv's own COCO loader does: every image of the
image set registered first, in order; objects in XML order, difficult ones as
ignore regions of their class (``iscrowd``); detections class by class, each in
file order; boxes converted with ``vocmap.analysis.tide_coco.voc_to_coco_boxes``.
"""

from __future__ import annotations

from vocmap.analysis.tide_coco import voc_to_coco_boxes


def run_tidecv(ground_truth, detections, classes, pos=0.5, bg=0.1):
    """(TIDE object, TIDERun) for these inputs; class ids are 1-based ``classes`` order."""
    from tidecv import TIDE, Data

    ids = {name: i + 1 for i, name in enumerate(classes)}
    gt = Data("gt", max_dets=100)
    for i, image_id in enumerate(ground_truth.image_ids):
        gt.add_image(i, image_id)
    for name, cid in ids.items():
        gt.add_class(cid, name)
    boxes = voc_to_coco_boxes(ground_truth.boxes)
    for row in range(ground_truth.object_image.shape[0]):
        name = ground_truth.class_names[ground_truth.object_class[row]]
        if name not in ids:
            continue
        image = int(ground_truth.object_image[row])
        box = [float(v) for v in boxes[row]]
        if ground_truth.difficult[row]:
            gt.add_ignore_region(image, ids[name], box)
        else:
            gt.add_ground_truth(image, ids[name], box)
    preds = Data("preds")
    for name in classes:
        d = detections[name]
        coco = voc_to_coco_boxes(d.boxes)
        for j in range(len(d)):
            preds.add_detection(
                int(d.image_index[j]), ids[name], float(d.scores[j]), [float(v) for v in coco[j]]
            )
    tide = TIDE(pos_threshold=pos, background_threshold=bg)
    run = tide.evaluate(gt, preds, name="run")
    return tide, run
