"""ssd_keras's mAP evaluator, transcribed: the oracle of ``--semantics ssd_keras``.

Provenance: https://github.com/pierluigiferrari/ssd_keras, branch master, commit
3ac9adaf3889f1020d74b0eeefea281d5e82f353 (2018-05-10; the evaluator's last change is
6d6afe3, 2018-05-02, "Prevent rare division-by-zero case"). Apache License 2.0,
Copyright (C) 2018 Pierluigi Ferrari.

- ``eval_utils/average_precision_evaluator.py``: ``Evaluator.get_num_gt_per_class``,
  ``match_predictions``, ``compute_precision_recall``, ``compute_average_precisions``
  and ``compute_mean_average_precision``;
- ``bounding_box_utils/bounding_box_utils.py``: ``intersection_area_`` and ``iou``.

Transcribed statement for statement. Changed only where the code cannot run here:
``np.int`` and ``np.bool`` (removed in NumPy 1.24) are ``int`` and ``bool``; progress
bars and prints are gone, and the matching loop runs over every prediction as with
``verbose=True`` (the default of ``__call__``; with ``verbose=False`` the original
loops over ``range(len(predictions.shape))``, i.e. only the first prediction);
the data generator is a plain object holding ``labels``, ``eval_neutral`` and
``image_ids``; the unused coordinate formats of ``iou`` are left out. Everything is
called with the evaluator's defaults: ``border_pixels='include'``,
``sorting_algorithm='quicksort'``, ``ignore_neutral_boxes=True``, 11 recall points.
"""

# Transcribed code keeps the original's statements, so these style rules stay off here:
# ruff: noqa: C901, E712, E713, E714, RUF059, F841

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def intersection_area_(
    boxes1, boxes2, coords="corners", mode="outer_product", border_pixels="half"
):
    m = boxes1.shape[0]
    n = boxes2.shape[0]
    if coords == "corners":
        xmin = 0
        ymin = 1
        xmax = 2
        ymax = 3
    if border_pixels == "half":
        d = 0
    elif border_pixels == "include":
        d = 1
    elif border_pixels == "exclude":
        d = -1
    if mode == "element-wise":
        min_xy = np.maximum(boxes1[:, [xmin, ymin]], boxes2[:, [xmin, ymin]])
        max_xy = np.minimum(boxes1[:, [xmax, ymax]], boxes2[:, [xmax, ymax]])
        side_lengths = np.maximum(0, max_xy - min_xy + d)
        return side_lengths[:, 0] * side_lengths[:, 1]
    raise NotImplementedError(mode)


def iou(boxes1, boxes2, coords="centroids", mode="outer_product", border_pixels="half"):
    if boxes1.ndim > 2:
        raise ValueError
    if boxes2.ndim > 2:
        raise ValueError
    if boxes1.ndim == 1:
        boxes1 = np.expand_dims(boxes1, axis=0)
    if boxes2.ndim == 1:
        boxes2 = np.expand_dims(boxes2, axis=0)
    # The original: intersection_area_ without border_pixels, i.e. 'half' (d = 0).
    intersection_areas = intersection_area_(boxes1, boxes2, coords=coords, mode=mode)
    if coords == "corners":
        xmin = 0
        ymin = 1
        xmax = 2
        ymax = 3
    if border_pixels == "half":
        d = 0
    elif border_pixels == "include":
        d = 1
    elif border_pixels == "exclude":
        d = -1
    if mode == "element-wise":
        boxes1_areas = (boxes1[:, xmax] - boxes1[:, xmin] + d) * (
            boxes1[:, ymax] - boxes1[:, ymin] + d
        )
        boxes2_areas = (boxes2[:, xmax] - boxes2[:, xmin] + d) * (
            boxes2[:, ymax] - boxes2[:, ymin] + d
        )
    union_areas = boxes1_areas + boxes2_areas - intersection_areas
    return intersection_areas / union_areas


@dataclass
class DataGenerator:
    """What the evaluator reads of its ``DataGenerator``: per image, ``labels``
    ``[[class_id, xmin, ymin, xmax, ymax], ...]`` (ints, as ``parse_xml`` makes
    them with ``int(text)``), ``eval_neutral`` (difficult flags) and ``image_ids``."""

    labels: list
    eval_neutral: list
    image_ids: list


