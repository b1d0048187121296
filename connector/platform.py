"""The contract between arcadence and an accounting platform (QuickBooks Online, Xero).

A plugin provides one class implementing :class:`Platform`, registered in the
``arcadence.platforms`` entry-point group (see :mod:`connector.registry`). Everything a plugin
returns is made of :mod:`core.model` records and the small values below; everything it raises is
a :class:`connector.errors.PlatformError`. Plugins know nothing of Flask or of the store: tokens
reach them through a :class:`TokenSource`, which refreshes through the encrypted token store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Protocol, TypeAlias, runtime_checkable

from connector.tokens import TokenSet
from core.model import Credit, Customer, Invoice, Payment


class Entity(StrEnum):
    """What incremental sync fetches, one cursor each."""

    CUSTOMER = "customer"
    INVOICE = "invoice"
    PAYMENT = "payment"
    CREDIT_NOTE = "credit_note"
    OVERPAYMENT = "overpayment"
    PREPAYMENT = "prepayment"


@dataclass(frozen=True, slots=True)
class OrgRef:
    """An organisation as the platform describes it.

    Attributes:
        external_id: QBO realm id or Xero tenant id.
        name: the company's name.
        country: ISO 3166-1 alpha-2 code, when the platform says.
        base_currency: ISO 4217 home currency, when the platform says.
        timezone: IANA time zone, when the platform says.
        connection_ref: the platform's id of the grant-to-organisation link (Xero connection id).
    """

    external_id: str
    name: str
    country: str | None = None
    base_currency: str | None = None
    timezone: str | None = None
    connection_ref: str | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """The outcome of a completed OAuth consent.

    Attributes:
        tokens: the token set to store (encrypted).
        organisations: the organisations the consent covers (QBO: one; Xero: one per tenant).
        user_email: the signed-in person's verified email, when OpenID Connect was asked for.
        user_name: the signed-in person's name, when known.
        grant_ref: the platform's id of the grant (Xero authEventId, QBO realm id).
    """

    tokens: TokenSet
    organisations: tuple[OrgRef, ...]
    user_email: str | None = None
    user_name: str | None = None
    grant_ref: str | None = None


DomainRecord: TypeAlias = Customer | Invoice | Payment | Credit


@dataclass(frozen=True, slots=True)
class Fetched:
    """One record as fetched: the mapped domain record (or None when deleted) and the raw payload.

    Attributes:
        entity: what it is.
        external_id: the platform's id.
        record: the mapped record; None for a deleted record.
        raw: the payload as received, for audit and quarantine.
        deleted: True when the platform reports the record deleted.
        updated_at: the platform's last-modified instant (UTC), when it says.
    """

    entity: Entity
    external_id: str
    record: DomainRecord | None
    raw: Mapping[str, Any] = dataclass_field(repr=False)
    deleted: bool = False
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A record that could not be mapped: quarantined with its payload, then skipped.

    Attributes:
        entity: what it should have been.
        external_id: its id if it had a readable one, else ``""``.
        field: the path of the field at fault (``Line[2].Amount``).
        error: what is wrong, in one line.
        payload: the raw record.
    """

    entity: Entity
    external_id: str
    field: str
    error: str
    payload: Mapping[str, Any] = dataclass_field(repr=False)


@dataclass(frozen=True, slots=True)
class ChangePage:
    """One page of changes of one entity.

    Attributes:
        entity: the entity of every record on the page.
        records: the records that mapped (including deletions).
        bad: the records that did not.
        cursor: where the next fetch starts once this page is stored; None when the platform
            gives no cursor for this page (the caller keeps the old one until the last page).
    """

    entity: Entity
    records: tuple[Fetched, ...]
    bad: tuple[BadRecord, ...]
    cursor: datetime | None


