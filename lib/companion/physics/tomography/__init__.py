"""Quantum state tomography (notebook 05): states and POVMs, the measurement schemes, the Bayesian particle
filter, the runs that track true states through rounds of copies, the learned resampler and the recurrent update."""
