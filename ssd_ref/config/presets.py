"""The presets: the Caffe reference run, its fast GPU variant, two small CPU models.

``reference_config()`` is the Caffe ``ssd_pascal.py`` SSD300 set-up, fp32 end
to end; ``fast_config()`` is the same run with bf16 autocast, channels_last,
TF32 and ``torch.compile`` on a GPU; ``tiny_config()`` keeps the 300x300 input,
the six feature maps and the 8,732 priors but shrinks every channel count, for
the synthetic data set on a CPU; ``small_config()`` is ``tiny`` made robust to
the seed. Every departure of a preset from Caffe is in the table of
ssd_ref/README.md.
"""

from __future__ import annotations

import dataclasses

from ssd_ref.config.schema import (
    SYNTHETIC_CLASSES,
    AugmentConfig,
    DataConfig,
    ModelConfig,
    RunConfig,
    SolverConfig,
    SSDConfig,
)


def reference_config() -> SSDConfig:
    """Caffe ``ssd_pascal.py``: SSD300 on VOC2007+2012 trainval, validated on VOC2007 test.

    fp32 end to end (no bf16, no TF32), Caffe's float32 priors, JPEG
    re-encoding at Caffe's three points, the same shuffled order every epoch.
    """
    return SSDConfig()


def fast_config() -> SSDConfig:
    """The reference run made for speed on a GPU: bf16 autocast, TF32, channels_last,
    torch.compile. Same data, schedule and loss; the numbers are not Caffe's fp32 ones
    (see the departures table in ssd_ref/README.md)."""
    reference = reference_config()
    return reference.replace(
        run=dataclasses.replace(
            reference.run, bf16=True, allow_tf32=True, channels_last=True, compile=True
        )
    )


def tiny_config() -> SSDConfig:
    """SSD300 geometry with 1/16 of the channels, for the synthetic set on a CPU.

    The priors, matching, loss, crop samplers and post-processing are the
    reference ones. It trains from scratch by design (``model.from_scratch``:
    no ImageNet weights), which in 400 CPU steps
    needs (measured on the synthetic set, see ssd_ref/README.md):

    * BatchNorm in the backbone (but block 1) and extras, Kaiming init, and a
      learning rate of 0.02 after a short warm-up: without BatchNorm the mAP
      after 400 steps is 0.003;
    * an L2Norm scale of 5, not 20: Caffe's 20 brings conv4_3 up to the size of
      pretrained VGG's fc7 features; BatchNorm'd features are of unit size, and
      with 20 the class scores blow up (the loss on 8 fixed images climbs back
      to 20 by step 65; with 5 it falls to 0.3);
    * lighter augmentation: no hue jitter (+-18 is half the spacing between the
      synthetic classes' hues, so it makes neighbouring classes' colours
      overlap) and expansion up to 2x instead of 4x (objects a 1/16-width model
      cannot yet see).
    """
    return SSDConfig(
        model=ModelConfig(
            from_scratch=True,
            width_mult=0.0625,
            backbone_init="kaiming",
            batch_norm=True,
            l2norm_scale=5.0,
        ),
        data=DataConfig(
            classes=SYNTHETIC_CLASSES,
            train_sets=(("SYNTH", "trainval"),),
            val_sets=(("SYNTH", "test"),),
            val_max_images=32,
            num_workers=0,
            pin_memory=False,
            epoch_order="reshuffle",
        ),
        augment=AugmentConfig(hue_prob=0.0, max_expand_ratio=2.0, jpeg_quality=None),
        solver=SolverConfig(
            batch_size=16,
            base_lr=0.02,
            milestones=(320,),
            max_iter=400,
            warmup_iters=50,
        ),
        run=RunConfig(
            log_every=10,
            checkpoint_every=100,
            val_every=100,
            eval_every=0,
            channels_last=True,
        ),
    )


#: ImageNet's per-channel standard deviation (B, G, R) in 0-255 units, rounded
#: (torchvision's 57.375, 57.12, 58.395); the synthetic images' is 50, 46, 46.
IMAGENET_STD_BGR: tuple[float, float, float] = (57.4, 57.1, 58.4)


def small_config() -> SSDConfig:
    """The tiny model made robust to the seed: the same 400 CPU steps and sizes, plus

    * unit-scale input (``model.input_std_bgr``): from scratch, 0-255 input gives
      conv1_1 a far larger effective learning rate than the rest of the network;
    * CReLU in block 1 (``model.stem_crelu``): with 4 filters, plain ReLUs can map
      a class's colour to zero in every channel at initialisation, and that class
      is then never learned (tiny: AP 0.002-0.01 for two or three classes on some
      seeds);
    * AdamW at 0.004 (``solver.optimizer``): per-parameter step sizes, so a
      class whose features switch on late still catches up before step 400
      (at 0.002 one run of 15 stayed at 0.725, cat and person lagging).

    Measured over 3 data seeds x 5 training seeds in ssd_ref/README.md.
    """
    tiny = tiny_config()
    return dataclasses.replace(
        tiny,
        model=dataclasses.replace(tiny.model, input_std_bgr=IMAGENET_STD_BGR, stem_crelu=True),
        solver=dataclasses.replace(tiny.solver, optimizer="adamw", base_lr=0.004),
    )


PRESETS = {
    "reference": reference_config,
    "fast": fast_config,
    "tiny": tiny_config,
    "small": small_config,
}
