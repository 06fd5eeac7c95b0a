"""How big and which random run: the CI versions are small and seeded; the long ones are the same tests, scaled.

    POINTS_FAULTS_SEED=1234     replay one run (every test prints the seed it used)
    POINTS_FAULTS_SCALE=10      ten times the faults, calls and examples of the CI versions
"""

from __future__ import annotations

import os
import random

SEED_ENV = "POINTS_FAULTS_SEED"
SCALE_ENV = "POINTS_FAULTS_SCALE"


def scale() -> int:
    return max(1, int(os.environ.get(SCALE_ENV, "1")))


def scaled(count: int) -> int:
    return count * scale()


def seed() -> int:
    """The seed from the environment, or a fresh one; printed so a failure can be replayed."""
    chosen = int(os.environ[SEED_ENV]) if os.environ.get(SEED_ENV) else random.SystemRandom().randrange(2**32)
    print(f"seed {chosen} (replay with {SEED_ENV}={chosen}); scale {scale()} ({SCALE_ENV})")
    return chosen
