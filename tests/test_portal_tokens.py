"""Payer links: scoped, expiring on the caller's clock, tamper-evident, keyed apart from sessions."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer

from connector.portal import LINK_DAYS, LinkRefused, PortalLinks

TODAY = date(2026, 3, 10)
links = PortalLinks("s3cret-session-key", "https://collect.example.test/")


def test_a_link_opens_its_own_customer_until_it_expires() -> None:
    url = links.url(7, 42, today=TODAY)
    assert url.startswith("https://collect.example.test/pay/")
    token = url.rsplit("/", 1)[1]
    scope = links.read(token, today=TODAY)
    assert (scope.organisation_id, scope.customer_id) == (7, 42)
    assert links.read(token, today=date(2026, 5, 9)).expires_on == date(2026, 5, 9)  # day 60: still valid
    with pytest.raises(LinkRefused) as refused:
        links.read(token, today=date(2026, 5, 10))
    assert refused.value.expired


@given(position=st.integers(min_value=0, max_value=200), replacement=st.sampled_from("AZaz09-_."))
def test_any_changed_character_is_refused(position: int, replacement: str) -> None:
    token = links.token(7, 42, today=TODAY)
    i = position % len(token)
    if token[i] == replacement:
        return
    forged = token[:i] + replacement + token[i + 1 :]
    with pytest.raises(LinkRefused) as refused:
        links.read(forged, today=TODAY)
    assert not refused.value.expired


def test_a_link_signed_with_another_secret_is_refused() -> None:
    other = PortalLinks("another-installation", "https://x.test")
    with pytest.raises(LinkRefused):
        links.read(other.token(7, 42, today=TODAY), today=TODAY)


def test_a_session_style_signature_under_the_same_secret_is_not_a_link() -> None:
    session_like = URLSafeTimedSerializer("s3cret-session-key").dumps([7, 42, TODAY.toordinal() + LINK_DAYS])
    with pytest.raises(LinkRefused):
        links.read(session_like, today=TODAY)


def test_the_link_does_not_spell_out_the_customer() -> None:
    token = links.token(7, 4242, today=TODAY)
    assert "4242" not in token  # encoded, not readable at a glance (it is signed, not secret)
    assert len(token) > 40  # an HMAC-SHA256 signature: not guessable
