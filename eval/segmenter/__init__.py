"""The FCN evaluator: the semantic segmenter behind the FCN-score (CycleGAN Section 5.1.1).

The paper scores generated Cityscapes photos with an FCN-8s (Long et al., CVPR 2015) trained on
real Cityscapes photos by the pix2pix authors (pix2pix Section 4.2).  That model cannot be
downloaded here, so the harness trains its own on the task's **real** training photos (train
ids as targets) and keeps it fixed for every method; its id (a hash of weights and config) is
written into every metric row.  It is never a training signal for any method.

Architectures (``evaluator.arch``):

- ``fcn8s_vgg16``: FCN-8s on a torchvision VGG-16 backbone: fc6/fc7 as 7x7/1x1 convolutions,
  class scores from pool5, pool4 and pool3 fused by 2x, 2x, 8x bilinear upsampling (skip score
  layers zero-initialised, as in the official FCN).  ImageNet initialisation (the backbone and
  fc6/fc7 reshaped from the classifier) when ``imagenet_weights`` is ``torchvision`` (the file
  in torchvision's hub cache), ``auto`` (that file if present, scratch otherwise) or a path;
  scratch with ``null``.  The name says which: ``fcn8s_vgg16-imagenet`` / ``fcn8s_vgg16-scratch``.
  Inputs are normalised with the ImageNet mean/std.
- ``small_fcn``: a four-stage fully convolutional net (widths w, 2w, 4w, 8w; stride 8) whose
  class scores are fused from stride 8, 4, 2 and 1 in the FCN-8s manner; for CPU profiles.

Training (``training.train_evaluator``): real train photos -> train ids, bilinear/nearest
resize to ``load_size``, random ``input_size`` crop and horizontal flip, cross-entropy with
``ignore_index=255``, Adam with poly(0.9) learning-rate decay, seeded and deterministic.

Modules (import from them; this package file holds only this description):

- ``networks``: ``SmallFCN``, ``FCN8sVGG16``, ``build_network``, ``vgg16_cache_path``;
- ``checkpoint``: ``evaluator.pt`` -- ``Evaluator`` (load, segment, features), ``save_evaluator``,
  ``weights_id``;
- ``training``: ``load_split``, the augmented train set, ``fit``, ``score_real``,
  ``train_evaluator``.
"""
