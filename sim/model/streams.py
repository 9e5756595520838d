"""Independent random streams, one per source of randomness.

If a post is reported at hour 31 in the base case, it must be reported at hour 31 in the
counterfactual too: that is why every source of randomness (each account class's posts, each
scripted post, each detection channel) draws from its own stream, named by what it feeds, and
why the stream of a name depends only on the run's seed, the replication number and that name.
Two scenarios that differ in one review policy therefore see the same posts and the same reports
(common random numbers), and their paired difference has a narrow interval.
"""

from __future__ import annotations

import zlib

import numpy as np


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    """The seed sequence of one replication: the same for any executor and any order of work."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(replication,))


class Streams:
    """Named random generators of one replication, created on first use."""

    def __init__(self, root: np.random.SeedSequence):
        self._root = root
        self._streams: dict[str, np.random.Generator] = {}

    def get(self, name: str) -> np.random.Generator:
        """The generator for one named source of randomness (e.g. ``accounts/ordinary``)."""
        stream = self._streams.get(name)
        if stream is None:
            key = (*self._root.spawn_key, zlib.crc32(name.encode("utf-8")))
            seq = np.random.SeedSequence(entropy=self._root.entropy, spawn_key=key)
            stream = self._streams[name] = np.random.Generator(np.random.PCG64(seq))
        return stream
