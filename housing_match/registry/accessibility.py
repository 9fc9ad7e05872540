"""Step-free access (段差のない経路): the rule behind a wheelchair need, in one place.

A home is reached without a step when its entrance is step-free and it is on the ground floor
(1階) or the building has a lift. A basement unit is reached by stairs down, so it needs the
lift as an upper floor does. A dwelling may claim wheelchair access (車いす対応) only when
it has such a route; a person who uses a wheelchair needs both the claim (the unit itself is
usable in a wheelchair) and the route.

The rule is written twice, side by side: in Python for the registry's validation and the
explanations, and as a SQL expression for the matcher and the search. The database holds it
a third time as a check constraint on ``dwellings`` (migration 0010). A test evaluates the
three on every combination and keeps them equal.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, or_

GROUND_FLOOR = 1  # 1階: Japanese floors count from one at street level


def ground_floor_or_lift(*, floor: int, has_elevator: bool) -> bool:
    return floor == GROUND_FLOOR or has_elevator


def has_step_free_route(*, step_free_entrance: bool, floor: int, has_elevator: bool) -> bool:
    return step_free_entrance and ground_floor_or_lift(floor=floor, has_elevator=has_elevator)


def ground_floor_or_lift_sql(
    floor: SQLColumnExpression[int], has_elevator: SQLColumnExpression[bool]
) -> ColumnElement[bool]:
    return or_(floor == GROUND_FLOOR, has_elevator)


def step_free_route_sql(
    step_free_entrance: SQLColumnExpression[bool],
    floor: SQLColumnExpression[int],
    has_elevator: SQLColumnExpression[bool],
) -> ColumnElement[bool]:
    return and_(step_free_entrance, ground_floor_or_lift_sql(floor, has_elevator))


# The check constraint on dwellings (migration 0010), as the model declares it.
WHEELCHAIR_CLAIM_CHECK = (
    "NOT wheelchair_accessible OR (step_free_entrance AND (floor = 1 OR has_elevator))"
)


def wheelchair_claim_error(
    *, wheelchair_accessible: bool, step_free_entrance: bool, floor: int, has_elevator: bool
) -> str | None:
    """Why a dwelling may not claim wheelchair access, naming the fields; None when it may."""
    if not wheelchair_accessible:
        return None
    problems = []
    if not step_free_entrance:
        problems.append("step_free_entrance is false (a step at the entrance)")
    if not ground_floor_or_lift(floor=floor, has_elevator=has_elevator):
        problems.append(f"floor is {floor} and has_elevator is false (no lift to the unit)")
    if not problems:
        return None
    return (
        "wheelchair_accessible needs a step-free route (段差のない経路): a step-free entrance, "
        f"and the ground floor (floor {GROUND_FLOOR}) or a lift; here {' and '.join(problems)}"
    )