class Evaluator:
    def __init__(self, n_classes, data_generator, prediction_results):
        self.data_generator = data_generator
        self.n_classes = n_classes
        self.gt_format = {"class_id": 0, "xmin": 1, "ymin": 2, "xmax": 3, "ymax": 4}
        # [[(image_id, confidence, xmin, ymin, xmax, ymax), ...] per class], index 0 unused.
        self.prediction_results = prediction_results

    def __call__(self, average_precision_mode="sample", matching_iou_threshold=0.5):
        self.get_num_gt_per_class(ignore_neutral_boxes=True)
        self.match_predictions(
            ignore_neutral_boxes=True,
            matching_iou_threshold=matching_iou_threshold,
            border_pixels="include",
            sorting_algorithm="quicksort",
        )
        self.compute_precision_recall()
        self.compute_average_precisions(mode=average_precision_mode, num_recall_points=11)
        return self.compute_mean_average_precision(), self.average_precisions

    def get_num_gt_per_class(self, ignore_neutral_boxes=True):
        num_gt_per_class = np.zeros(shape=(self.n_classes + 1), dtype=int)
        class_id_index = self.gt_format["class_id"]
        ground_truth = self.data_generator.labels
        for i in range(len(ground_truth)):
            boxes = np.asarray(ground_truth[i])
            for j in range(boxes.shape[0]):
                if ignore_neutral_boxes and not (self.data_generator.eval_neutral is None):
                    if not self.data_generator.eval_neutral[i][j]:
                        class_id = boxes[j, class_id_index]
                        num_gt_per_class[class_id] += 1
                else:
                    class_id = boxes[j, class_id_index]
                    num_gt_per_class[class_id] += 1
        self.num_gt_per_class = num_gt_per_class

    def match_predictions(
        self,
        ignore_neutral_boxes=True,
        matching_iou_threshold=0.5,
        border_pixels="include",
        sorting_algorithm="quicksort",
    ):
        class_id_gt = self.gt_format["class_id"]
        xmin_gt = self.gt_format["xmin"]
        ymin_gt = self.gt_format["ymin"]
        xmax_gt = self.gt_format["xmax"]
        ymax_gt = self.gt_format["ymax"]
        ground_truth = {}
        eval_neutral_available = not (self.data_generator.eval_neutral is None)
        for i in range(len(self.data_generator.image_ids)):
            image_id = str(self.data_generator.image_ids[i])
            labels = self.data_generator.labels[i]
            if ignore_neutral_boxes and eval_neutral_available:
                ground_truth[image_id] = (
                    np.asarray(labels),
                    np.asarray(self.data_generator.eval_neutral[i]),
                )
            else:
                ground_truth[image_id] = np.asarray(labels)
        true_positives = [[]]
        false_positives = [[]]
        cumulative_true_positives = [[]]
        cumulative_false_positives = [[]]
        for class_id in range(1, self.n_classes + 1):
            predictions = self.prediction_results[class_id]
            true_pos = np.zeros(len(predictions), dtype=int)
            false_pos = np.zeros(len(predictions), dtype=int)
            if len(predictions) == 0:
                true_positives.append(true_pos)
                false_positives.append(false_pos)
                continue
            num_chars_per_image_id = len(str(predictions[0][0])) + 6
            preds_data_type = np.dtype(
                [
                    ("image_id", f"U{num_chars_per_image_id}"),
                    ("confidence", "f4"),
                    ("xmin", "f4"),
                    ("ymin", "f4"),
                    ("xmax", "f4"),
                    ("ymax", "f4"),
                ]
            )
            predictions = np.array(predictions, dtype=preds_data_type)
            descending_indices = np.argsort(-predictions["confidence"], kind=sorting_algorithm)
            predictions_sorted = predictions[descending_indices]
            tr = range(len(predictions))  # verbose=True: trange(len(predictions))
            gt_matched = {}
            for i in tr:
                prediction = predictions_sorted[i]
                image_id = prediction["image_id"]
                pred_box = np.asarray(list(prediction[["xmin", "ymin", "xmax", "ymax"]]))
                if ignore_neutral_boxes and eval_neutral_available:
                    gt, eval_neutral = ground_truth[image_id]
                else:
                    gt = ground_truth[image_id]
                gt = np.asarray(gt)
                class_mask = gt[:, class_id_gt] == class_id
                gt = gt[class_mask]
                if ignore_neutral_boxes and eval_neutral_available:
                    eval_neutral = eval_neutral[class_mask]
                if gt.size == 0:
                    false_pos[i] = 1
                    continue
                overlaps = iou(
                    boxes1=gt[:, [xmin_gt, ymin_gt, xmax_gt, ymax_gt]],
                    boxes2=pred_box,
                    coords="corners",
                    mode="element-wise",
                    border_pixels=border_pixels,
                )
                gt_match_index = np.argmax(overlaps)
                gt_match_overlap = overlaps[gt_match_index]
                if gt_match_overlap < matching_iou_threshold:
                    false_pos[i] = 1
                else:
                    if not (ignore_neutral_boxes and eval_neutral_available) or (
                        eval_neutral[gt_match_index] == False
                    ):
                        if not (image_id in gt_matched):
                            true_pos[i] = 1
                            gt_matched[image_id] = np.zeros(shape=(gt.shape[0]), dtype=bool)
                            gt_matched[image_id][gt_match_index] = True
                        elif not gt_matched[image_id][gt_match_index]:
                            true_pos[i] = 1
                            gt_matched[image_id][gt_match_index] = True
                        else:
                            false_pos[i] = 1
            true_positives.append(true_pos)
            false_positives.append(false_pos)
            cumulative_true_pos = np.cumsum(true_pos)
            cumulative_false_pos = np.cumsum(false_pos)
            cumulative_true_positives.append(cumulative_true_pos)
            cumulative_false_positives.append(cumulative_false_pos)
        self.true_positives = true_positives
        self.false_positives = false_positives
        self.cumulative_true_positives = cumulative_true_positives
        self.cumulative_false_positives = cumulative_false_positives

    def compute_precision_recall(self):
        cumulative_precisions = [[]]
        cumulative_recalls = [[]]
        for class_id in range(1, self.n_classes + 1):
            tp = self.cumulative_true_positives[class_id]
            fp = self.cumulative_false_positives[class_id]
            with np.errstate(divide="ignore", invalid="ignore"):
                cumulative_precision = np.where(tp + fp > 0, tp / (tp + fp), 0)
                cumulative_recall = tp / self.num_gt_per_class[class_id]
            cumulative_precisions.append(cumulative_precision)
            cumulative_recalls.append(cumulative_recall)
        self.cumulative_precisions = cumulative_precisions
        self.cumulative_recalls = cumulative_recalls

    def compute_average_precisions(self, mode="sample", num_recall_points=11):
        average_precisions = [0.0]
        for class_id in range(1, self.n_classes + 1):
            cumulative_precision = self.cumulative_precisions[class_id]
            cumulative_recall = self.cumulative_recalls[class_id]
            average_precision = 0.0
            if mode == "sample":
                for t in np.linspace(start=0, stop=1, num=num_recall_points, endpoint=True):
                    cum_prec_recall_greater_t = cumulative_precision[cumulative_recall >= t]
                    if cum_prec_recall_greater_t.size == 0:
                        precision = 0.0
                    else:
                        precision = np.amax(cum_prec_recall_greater_t)
                    average_precision += precision
                average_precision /= num_recall_points
            elif mode == "integrate":
                unique_recalls, unique_recall_indices, unique_recall_counts = np.unique(
                    cumulative_recall, return_index=True, return_counts=True
                )
                maximal_precisions = np.zeros_like(unique_recalls)
                recall_deltas = np.zeros_like(unique_recalls)
                for i in range(len(unique_recalls) - 2, -1, -1):
                    begin = unique_recall_indices[i]
                    end = unique_recall_indices[i + 1]
                    maximal_precisions[i] = np.maximum(
                        np.amax(cumulative_precision[begin:end]), maximal_precisions[i + 1]
                    )
                    recall_deltas[i] = unique_recalls[i + 1] - unique_recalls[i]
                average_precision = np.sum(maximal_precisions * recall_deltas)
            average_precisions.append(average_precision)
        self.average_precisions = average_precisions

    def compute_mean_average_precision(self):
        mean_average_precision = np.average(self.average_precisions[1:])
        self.mean_average_precision = mean_average_precision
        return mean_average_precision


