"""Contract pull-request review: what a change breaks, for whom, and what it would have done to
the latest real deliveries. The classification itself is `checks.diff` (usable without us)."""

from shelfguard.review.runner import review

__all__ = ["review"]
