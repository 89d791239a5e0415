"""Evaluation of CycleGAN and its baselines (CycleGAN Section 5.1.1; pix2pix Section 4.2).

- :mod:`cyclebench.eval.segmenter`: the FCN evaluator trained on real photos (the "Ground truth" row).
- :mod:`cyclebench.eval.seg_metrics`: per-pixel accuracy, per-class accuracy and class IoU from one
  confusion matrix (official ``scripts/eval_cityscapes`` definitions).
- :mod:`cyclebench.eval.fcn_score` (labels -> photo), :mod:`cyclebench.eval.photo2label` (photo -> labels),
  :mod:`cyclebench.eval.fid` (FID/KID for every direction), :mod:`cyclebench.eval.score` (all of them for one run).
- :mod:`cyclebench.eval.rows`: the tidy CSV writer every metric file goes through.

Command line: ``cyclebench {evaluator,score,tables,plots,study,regress} ...``.
"""
