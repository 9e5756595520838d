"""Textbook steady-state results for M/M/c queues, used to validate the simulator.

Notation: ``lam`` arrival rate, ``mu`` service rate per server, ``c`` servers,
offered load ``a = lam / mu`` (Erlangs), utilisation ``rho = a / c`` (< 1).
All waits are times in queue (excluding service).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "erlang_b",
    "erlang_c",
    "mmc_mean_wait",
    "mmc_wait_quantile",
    "mmc_mean_queue_length",
    "priority_mmc_mean_waits",
]


def _check_servers(c: int) -> int:
    """Validate a server count and return it as an int."""
    if int(c) != c or c < 1:
        raise ValueError(f"c must be a positive integer, got {c!r}")
    return int(c)


def _check_stable(c: int, lam: float, mu: float) -> None:
    """Raise unless 0 <= lam < c * mu and mu > 0 (a steady state exists)."""
    if mu <= 0:
        raise ValueError(f"mu must be positive, got {mu!r}")
    if lam < 0:
        raise ValueError(f"lam must be non-negative, got {lam!r}")
    if lam >= c * mu:
        raise ValueError(f"unstable queue: lam={lam} >= c*mu={c * mu}")


def erlang_b(c: int, offered_load: float) -> float:
    """Erlang B blocking probability of an M/M/c/c loss system.

    Computed with the recursion B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)),
    which involves no factorials or powers and is stable for large ``c``.
    """
    c = _check_servers(c)
    a = float(offered_load)
    if a < 0:
        raise ValueError(f"offered_load must be non-negative, got {offered_load!r}")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, offered_load: float) -> float:
    """Erlang C: probability that an arrival has to wait in an M/M/c queue.

    ``offered_load`` is a = lam/mu and must satisfy a < c. Uses
    C = c B / (c - a (1 - B)) with B the Erlang B value, so it stays accurate
    for c in the hundreds or thousands.
    """
    c = _check_servers(c)
    a = float(offered_load)
    if not 0 <= a < c:
        raise ValueError(f"need 0 <= offered_load < c, got a={a}, c={c}")
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def mmc_mean_wait(c: int, lam: float, mu: float) -> float:
    """Mean time in queue Wq of an M/M/c FCFS queue: ErlangC / (c mu - lam)."""
    c = _check_servers(c)
    _check_stable(c, lam, mu)
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_wait_quantile(c: int, lam: float, mu: float, q: float) -> float:
    """q-quantile of the time in queue of an M/M/c FCFS queue.

    The wait is 0 with probability 1 - C and otherwise exponential with rate
    c mu - lam, i.e. P(Wq > t) = C exp(-(c mu - lam) t). The quantile is 0 when
    q <= 1 - C and ln(C / (1 - q)) / (c mu - lam) above that (inf for q = 1).
    """
    c = _check_servers(c)
    _check_stable(c, lam, mu)
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q!r}")
    p_wait = erlang_c(c, lam / mu)
    if q <= 1.0 - p_wait:
        return 0.0
    if q == 1.0:
        return math.inf
    return math.log(p_wait / (1.0 - q)) / (c * mu - lam)


def mmc_wait_cdf(c: int, lam: float, mu: float, t: float) -> float:
    """P(Wq <= t) of an M/M/c FCFS queue: 1 - C exp(-(c mu - lam) t), for t >= 0."""
    c = _check_servers(c)
    _check_stable(c, lam, mu)
    return 1.0 - erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * t)


def mmc_mean_queue_length(c: int, lam: float, mu: float) -> float:
    """Mean number waiting Lq of an M/M/c queue: C rho / (1 - rho) = lam Wq."""
    c = _check_servers(c)
    _check_stable(c, lam, mu)
    rho = lam / (c * mu)
    return erlang_c(c, lam / mu) * rho / (1.0 - rho)


def priority_mmc_mean_waits(c: int, lams: Sequence[float], mu: float) -> list[float]:
    """Mean queue waits per class in a non-preemptive priority M/M/c queue.

    Classes are given in priority order (``lams[0]`` is served first) and share
    the service rate ``mu``. Cobham's formula (A. Cobham, "Priority assignment
    in waiting line problems", J. Oper. Res. Soc. America 2(1):70-76, 1954;
    textbook form in Gross, Shortle, Thompson & Harris, *Fundamentals of
    Queueing Theory*, 4th ed., the M/M/c non-preemptive priority model):

        W_k = W0 / ((1 - s_{k-1}) (1 - s_k)),
        W0  = ErlangC(c, a) / (c mu),     a = sum(lams) / mu,
        s_k = sum_{i <= k} lam_i / (c mu),  s_0 = 0.

    With one class this is the FCFS M/M/c Wq, and the lam-weighted average of
    the W_k equals the FCFS Wq (work conservation; exact here because all
    classes have the same exponential service time).
    """
    c = _check_servers(c)
    rates = [float(x) for x in lams]
    if not rates:
        raise ValueError("lams must contain at least one class")
    if any(x < 0 for x in rates):
        raise ValueError(f"class arrival rates must be non-negative, got {rates}")
    total = sum(rates)
    _check_stable(c, total, mu)
    w0 = erlang_c(c, total / mu) / (c * mu)
    waits: list[float] = []
    s_prev = 0.0
    for lam_k in rates:
        s_k = s_prev + lam_k / (c * mu)
        waits.append(w0 / ((1.0 - s_prev) * (1.0 - s_k)))
        s_prev = s_k
    return waits
