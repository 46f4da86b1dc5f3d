"""The candidates of one solve (``Pool``): their figures, rules and goals, the exact value and
feasibility of an offer, and the swap searches for an incumbent. ``pool_solve`` solves a pool.

Moved out of ``optimize.py`` so that the pipeline (which candidates, which goals, what to do when
a goal is out of reach) and the solve itself stay apart.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models import mnl
from pricing.optimizer.candidates import Candidates
from pricing.optimizer.goals import GoalSet
from pricing.optimizer.incumbent import lagrangian_search, local_search
from pricing.optimizer.milp import OfferMilp
from pricing.optimizer.offer_rules import OfferRules
from pricing.optimizer.ordering import dominance_pairs
from pricing.optimizer.pruning import dominated
from pricing.optimizer.segment_bounds import segment_margin_bounds
from pricing.optimizer.status import SolveStatus

__all__ = ["Pool", "Solved", "reduce_candidates", "CUT_ROUNDS"]

# Rounds of conic tangent cuts at the root (docs/formulation.md section 3). Each round is one
# warm-started LP; they stop early once the bound stops moving.
CUT_ROUNDS = 8


def reduce_candidates(cands: Candidates, shares: np.ndarray, max_bundles: int, objective: str, *, margin=None,
            may_replace=None, off: bool = False, deadline: float | None = None) -> np.ndarray:
    """Indices of the candidates left after safe dominance pruning (all of them when ``off``).

    ``margin`` replaces the candidates' margins as the objective's per-sale weight;
    ``may_replace`` is the extra swap condition of :mod:`pricing.optimizer.swap_safety`;
    ``deadline`` (``time.perf_counter()``) ends the search early, leaving more candidates.
    """
    if len(cands) == 0 or off:
        return np.arange(len(cands))
    margin = cands.margin if margin is None else margin
    if objective == "attach":
        score = cands.attraction @ shares
    else:
        bounds = segment_margin_bounds(cands.attraction, margin, cands.set_id, cands.n_sets, max_bundles)
        score = (cands.attraction * (margin[:, None] - bounds[None, :])) @ shares
    drop = dominated(cands.attraction, margin, cands.set_id, cands.pin_mask, max_bundles, shares, score,
                     objective=objective, may_replace=may_replace, deadline=deadline)
    return np.flatnonzero(~drop)


@dataclass(frozen=True)
class Solved:
    """An answer over the pruned candidates: positions chosen, status, bound (per buyer)."""

    chosen: list[int]
    status: SolveStatus
    value: float
    bound: float | None
    nodes: int
    incumbent: float | None
    seconds: dict[str, float] = field(default_factory=dict)


def _value(attraction: np.ndarray, weight: np.ndarray, shares: np.ndarray) -> float:
    """Exact objective per buyer: ``sum_s w_s sum_b P_s(b) weight_b`` (rows = bundles offered)."""
    return float(mnl.margin_per_buyer(mnl.choice_probabilities(attraction), shares, weight)) if len(weight) else 0.0


def _feasible(attraction: np.ndarray, shares: np.ndarray, target: float, pins: np.ndarray, all_pins: int) -> bool:
    """Every pinned SKU held and the attach target met, exactly."""
    covered = 0
    for p in pins:
        covered |= int(p)
    if covered & all_pins != all_pins:
        return False
    if len(attraction) == 0:
        return target <= 0
    return float(mnl.attach_rate(mnl.choice_probabilities(attraction), shares)) >= target


def _goal_value(attraction: np.ndarray, weight: np.ndarray, shares: np.ndarray) -> float:
    """``sum_s w_s sum_b P_s(b) weight_b`` of the offer whose attractions are ``attraction``."""
    return _value(attraction, weight, shares)


def _scale(goal) -> float:
    return max(float(np.abs(goal.weight).max(initial=0.0)), abs(goal.level), 1e-12)


# Factors the searches raise the target (and goals) by, in turn, until an offer holds in every draw.
_BUMPS = (1.03, 1.07, 1.15, 1.3, 1.5, 2.0)


@dataclass(frozen=True)
class Pool:
    """The pruned candidates of one solve and how an offer of them is judged, exactly."""

    attraction: np.ndarray
    margin: np.ndarray
    set_id: np.ndarray
    pins: np.ndarray
    shares: np.ndarray
    settings: Any
    all_pins: int
    objective: str
    goals: GoalSet | None = None
    rules: OfferRules | None = None
    draws: np.ndarray | None = None
    ordering: bool = False  # add the dominance ordering rows (valid only where pruning's plain swap is)
    cut_rounds: int = CUT_ROUNDS
    # (candidates,) mask of where the incumbent searches first (``None``: everywhere); it only
    # picks a start, so any subset is safe (in a priced pool, the best offered bounds:
    # ``root_reduction.priced_start``).
    search: np.ndarray | None = None
    # An offer (positions) the swap search also starts from (:meth:`improved`): the LP's rounded
    # answer, or the last constraint-generation round's answer (``optimize._solve_scenarios``).
    start: tuple[int, ...] | None = None

    @property
    def target(self) -> float:
        return self.settings.attach_rate if self.objective == "margin" else 0.0

    @property
    def weight(self) -> np.ndarray:
        return self.margin if self.objective == "margin" else np.ones(len(self.margin))

    @property
    def other_goals(self) -> tuple:
        """Goals other than the attach target (which has its own row)."""
        return () if self.goals is None else tuple(g for g in self.goals.goals if g.name != "attach_rate")

    @property
    def draw_goals(self) -> tuple:
        return () if self.goals is None or self.draws is None else self.goals.goals

    def milp(self, bounds=None, *, with_draws: bool = True, ordering: bool = False, own_rows: bool = True) -> OfferMilp:
        """The program over this pool; ``with_draws=False`` leaves out the draw copies (a
        relaxation of the full program: fewer rows, the same offers or more); ``ordering`` adds
        the dominance ordering rows where they are valid (``self.ordering``); ``own_rows=False``
        leaves out each candidate's own rows (``OfferMilp``, for column generation only)."""
        draws = self.draws if with_draws else None
        milp = OfferMilp(self.attraction, self.margin, self.set_id, self.pins, self.shares,
                         self.settings.max_bundles, self.target, self.all_pins, self.objective, bounds,
                         goals=self.other_goals, rules=self.rules, draws=draws,
                         draw_goals=self.draw_goals if with_draws else (), own_rows=own_rows)
        if ordering:
            self.add_ordering_rows(milp)
        return milp

    def add_ordering_rows(self, milp: OfferMilp) -> None:
        """The dominance ordering rows, when valid here (margin objective, ``self.ordering``).
        They come last: computing the pairs costs about an LP (1.2 s at 1,040 candidates), so
        only the final program, over the fewest candidates, gets them."""
        if self.objective == "margin" and self.ordering:
            milp.add_dominance_rows(self.dominance)

    @functools.cached_property
    def dominance(self) -> np.ndarray:
        """(dominated, dominator) pairs for the MILP's ordering rows (margin objective only: the
        swap must strictly gain or break a tie by index)."""
        return dominance_pairs(self.attraction, self.margin, self.set_id, self.pins, self.settings.max_bundles,
                               self.shares)

    def subset(self, keep: np.ndarray) -> "Pool":
        """The same solve over the candidates at positions ``keep`` only."""
        keep = np.asarray(keep, dtype=np.int64)
        return dataclasses.replace(
            self, attraction=self.attraction[keep], margin=self.margin[keep], set_id=self.set_id[keep],
            pins=self.pins[keep], goals=None if self.goals is None else self.goals.subset(keep),
            rules=None if self.rules is None else self.rules.subset(keep),
            draws=None if self.draws is None else self.draws[:, keep],
            search=None if self.search is None else self.search[keep], start=_renumbered(self.start, keep))

    def rounded(self, z: np.ndarray) -> tuple[int, ...]:
        """An offer from LP values ``z`` (candidates,): the candidates with ``z > 0`` from the
        largest, each taken when its SKU set is not in yet and the offer rules let it join, up
        to ``max_bundles``."""
        chosen: list[int] = []
        allowed = np.ones(len(z), dtype=bool)  # not of a set in the offer, and let join by the rules
        for c in np.argsort(-z, kind="stable")[:int((z > 1e-9).sum())]:
            if len(chosen) == self.settings.max_bundles:
                break
            if not allowed[c]:
                continue
            chosen.append(int(c))
            allowed &= self.set_id != self.set_id[c]
            if self.rules is not None:
                allowed &= self.rules.compatible_with(chosen)
        return tuple(chosen)

    def good(self, option) -> bool:
        """Every rule and goal kept, exactly (goals to a relative 1e-9 of their scale)."""
        option = list(option)
        if not _feasible(self.attraction[option], self.shares, self.target, self.pins[option], self.all_pins):
            return False
        if self.rules is not None and not self.rules.allows(option):
            return False
        checks = [(self.attraction, g) for g in self.other_goals]
        if self.draws is not None:
            checks += [(v, g) for v in self.draws for g in self.draw_goals]
        return all(_goal_value(v[option], g.weight[option], self.shares) >= g.level - 1e-9 * _scale(g)
                   for v, g in checks)

    def value(self, option) -> float:
        return _value(self.attraction[option], self.weight[option], self.shares)

    def _search_args(self) -> tuple[tuple, dict]:
        """Positional and keyword arguments of the swap searches over this pool."""
        args = (self.attraction, self.weight, self.set_id, self.pins, self.shares, self.settings.max_bundles,
                self.target, self.all_pins)
        others = self.other_goals
        extra = dict(compatible=None if self.rules is None else self.rules.compatible_with,
                     goals=(np.stack([g.weight for g in others], axis=1), np.array([g.level for g in others]))
                     if others else None)
        return args, extra

    def _bumped(self, args: tuple, extra: dict, factor: float) -> tuple[tuple, dict]:
        """The searches' arguments with the target (and goals) raised by ``factor``: the searches
        see the model's coefficients only, and ask for more to meet every draw too."""
        higher = (*args[:6], min(self.target * factor, 0.999), self.all_pins)
        goals = extra["goals"]
        return higher, dict(extra, goals=None if goals is None else
                            (goals[0], goals[1] + (factor - 1.0) * np.abs(goals[1])))

    def improved(self, start) -> list[int] | None:
        """The swap search's improvement of the offer ``start`` (positions), or ``None`` when it
        breaks a rule or goal; with draws, asking for a higher target until it holds in each."""
        args, extra = self._search_args()
        found = list(local_search(*args, start=list(start), **extra))
        factors = _BUMPS if self.draws is not None and self.target > 0 else ()
        for factor in factors:
            if found and self.good(found):
                break
            higher, bumped = self._bumped(args, extra, factor)
            found = list(local_search(*higher, start=list(start), **bumped))
        return found if found and self.good(found) else None

    def incumbent(self, widen: bool = True) -> list[int] | None:
        """The best feasible offer of the swap searches (plain, and with a price on attach rate
        bisected to the target), or ``None``; over ``search`` first, over all when that finds none
        (and ``widen``)."""
        if self.search is not None and 0 < int(self.search.sum()) < len(self.search):
            where = np.flatnonzero(self.search)
            found = dataclasses.replace(self.subset(where), search=None).incumbent()
            if found is not None or not widen:
                return None if found is None else [int(where[c]) for c in found]
        args, extra = self._search_args()
        options = [local_search(*args, **extra)]
        if self.target > 0:
            options += lagrangian_search(*args, **extra)
        feasible = [list(o) for o in options if self.good(o)]
        repaired = self.improved(self.start) if self.start else None
        if repaired is not None:
            feasible.append(repaired)
        if self.draws is not None and self.target > 0:
            # The searches see the model's coefficients only: ask them for a higher target (and
            # goals) until what they find holds in every draw too.
            for factor in _BUMPS:
                if feasible:
                    break
                higher, bumped = self._bumped(args, extra, factor)
                feasible = [list(o) for o in lagrangian_search(*higher, **bumped) if self.good(o)]
        return max(feasible, key=self.value) if feasible else None


def _renumbered(offer: tuple[int, ...] | None, keep: np.ndarray) -> tuple[int, ...] | None:
    """``offer`` (positions) in the numbering of the subset ``keep``, less what ``keep`` leaves out."""
    if offer is None:
        return None
    where = {int(k): i for i, k in enumerate(keep)}
    return tuple(where[c] for c in offer if c in where)
