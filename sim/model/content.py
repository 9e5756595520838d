"""Accounts and their posts: who posts what, and how many people see it.

Only posts that can matter are entities: violating posts, and non-violating posts that someone
reports or flags. They are drawn in numpy batches (one batch per account class per simulated
day), never one event per post and never one event per view. A post's views follow a closed-form
curve, ``reach * (1 - exp(-age / decay))``: the exposure a post had before it was removed is that
curve evaluated at the removal time. Inauthentic amplification (click farms, purchased likes)
raises a post's reach, but inauthentic views never report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.model.special import ndtri
from sim.scenario.schema import AccountClass, HandlingTime, ScriptedPost

# What kind of entity a post is.
VIOLATING, BENIGN_REPORTED, BENIGN_FLAGGED, BENIGN_GOVERNMENT = 0, 1, 2, 3

# The columns of PostBatch.uniforms, each the uniform that decides one step of the post's way: the classifier's
# flag (and score), the first-line review, the cross-check review, the newsworthiness allowance, a trusted
# flagger's find, the government's flag.
U_CLASSIFIER, U_REVIEW, U_CROSS_CHECK, U_NEWSWORTHY, U_TRUSTED, U_GOVERNMENT = range(6)
# The columns of the appeal draws: whether an appeal is filed, then (PostBatch.appeal_uniforms, from column 1)
# its delay, its review, the appellant going to the board, the delay to the board, the platform's referral.
A_APPEAL, A_DELAY, A_REVIEW, A_BOARD, A_BOARD_DELAY, A_REFERRAL = range(6)


def views_by(age, reach, decay):
    """Views a post has had by a given age (hours since publication); works on arrays."""
    age = np.maximum(age, 0.0)
    return reach * -np.expm1(-age / decay)


def handling_times(spec: HandlingTime, u: np.ndarray) -> np.ndarray:
    """Review handling times (hours) from uniform variates, by inverse CDF so that one uniform per post
    gives the same post the same relative speed whatever the pool's mean (common random numbers)."""
    if spec.distribution == "fixed":
        return np.full(u.shape, spec.mean)
    if spec.distribution == "exponential":
        return -spec.mean * np.log1p(-u)
    sigma2 = math.log1p(spec.cv**2)
    return np.exp(math.log(spec.mean) - sigma2 / 2 + math.sqrt(sigma2) * ndtri(u))


def _constant(n: int, value, dtype=float) -> np.ndarray:
    """A read-only column of n equal values that takes no memory per post (a stride-0 view)."""
    return np.broadcast_to(np.asarray(value, dtype=dtype), (n,))


@dataclass
class PostBatch:
    """Posts drawn together, one array per attribute (one row per post). Attributes that an account class
    gives all its posts (class, view decay, authentic share) are read-only constant columns."""

    created: np.ndarray
    klass: np.ndarray
    author: np.ndarray
    category: np.ndarray
    severity: np.ndarray
    kind: np.ndarray
    reach: np.ndarray
    decay: np.ndarray
    authentic: np.ndarray
    # (n, 6) as drawn: classifier, review, cross-check, newsworthiness, trusted, government; None once admitted
    uniforms: np.ndarray | None
    review_hours: np.ndarray
    cross_check_hours: np.ndarray
    report_flat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    report_bounds: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    # Kept when the batch is admitted, for the steps that come later to some tickets: (n, 2) cross-check and
    # newsworthiness; (n, 5) appeal delay, appeal review, board, board delay, referral.
    escalation_uniforms: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    appeal_uniforms: np.ndarray = field(default_factory=lambda: np.zeros((0, 5)))
    source: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # what opens each post's ticket
    # Set only when a feature reads them (None otherwise): the scripted post this batch is (its own error and
    # appeal probabilities, its reporters); each post's difficulty, the quantile of its Beta error probabilities
    # (review.agreement), and its first-line error probability; per report (as report_flat), the uniform and
    # the handling time of the review it may open (review.duplicates other than boost).
    scripted: ScriptedPost | None = None
    difficulty: np.ndarray | None = None
    first_line_error: np.ndarray | None = None
    duplicate_uniforms: np.ndarray | None = None
    duplicate_hours: np.ndarray | None = None
    report_uniforms: np.ndarray | None = None  # per report: whether a throttle lets it through (throttle steps)

    def __len__(self) -> int:
        return len(self.created)


@dataclass
class ClassModel:
    """An account class prepared for drawing: its index, violation mix and reach distribution."""

    index: int
    name: str
    spec: AccountClass
    category_index: np.ndarray
    severities: np.ndarray
    violation_cdf: np.ndarray
    violation_probability: float

    @classmethod
    def build(cls, index: int, name: str, spec: AccountClass, categories: dict[str, int]) -> ClassModel:
        """Prepare an account class: cumulative violation mix and category indices."""
        probs = np.array([v.probability for v in spec.violations], dtype=float)
        total = float(probs.sum())
        cdf = np.cumsum(probs) / total if total > 0 else np.array([1.0])
        cats = np.array([categories[v.category] for v in spec.violations] or [categories["none"]], dtype=np.int64)
        sevs = np.array([v.severity for v in spec.violations] or [1], dtype=np.int64)
        return cls(index, name, spec, cats, sevs, cdf, min(total, 1.0))

    def daily_counts(self, active_share: float, days: float) -> tuple[float, float]:
        """Expected violating and non-violating posts of the whole class in a period."""
        posts = self.spec.count * self.spec.posts_per_day * days * active_share
        return posts * self.violation_probability, posts * (1.0 - self.violation_probability)

    def draw(self, rng: np.random.Generator, kind: np.ndarray, t0: float, t1: float,
             review: HandlingTime, cross_check: HandlingTime) -> PostBatch:
        """Draw the posts of the given kinds, published uniformly in [t0, t1)."""
        n = len(kind)
        spec = self.spec
        created = rng.uniform(t0, t1, n)
        pick = np.searchsorted(self.violation_cdf, rng.random(n), side="right")
        pick = np.minimum(pick, len(self.violation_cdf) - 1)
        if spec.reach_mean > 0:
            sigma2 = math.log1p(spec.reach_cv**2)
            reach = rng.lognormal(math.log(spec.reach_mean) - sigma2 / 2, math.sqrt(sigma2), n)
        else:
            reach = np.zeros(n)
        uniforms = rng.random((n, U_GOVERNMENT + 1))
        return PostBatch(
            created=created,
            klass=_constant(n, self.index, np.int64),
            author=rng.integers(0, max(spec.count, 1), n),
            category=self.category_index[pick],
            severity=self.severities[pick],
            kind=kind,
            reach=reach,
            decay=_constant(n, spec.view_decay),
            authentic=_constant(n, 1.0 - spec.inauthentic_share),
            uniforms=uniforms,
            review_hours=handling_times(review, rng.random(n)),
            cross_check_hours=handling_times(cross_check, rng.random(n)),
        )
