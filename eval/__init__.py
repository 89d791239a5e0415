"""Evaluation of CycleGAN and its baselines (CycleGAN Section 5.1.1; pix2pix Section 4.2).

- :mod:`eval.segmenter`: the FCN evaluator trained on real photos (the "Ground truth" row).
- :mod:`eval.seg_metrics`: per-pixel accuracy, per-class accuracy and class IoU from one
  confusion matrix (official ``scripts/eval_cityscapes`` definitions).
- :mod:`eval.fcn_score` (labels -> photo), :mod:`eval.photo2label` (photo -> labels),
  :mod:`eval.fid` (FID/KID for every direction), :mod:`eval.score` (all of them for one run).
- :mod:`eval.rows`: the tidy CSV writer every metric file goes through.

Command line: ``python -m eval {train-evaluator,score,tables,plots,regress} ...``.
"""
