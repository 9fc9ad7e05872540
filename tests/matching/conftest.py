"""The matcher's tests register homes in Osaka and Sakai: the municipality governs prefecture 27."""

from __future__ import annotations

import pytest

from housing_match.models import OrganisationKind
from tests.conftest import MakeOrganisation, OrgFixture


@pytest.fixture
def municipality(make_organisation: MakeOrganisation) -> OrgFixture:
    return make_organisation(OrganisationKind.MUNICIPALITY, jurisdiction=("27",))
