"""A pyabc sampler that streams each generation's proposals to modsim's executors.

pyabc hands a sampler ``simulate_one``, which draws a proposal (from the prior, or by perturbing a
particle of the last generation), simulates it and accepts or rejects it, all in one call. The draws
never depend on a simulation's result, so each proposal is met twice, in two passes over the same
random draws:

1. **recording**: ``simulate_one`` is called while the model only records the proposal
   (``ProposalModel`` in ``record`` mode), and the proposal is handed to the executor at once;
2. **replay**: once its result and those of every earlier proposal have arrived, ``simulate_one`` is
   called again for it, the model now returning its result (``replay`` mode), so pyabc computes its
   distance, acceptance and weight itself.

Each pass keeps its own place in numpy's global random state (pyabc draws from it), and draws from
the prior come from ``IndexedPrior``, whose draw ``k`` depends only on (seed, generation, k). Recording
runs ahead of replay by at most ``window`` proposals: as a worker finishes one, the next is recorded
and submitted, so no worker waits for a batch to end. The generation takes its proposals in order
until ``n`` are accepted; what was still running then is not counted. Its population is therefore the
same whatever the window, the number of workers, the executor or the order in which results arrive:
same seed, same posterior.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

import numpy as np
import pyabc

from sim.calibration.priors import Prior, prior_draw

Proposals = Callable[[], list[tuple[int, dict]]]
Stream = Callable[[int, Proposals, Callable[[int, dict], None], Callable[[], bool]], None]


class ProposalModel(pyabc.Model):
    """The model pyabc sees: it records proposals, or replays the results evaluated for them."""

    def __init__(self, names: list[str], observed: dict) -> None:
        super().__init__("modsim")
        self.names = names
        self.observed = dict(observed)
        self.recording = False
        self.recorded: list[dict] = []
        self.results: deque = deque()

    def sample(self, pars) -> dict:
        values = {name: float(pars[name]) for name in self.names}
        if self.recording:
            self.recorded.append(values)
            return dict(self.observed)  # a placeholder: this pass's particles are thrown away
        expected, stats = self.results.popleft()
        if expected != values:
            raise RuntimeError("pyabc proposed other parameters on replay than on recording (its random draws "
                               "are no longer reproducible)")
        return dict(stats)


class IndexedPrior(pyabc.Distribution):
    """The priors as pyabc sees them: their densities, and draw ``k`` of generation ``t`` from ``prior_draw``
    (the sampler says which draw comes next with ``at``)."""

    def __init__(self, priors: list[Prior], seed: int) -> None:
        super().__init__(**{p.name: pyabc.RV("uniform", p.bounds()[0], p.bounds()[1] - p.bounds()[0])
                            for p in priors})
        self.priors, self.seed = priors, seed
        self.next: tuple[int, int] = (0, 0)

    def at(self, t: int, k: int) -> None:
        """The next draw is proposal ``k`` of generation ``t``."""
        self.next = (t, k)

    def rvs(self, *args, **kwargs) -> pyabc.Parameter:  # noqa: ARG002 - pyabc's signature
        return pyabc.Parameter(prior_draw(self.priors, self.seed, *self.next))

    def copy(self) -> "IndexedPrior":
        return IndexedPrior(self.priors, self.seed)


class StreamingSampler(pyabc.sampler.Sampler):
    """Sample until ``n`` proposals are accepted, streaming them to ``stream``.

    ``stream(t, propose, arrived, enough)`` simulates the proposals ``propose()`` returns (index, values),
    calls ``arrived(index, stats)`` as each result comes, in any order, and asks ``propose()`` again after
    each, until it returns nothing and nothing runs, or ``enough()`` (n accepted: what still runs is not
    waited for). ``window(n, accepted, tried)`` says how many
    proposals may be recorded beyond those replayed; ``on_progress(t, accepted, n)`` is told after each
    result.
    """

    def __init__(self, model: ProposalModel, prior: IndexedPrior, stream: Stream,
                 window: Callable[[int, int, int], int],
                 on_progress: Callable[[int, int, int], None] = lambda t, a, n: None) -> None:
        super().__init__()
        self.model, self.prior = model, prior
        self.stream, self.window, self.on_progress = stream, window, on_progress

    def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False, ana_vars=None):
        """pyabc's entry point: a Sample holding the proposals up to (and with) the n-th accepted one."""
        sample = self._create_empty_sample()
        model = self.model
        recording_state = replay_state = np.random.get_state()
        proposals: list[dict] = []
        arrived: dict[int, dict] = {}
        accepted = tried = 0

        def call(k: int, state, recording: bool):
            np.random.set_state(state)
            self.prior.at(t, k)
            model.recording = recording
            particle = simulate_one()
            return particle, np.random.get_state()

        def propose() -> list[tuple[int, dict]]:
            nonlocal recording_state
            if accepted >= n:
                return []
            limit = min(tried + max(int(self.window(n, accepted, tried)), 1), max_eval)
            first = len(proposals)
            while len(proposals) < limit:
                model.recorded = []
                _, recording_state = call(len(proposals), recording_state, True)
                proposals.extend(model.recorded)
            return list(enumerate(proposals[first:], start=first))

        def on_result(k: int, stats: dict) -> None:
            nonlocal replay_state, tried, accepted
            arrived[k] = stats
            while tried in arrived and accepted < n:
                model.results.append((proposals[tried], arrived.pop(tried)))
                particle, replay_state = call(tried, replay_state, False)
                sample.append(particle)
                tried += 1
                accepted += bool(particle.accepted)
            self.on_progress(t, accepted, n)

        self.stream(t, propose, on_result, lambda: accepted >= n)
        model.recording = False
        model.results.clear()
        np.random.set_state(replay_state)  # where the n-th accepted proposal's draws ended, as in a serial run
        self.nr_evaluations_ = tried
        if sample.n_accepted < n:
            sample.ok = False
        return sample
