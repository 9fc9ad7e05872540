"""Assigning many people to many homes: an exact optimum, and the greedy baseline it beats.

Pure functions over a sparse table of scores: a (person index, vacancy) pair is feasible
exactly when it has a score. Infeasible pairs are -inf in the optimiser's matrix, so they can
never be chosen, and each person also has a "stay unassigned" column, so the optimiser never
has to choose one.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

import numpy as np
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

from housing_match.matching.schemas import AllocationObjective

K = TypeVar("K", bound=Hashable)

# Leaving someone unassigned costs a hair, so a feasible home scored 0 still beats no home.
UNASSIGNED_VALUE = -1e-9


def optimal_assignment(
    scores: Mapping[tuple[int, K], float],
    person_count: int,
    objective: AllocationObjective = AllocationObjective.TOTAL_SCORE,
) -> dict[int, K]:
    """Each person at most one vacancy and each vacancy at most one person, maximising the
    sum of scores (or, for ``most_housed``, the number housed and then the sum)."""
    if person_count == 0 or not scores:
        return {}
    vacancies = sorted({vacancy for _, vacancy in scores}, key=str)
    column = {vacancy: index for index, vacancy in enumerate(vacancies)}
    matrix = np.full((person_count, len(vacancies) + person_count), -np.inf)
    matrix[:, len(vacancies) :] = UNASSIGNED_VALUE
    # A bonus larger than any possible sum of scores makes the count housed come first.
    bonus = 0.0
    if objective is AllocationObjective.MOST_HOUSED:
        bonus = 1.0 + sum(abs(score) for score in scores.values())
    for (person, vacancy), score in scores.items():
        matrix[person, column[vacancy]] = score + bonus
    rows, columns = linear_sum_assignment(matrix, maximize=True)
    assignment: dict[int, K] = {}
    for person, index in zip(rows.tolist(), columns.tolist(), strict=True):
        if index < len(vacancies) and np.isfinite(matrix[person, index]):
            assignment[int(person)] = vacancies[index]
    return assignment


def greedy_assignment(scores: Mapping[tuple[int, K], float]) -> dict[int, K]:
    """The best remaining pair first: what a person with a spreadsheet would do."""
    assignment: dict[int, K] = {}
    taken: set[K] = set()
    for (person, vacancy), _ in sorted(
        scores.items(), key=lambda item: (-item[1], item[0][0], str(item[0][1]))
    ):
        if person not in assignment and vacancy not in taken:
            assignment[person] = vacancy
            taken.add(vacancy)
    return assignment


def total_score(scores: Mapping[tuple[int, K], float], assignment: Mapping[int, K]) -> float:
    return sum(scores[(person, vacancy)] for person, vacancy in assignment.items())