@dataclass(frozen=True, slots=True)
class WebhookNotice:
    """One verified webhook event: what changed, to be fetched by id (events carry no body).

    Attributes:
        external_org_id: realm or tenant id.
        entity: the entity concerned.
        external_id: the record's id.
        operation: create, update, delete, void, merge …, as the platform names it (lower case).
        occurred_at: when it happened on the platform (UTC).
    """

    external_org_id: str
    entity: Entity
    external_id: str
    operation: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class PlatformConfig:
    """How arcadence reaches one platform (from ``ARCADENCE_<PLATFORM>_*`` variables).

    Attributes:
        client_id: the OAuth client id of the arcadence app.
        client_secret: its secret.
        redirect_uri: the OAuth callback URL registered with the platform.
        identity_url: QBO: the OpenID discovery document URL; Xero: the identity base URL.
        api_base: the accounting API base URL (``…/v3`` for QBO, ``…/api.xro/2.0`` for Xero).
        webhook_key: the key webhooks are signed with (QBO verifier token, Xero webhook key).
        scopes: which OAuth scope set to ask for, as the plugin names them (Xero: ``granular`` or
            ``broad``); empty for the plugin's default.
    """

    client_id: str
    client_secret: str = dataclass_field(repr=False)
    redirect_uri: str = ""
    identity_url: str = ""
    api_base: str = ""
    webhook_key: str = dataclass_field(default="", repr=False)
    scopes: str = ""


class TokenSource(Protocol):
    """Gives a plugin the current tokens of a grant, and refreshes them through the store."""

    def current(self) -> TokenSet:
        """The latest stored tokens."""
        ...

    def refreshed(self, stale: TokenSet) -> TokenSet:
        """Tokens newer than ``stale``: refreshed once (serialised per connection) or already
        refreshed by someone else. Raises :class:`connector.errors.AuthRevoked` if the grant is gone."""
        ...


@dataclass(frozen=True, slots=True)
class OrgAccess:
    """What a plugin needs to call the API of one organisation.

    Attributes:
        external_id: realm or tenant id.
        tokens: the grant's tokens.
        base_currency: the organisation's home currency (amounts without a currency are in it).
        stored_pay_urls: the pay-now URLs the store already holds, for the given invoice ids (id →
            URL); a platform whose pay link costs a call asks here first, so each link is fetched
            once. None where there is no store behind (tests, the connect step).
    """

    external_id: str
    tokens: TokenSource
    base_currency: str = "EUR"
    stored_pay_urls: Callable[[Sequence[str]], Mapping[str, str]] | None = dataclass_field(
        default=None, compare=False, repr=False
    )


@runtime_checkable
class Platform(Protocol):
    """One accounting platform. Every method raises :class:`connector.errors.PlatformError`
    subclasses only (``AuthRevoked``, ``RateLimited``, ``TemporaryFailure``)."""

    name: ClassVar[str]
    """Entry-point name: ``quickbooks`` or ``xero``."""
    display_name: ClassVar[str]
    """What people read: ``QuickBooks Online``, ``Xero``."""
    entities: ClassVar[tuple[Entity, ...]]
    """What this platform syncs, in sync order (customers first)."""

    def authorize_url(self, *, redirect_uri: str, state: str, code_verifier: str | None, sign_in: bool) -> str:
        """The consent page to send the user to (PKCE challenge from ``code_verifier`` where supported;
        ``sign_in`` adds the OpenID Connect scopes)."""
        ...

    def exchange_code(
        self,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str | None,
        callback_params: Mapping[str, str],
        sign_in: bool,
        now: datetime,
    ) -> Grant:
        """Trade the callback's authorization code for tokens and the organisations they cover
        (``sign_in``: the consent asked for OpenID Connect, so the person's identity is read too)."""
        ...

    def refresh(self, tokens: TokenSet, *, now: datetime) -> TokenSet:
        """A new token set (the refresh token rotates); ``AuthRevoked`` on ``invalid_grant``."""
        ...

    def revoke(self, tokens: TokenSet) -> None:
        """Revoke the grant at the platform."""
        ...

    def list_organisations(self, tokens: TokenSet, grant_ref: str | None = None) -> Sequence[OrgRef]:
        """The organisations the grant can reach now (``grant_ref``: what the grant was stored with,
        the realm id for QBO, whose tokens do not name it)."""
        ...

    def fetch_changes(self, org: OrgAccess, since: Mapping[Entity, datetime | None]) -> Iterator[ChangePage]:
        """Pages of the records changed since each entity's cursor (everything for a None cursor),
        entity by entity in the order of ``since`` (customers first), at the largest page size the
        API allows and in as few calls as it allows (QBO: one CDC call covers every entity)."""
        ...

    def fetch_invoices(self, org: OrgAccess, external_ids: Sequence[str]) -> Sequence[Fetched]:
        """The current state of the given invoices, in as few calls as the API allows; an id the
        platform no longer knows comes back as a deleted :class:`Fetched`."""
        ...

    def pay_now_url(self, org: OrgAccess, invoice_external_id: str) -> str | None:
        """The invoice's own pay-now page (QBO InvoiceLink, Xero OnlineInvoice), None if it has none."""
        ...

    def write_note(self, org: OrgAccess, invoice_external_id: str, text: str, *, idempotency_key: str) -> None:
        """Record a note on the invoice at the platform (QBO note, Xero History ≤ 250 chars)."""
        ...

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """True when the raw body carries a valid signature (constant-time comparison)."""
        ...

    def parse_webhook(self, body: bytes) -> Sequence[WebhookNotice]:
        """The events of a verified delivery."""
        ...


