"""The steps of the government's ladder: what a state can do to a platform that moderates its leader.

In 2023, within days of the board's decision on the "bat" video, Cambodia's government threatened
to block Facebook, ordered Meta's staff out, declared the board's 22 members persona non grata,
and its leader moved his following to Telegram. Each of those is a step here: one class with a
``kind``, its own settings, and one method, ``act(government, now)``, which changes the world and
returns what happened, for the timeline (or None when the step no longer applies: a block while
one is in force, a second migration). The common settings say when the step becomes possible
(``threshold`` of grievance), how likely it is then (``probability``) and how long it takes
(``delay``, exponential); ``sim.model.government`` runs each as a SimPy process.

``STEPS`` is the registry the schema reads; to add a step, subclass ``RetaliationStep`` and list it
there, or pass an instance of your own subclass from Python (see docs/extending.md).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from sim.scenario.types import Frozen, Hours, NonNegative, Number, Probability


class RetaliationStep(Frozen):
    """Base of every step of the ladder."""

    threshold: NonNegative = Field(description="Grievance at which this step becomes possible.")
    probability: Probability = Field(1.0, description="Chance it is taken once the threshold is reached.")
    delay: Hours = Field("1d", description="Mean time from reaching the threshold to the step (exponential).")

    event: ClassVar[str] = "gov_step"   # the step's name in the timelines
    counter: ClassVar[str] = "steps"    # the outcome counting how often it was taken

    def act(self, government, now: float) -> str | None:
        """Take the step: change the world, and say what happened (None: nothing, the step no longer applies)."""
        raise NotImplementedError

    def tally(self, world) -> int:
        """How much one taking of the step adds to its counter (once, unless the step counts people)."""
        return 1


class Threat(RetaliationStep):
    """A public threat against the platform (nothing changes but the record)."""

    kind: Literal["threat"] = "threat"
    event: ClassVar[str] = "gov_threat"
    counter: ClassVar[str] = "threats"

    def act(self, government, now: float) -> str | None:
        """Threaten the platform in public."""
        return "public threat against the platform"


class ExpelStaff(RetaliationStep):
    """The platform's staff ordered out of the country: escalations and cross-check run slower."""

    kind: Literal["expel_staff"] = "expel_staff"
    slowdown: Annotated[Number, Field(ge=1.0)] = Field(
        2.0, description="Factor by which expelling staff slows escalations and cross-check.")
    event: ClassVar[str] = "gov_staff_expelled"
    counter: ClassVar[str] = "staff_expelled"

    def act(self, government, now: float) -> str | None:
        """Expel the staff; the platform's escalations slow down until it yields."""
        government.world.slow_escalations(self.slowdown)
        return f"platform staff expelled; escalations {self.slowdown:g}x slower"


class BarBoard(RetaliationStep):
    """The board's members declared persona non grata (counted by member)."""

    kind: Literal["bar_board"] = "bar_board"
    event: ClassVar[str] = "gov_board_barred"
    counter: ClassVar[str] = "board_members_barred"

    def act(self, government, now: float) -> str | None:
        """Bar every member of the board."""
        return f"{government.world.scenario.board.members} board members barred"

    def tally(self, world) -> int:
        """The board's members, each barred."""
        return world.scenario.board.members


class Block(RetaliationStep):
    """The platform blocked in the country: no posts, views or reports for the block's length."""

    kind: Literal["block"] = "block"
    duration: Hours = Field("7d", description="How long the block lasts.")
    user_loss: Probability = Field(0.0, description="Share of users who leave for good when the platform is blocked.")
    event: ClassVar[str] = "gov_block_start"
    counter: ClassVar[str] = "platform_blocks"

    def act(self, government, now: float) -> str | None:
        """Block the platform (not again while a block is in force); some users leave for good."""
        platform = government.world.platform
        block = platform.block(now, self.duration)
        if block is None:
            return None
        platform.lose_users(self.user_loss)
        government.world.env.process(government.block_ends(block))
        return f"platform blocked for {self.duration / 24:.0f} days; {self.user_loss:.0%} of users leave"


class Throttle(RetaliationStep):
    """The platform slowed down in the country (bandwidth throttled): fewer posts, slower views, fewer reports."""

    kind: Literal["throttle"] = "throttle"
    factor: Annotated[Number, Field(gt=1.0, le=1e6)] = Field(
        4.0, description="How many times slower the platform runs: a factor-th of the posts, views accrue factor "
                         "times more slowly, and a report is filed with chance 1/factor.")
    duration: Hours = Field("14d", description="How long the throttle lasts.")
    event: ClassVar[str] = "gov_throttle"
    counter: ClassVar[str] = "throttles"

    def act(self, government, now: float) -> str | None:
        """Throttle the platform for the step's duration."""
        government.world.platform.throttle(now, self.duration, self.factor)
        return f"platform throttled {self.factor:g}x for {self.duration / 24:.0f} days"


class Migrate(RetaliationStep):
    """The leader moves to other channels, where part of his audience follows, out of the platform's reach."""

    kind: Literal["migrate"] = "migrate"
    audience_share: Probability = Field(0.5, description="Share of the leader's audience that follows him off the platform.")
    event: ClassVar[str] = "gov_migration"
    counter: ClassVar[str] = "migrations"

    def act(self, government, now: float) -> str | None:
        """Leave the platform (once)."""
        if not government.world.platform.migrate(now, self.audience_share):
            return None
        return f"leader moves to other channels with {self.audience_share:.0%} of his audience"


STEPS = (Threat, ExpelStaff, BarBoard, Block, Throttle, Migrate)
