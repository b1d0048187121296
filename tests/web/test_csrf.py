"""Every form is CSRF-protected: each POST route, sent without a token by a signed-in admin, is
refused with 400 and changes nothing. Webhooks are the one exemption (the platforms sign them)."""

from __future__ import annotations

import pytest

from tests.personas import World
from tests.web.test_access import ACCESS, RANK, VALUES, _rules, _url

#: Signed by the platforms instead (verified over the raw body, tests/plugins/*/test_webhook*).
EXEMPT = {"webhooks.deliver"}


@pytest.mark.parametrize("endpoint", sorted(ACCESS))
def test_post_without_token_is_refused(world: World, objects: dict[str, dict[str, int]], endpoint: str) -> None:
    rule = next(r for r in _rules(world.app) if r.endpoint == endpoint)
    if "POST" not in (rule.methods or set()) or endpoint in EXEMPT:
        pytest.skip("not a form")
    values = {**VALUES, **objects["A"], "org_id": world.orgs["A"]}
    who = "alice" if ACCESS[endpoint] in RANK or ACCESS[endpoint] == "signed_in" else None
    response = world.client(who).post(_url(rule, values), data={"anything": "x"})
    assert response.status_code == 400, (endpoint, response.status_code)


def test_the_check_can_fail(world: World) -> None:
    """With CSRF switched off the same post goes through: the test above is not vacuous."""
    world.app.config["WTF_CSRF_ENABLED"] = False
    response = world.client("alice").post("/logout")
    assert response.status_code == 302