@runtime_checkable
class DisconnectsOrganisations(Protocol):
    """Optional: a platform whose grant may cover several organisations and that can disconnect
    one of them while the grant (and the others) stay (Xero: ``DELETE /connections/{id}``).

    A platform without it only revokes whole grants (:meth:`Platform.revoke`)."""

    def disconnect_organisation(self, org: OrgAccess) -> None:
        """End the grant's access to ``org`` only; an organisation already disconnected at the
        platform is not an error. Raises :class:`connector.errors.PlatformError`."""
        ...


@runtime_checkable
class ChecksOwnReminders(Protocol):
    """Optional: a platform that can tell whether it sends payment reminders of its own, which
    would remind customers twice (double dunning). Without it the setting is "not detectable"."""

    def own_reminders_enabled(self, org: OrgAccess) -> bool | None:
        """True when the platform's own reminders are on for ``org``, False when off, None when it
        cannot tell. Raises :class:`connector.errors.PlatformError`."""
        ...


@runtime_checkable
class FetchesPayLinks(Protocol):
    """Optional: a platform whose pay-now link costs a call of its own per invoice (Xero
    OnlineInvoice), so neither its sync nor :meth:`Platform.fetch_invoices` asks for links: the
    dispatcher asks for those of a reminder about to be sent, and stores them (issue 7). A platform
    without it gives the links with its invoices (QBO InvoiceLink)."""

    def with_pay_links(self, org: OrgAccess, invoices: Sequence[Fetched]) -> Sequence[Fetched]:
        """``invoices`` with the pay-now URL set on each open one that has none: a known URL
        (``org.stored_pay_urls``, a cache) without a call, else one call each. A link that cannot
        be had now (rate limited, a draft, an outage) is left out and nothing is raised: the
        reminder goes without it and the next one asks again."""
        ...


class UnfinishedPlatform:
    """Base of a plugin whose implementation has not landed yet: it registers, describes itself,
    and raises ``NotImplementedError`` naming itself and the issue for every platform call."""

    name: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    entities: ClassVar[tuple[Entity, ...]] = ()
    issue: ClassVar[int] = 0
    implemented: ClassVar[bool] = False

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def _missing(self, what: str) -> NotImplementedError:
        return NotImplementedError(f"{self.display_name} plugin: {what} is not implemented yet (issue #{self.issue})")

    def authorize_url(self, **_: object) -> str:
        raise self._missing("authorize_url")

    def exchange_code(self, **_: object) -> Grant:
        raise self._missing("exchange_code")

    def refresh(self, tokens: TokenSet, *, now: datetime) -> TokenSet:
        raise self._missing("refresh")

    def revoke(self, tokens: TokenSet) -> None:
        raise self._missing("revoke")

    def list_organisations(self, tokens: TokenSet, grant_ref: str | None = None) -> Sequence[OrgRef]:
        raise self._missing("list_organisations")

    def fetch_changes(self, org: OrgAccess, since: Mapping[Entity, datetime | None]) -> Iterator[ChangePage]:
        raise self._missing("fetch_changes")

    def fetch_invoices(self, org: OrgAccess, external_ids: Sequence[str]) -> Sequence[Fetched]:
        raise self._missing("fetch_invoices")

    def pay_now_url(self, org: OrgAccess, invoice_external_id: str) -> str | None:
        raise self._missing("pay_now_url")

    def write_note(self, org: OrgAccess, invoice_external_id: str, text: str, *, idempotency_key: str) -> None:
        raise self._missing("write_note")

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> bool:
        raise self._missing("verify_webhook")

    def parse_webhook(self, body: bytes) -> Sequence[WebhookNotice]:
        raise self._missing("parse_webhook")
