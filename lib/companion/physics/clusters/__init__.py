"""Galaxy clusters in X-rays and the cavities AGN jets blow in them, and three ways to find those cavities.

- ``projection``: one cluster's image, a 3-D beta model with spheroidal cavities projected along the line of sight;
- ``simulation``: samples drawn from a prior, rendered once and observed as Poisson counts at any level;
- ``nets``: the segmentation networks (a U-Net, the paper's Inception-style net) and the ResNet radius decoder;
- ``candidates``: connected pixels above a threshold, matched to the truth, cropped for the decoder;
- ``training``: training the segmenter and the decoder;
- ``baselines``: a beta-model fit's residual significance and an unsharp mask.
"""
