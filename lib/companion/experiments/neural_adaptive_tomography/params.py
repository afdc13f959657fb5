"""The parameters of notebook 05, the constraints between them and the settings of the study they imply."""

from ...params import Param, ParameterError
from ...physics.tomography.quantum import POVMS, PRIORS

PARAMETERS = (
    Param("qubits", int, choices=(1, 2), many=True),
    Param("povms", str, choices=POVMS, many=True),
    Param("true_states", str, choices=PRIORS),
    Param("n_min", int, 10, 10000),
    Param("n_max_1q", int, 100, 10**8),
    Param("n_max_2q", int, 100, 10**8),
    Param("n_states_1q", int, 2, 10000),
    Param("n_states_2q", int, 2, 10000),
    Param("n_particles_1q", int, 50, 100000),
    Param("n_particles_2q", int, 50, 100000),
    Param("mh_steps_1q", int, 0, 50),
    Param("mh_steps_2q", int, 0, 50),
    Param("adaptive_fraction", float, 0.05, 1.0),
    Param("slope_from", int, 10, 10**8),
    Param("matched_within", float, 1.0, 100.0),
    Param("check_n_max", int, 100, 10**8),
    Param("time_n_max", int, 1000, 10**9),
    Param("per_copy_n_max", int, 100, 10**7),
    Param("time_repeats", int, 1, 100),
    Param("extrapolate_to", int, 1000, 10**12),
    Param("mixed_check", bool),
    Param("retrain", bool),
    Param("train_episodes_1q", int, 1, 100000),
    Param("train_episodes_2q", int, 1, 100000),
    Param("recurrent_episodes_1q", int, 1, 100000),
    Param("recurrent_episodes_2q", int, 1, 100000),
)

METHODS = ("bayes", "neural", "recurrent")  # the filters on the doubling schedule, in the order tables show them
TIMED = ("pauli", True)  # the setting of the timing claim: adaptive basis measurements, as in ABQT


def check(p):
    """Constraints between parameters, checked before any compute."""
    if len(set(p.qubits)) != len(p.qubits) or len(set(p.povms)) != len(p.povms):
        raise ParameterError(f"parameters 'qubits' = {p.qubits!r} and 'povms' = {p.povms!r} must not repeat a value")
    for q in p.qubits:
        n_max = n_max_of(p, q)
        if n_max < 4 * p.n_min:
            raise ParameterError(f"parameter 'n_max_{q}q' = {n_max} needs at least 4 * n_min = {4 * p.n_min} "
                                 f"(three doublings) to fit a slope")
        if p.slope_from >= n_max:
            raise ParameterError(f"parameter 'slope_from' = {p.slope_from} must be below n_max_{q}q = {n_max}")
    if p.per_copy_n_max < 4 * p.n_min:
        raise ParameterError(f"parameter 'per_copy_n_max' = {p.per_copy_n_max} needs at least 4 * n_min = "
                             f"{4 * p.n_min} to fit the per-copy cost")
    if p.check_n_max < 4 * p.n_min or any(p.check_n_max > n_max_of(p, q) for q in p.qubits):
        raise ParameterError(f"parameter 'check_n_max' = {p.check_n_max} must lie between 4 * n_min = {4 * p.n_min} "
                             f"and the smallest n_max of the qubit counts studied")
    if p.time_n_max < max(n_max_of(p, q) for q in p.qubits):
        raise ParameterError(f"parameter 'time_n_max' = {p.time_n_max} must reach the largest n of the accuracy runs "
                             f"({max(n_max_of(p, q) for q in p.qubits)})")
    if "pauli" not in p.povms:
        raise ParameterError(f"parameter 'povms' = {p.povms!r} must include 'pauli' (the timing and adaptivity "
                             f"claims are about basis measurements)")


def n_max_of(p, qubits):
    """The largest copy count of the accuracy runs for ``qubits`` qubits."""
    return p.n_max_1q if qubits == 1 else p.n_max_2q


def n_states_of(p, qubits):
    """The number of true states for ``qubits`` qubits."""
    return p.n_states_1q if qubits == 1 else p.n_states_2q


def n_particles_of(p, qubits):
    """The particles per bank for ``qubits`` qubits."""
    return p.n_particles_1q if qubits == 1 else p.n_particles_2q


def mh_steps_of(p, qubits):
    """The Metropolis-Hastings moves after each resampling of the Bayes filter for ``qubits`` qubits."""
    return p.mh_steps_1q if qubits == 1 else p.mh_steps_2q


def episodes_of(p, network, qubits):
    """The training episodes of a ``network`` ("neural" or "recurrent") retrained here for ``qubits`` qubits."""
    if network == "recurrent":
        return p.recurrent_episodes_1q if qubits == 1 else p.recurrent_episodes_2q
    return p.train_episodes_1q if qubits == 1 else p.train_episodes_2q