def evaluate(image_ids, objects_per_image, classes, detections, metric="voc07", iou=0.5):
    """ssd_keras's numbers for vocmap-style inputs.

    Args:
        image_ids: the image set, in order.
        objects_per_image: per image, ``[(class, difficult, (xmin, ymin, xmax, ymax))]``
            (coordinates as written; ``int()`` as ``parse_xml`` does, which
            truncates a float).
        classes: class names; class id k + 1 is ``classes[k]``.
        detections: ``{class: [(image_id, score, (x1, y1, x2, y2)), ...]}`` in file order.

    Returns: ``(mAP, [AP per class])``.
    """
    labels, neutral = [], []
    for objects in objects_per_image:
        boxes, flags = [], []
        for name, difficult, box in objects:
            if name not in classes:
                continue
            boxes.append([classes.index(name) + 1] + [int(v) for v in box])
            flags.append(bool(difficult))
        labels.append(boxes)
        neutral.append(flags)
    predictions = [[]] + [
        [(image, score, *box) for image, score, box in detections.get(name, [])] for name in classes
    ]
    evaluator = Evaluator(
        len(classes), DataGenerator(labels, neutral, list(image_ids)), predictions
    )
    mode = "sample" if metric == "voc07" else "integrate"
    mean, aps = evaluator(average_precision_mode=mode, matching_iou_threshold=iou)
    return float(mean), [float(a) for a in aps[1:]]
