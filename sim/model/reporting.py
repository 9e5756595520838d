"""How posts enter review: user reports, the proactive classifier, trusted flaggers, the government.

Reports arrive as a Poisson process whose intensity is the report probability times the rate of
authentic views, so a post's reports are drawn all at once: their number is Poisson with mean
``report_probability * authentic reach`` and each time is a draw from the view curve (an
exponential with the curve's decay time). No viewer is simulated. The first signal (classifier at
creation, first report, trusted flag, government flag) opens a review ticket; later reports on
the same post raise its priority, not the load, unless ``review.duplicates`` makes them reviews of
their own (see World._report_filed).

The classifier is binormal: violating posts score N(d', 1), others N(0, 1); it flags above a
threshold. Its recall and false-positive rate fix d' and the threshold, and the score gives the
probability of violation that the ``expected_harm`` policy uses.
"""

from __future__ import annotations

import numpy as np

from sim.model.content import BENIGN_FLAGGED, BENIGN_REPORTED, VIOLATING, PostBatch
from sim.model.special import ndtri

# Where a ticket came from.
SOURCES = ("classifier", "report", "trusted_flagger", "government", "none")
CLASSIFIER, REPORT, TRUSTED, GOVERNMENT, NO_SOURCE = range(5)
_EPS = 1e-6


class ClassifierModel:
    """The binormal classifier fixed by its recall and false-positive rate."""

    def __init__(self, recall: float, false_positive_rate: float):
        self.recall = recall
        self.false_positive_rate = false_positive_rate
        r = min(max(recall, _EPS), 1 - _EPS)
        f = min(max(false_positive_rate, _EPS), 1 - _EPS)
        self.threshold = float(ndtri(1 - f))
        self.separation = max(self.threshold - float(ndtri(1 - r)), 0.0)

    def scores(self, kind: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Classifier scores consistent with who it flagged (u < recall flags a violating post)."""
        u = np.clip(u, _EPS, 1 - _EPS)
        f = min(max(self.false_positive_rate, _EPS), 1 - _EPS)
        score = np.empty(len(u))
        violating = kind == VIOLATING
        score[violating] = self.separation + ndtri(1 - u[violating])
        flagged = kind == BENIGN_FLAGGED
        score[flagged] = ndtri(1 - f + f * u[flagged])
        reported = kind == BENIGN_REPORTED
        score[reported] = ndtri((1 - f) * u[reported])
        others = ~(violating | flagged | reported)
        score[others] = ndtri(u[others])
        return score

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Posterior chance that posts with these scores violate, with an even prior."""
        d = self.separation
        return 1.0 / (1.0 + np.exp(-(d * scores - d * d / 2)))


def report_counts(batch: PostBatch, rng: np.random.Generator, report_probability: float,
                  reports_per_benign: float) -> np.ndarray:
    """How many reports each post gets over its life: Poisson in its authentic views if violating,
    at least one if it is a reported non-violating post, none otherwise."""
    expected = np.where(batch.kind == VIOLATING, report_probability * batch.reach * batch.authentic, 0.0)
    counts = rng.poisson(expected)
    benign = batch.kind == BENIGN_REPORTED
    counts[benign] = 1 + rng.poisson(max(reports_per_benign - 1.0, 0.0), int(benign.sum()))
    return counts


def draw_reports(batch: PostBatch, rng: np.random.Generator, counts: np.ndarray) -> None:
    """Draw every post's report times (absolute hours, sorted) from its view curve."""
    n = len(batch)
    total = int(counts.sum())
    if total == 0:
        batch.report_flat, batch.report_bounds = np.zeros(0), np.zeros(n + 1, dtype=np.int64)
        return
    owner = np.repeat(np.arange(n), counts)
    times = batch.created[owner] + rng.exponential(1.0, total) * batch.decay[owner]
    batch.report_flat = times[np.lexsort((times, owner))]
    batch.report_bounds = np.concatenate(([0], np.cumsum(counts)))


def entry_times(batch: PostBatch, flagged_by_classifier: np.ndarray, trusted: np.ndarray, trusted_delay: float,
                government: np.ndarray, government_delay: float, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """When and by which source each post first enters review (inf and NO_SOURCE when never)."""
    n = len(batch)
    starts, ends = batch.report_bounds[:-1], batch.report_bounds[1:]
    padded = np.append(batch.report_flat, np.inf)
    first_report = np.where(ends > starts, padded[starts], np.inf)
    candidates = np.full((n, 4), np.inf)
    candidates[:, CLASSIFIER] = np.where(flagged_by_classifier, batch.created, np.inf)
    candidates[:, REPORT] = first_report
    candidates[:, TRUSTED] = np.where(trusted, batch.created + rng.exponential(trusted_delay, n), np.inf)
    gov_delay = rng.exponential(government_delay, n)
    candidates[:, GOVERNMENT] = np.where(government, batch.created + gov_delay, np.inf)
    source = np.argmin(candidates, axis=1) if n else np.zeros(0, dtype=np.int64)
    entry = candidates[np.arange(n), source] if n else np.zeros(0)
    source = np.where(np.isfinite(entry), source, NO_SOURCE)
    return entry, source
