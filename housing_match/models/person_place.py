from __future__ import annotations

import uuid

from geoalchemy2 import Geography, WKBElement
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from housing_match.models.base import Base, UUIDPrimaryKey


class PersonPlace(UUIDPrimaryKey, Base):
    """A place that matters to a person's housing, by role.

    - ``anchor``: a point (hospital, support office, workplace, family) the home must be within
      ``radius_m`` of; a hard constraint when ``required``, otherwise only ranked.
    - ``preferred_area``: a polygon where the person would rather live (ranked, never required).
    - ``exclusion_zone``: a polygon, or a point with ``radius_m`` (e.g. around a victim's home);
      a home inside it is never proposed and this constraint cannot be relaxed.
    """

    __tablename__ = "person_places"
    __table_args__ = (
        CheckConstraint("role IN ('anchor', 'preferred_area', 'exclusion_zone')", name="role"),
        CheckConstraint("radius_m IS NULL OR radius_m > 0", name="radius_positive"),
        CheckConstraint(
            "role <> 'anchor' OR (kind IS NOT NULL AND radius_m IS NOT NULL)", name="anchor_details"
        ),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str | None] = mapped_column(String(32))
    # Staff's own words ("通院先"), never a name or an address of a person.
    label: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Queries take these as parameters of the one person matched, so no spatial index is needed.
    area: Mapped[WKBElement] = mapped_column(
        Geography(geometry_type="GEOMETRY", srid=4326, spatial_index=False)
    )
    radius_m: Mapped[int | None] = mapped_column(Integer)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
