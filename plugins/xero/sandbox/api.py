"""The ``/api.xro/2.0/…`` endpoints arcadence uses.

- Lists (Invoices, Contacts, Payments, CreditNotes, Overpayments, Prepayments): ``page`` (1-based)
  and ``pageSize`` (default 100, at most 1000) with a ``pagination`` block; without ``page`` the
  whole list as summaries (invoices without ``LineItems``), notes §1.4. ``If-Modified-Since``
  (to the second, on ``UpdatedDateUTC``, notes §1.4, §3), ``where`` (query.py), ``order``,
  ``Statuses``, ``IDs``, ``InvoiceNumbers``, ``ContactIDs``, ``includeArchived`` (contacts),
  ``summaryOnly``. A query string over 2048 characters is refused (414), which caps ``IDs=`` near
  the ~52 GUIDs of notes §1.4.
- ``Invoices/{id}`` with the full contact (invoice_single_ACCREC_paid_with_attachment.spec.json).
- ``Invoices/{id}/OnlineInvoice``: ACCREC and approved only; 400 for DRAFT (notes §5).
- ``{Entity}/{id}/History`` GET/PUT/POST: ``Details`` ≤ 250 characters, else the 400 validation
  shape; an unknown id is the 400 of error_400_validation_history_not_found.spec.json; a repeated
  ``Idempotency-Key`` replays the first answer (notes §3, §5). Notes never bump the record.
- ``InvoiceReminders/Settings``, ``Organisation``, ``Invoices/{id}/Email`` (204).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from connector.sandboxkit import CallCounter, IdempotencyCache
from plugins.xero.sandbox import books, query, wire
from plugins.xero.sandbox.store import ENTITIES, Organisation, canonical_entity

MAX_QUERY_STRING = 2048
HISTORY_MAX = 250  # notes §5: "Details is at most 250 characters"
LIST_FILTERS = {"IDs": None, "InvoiceNumbers": "InvoiceNumber", "ContactIDs": "Contact.ContactID"}


class ApiRoutes:
    """Mixin of :class:`plugins.xero.sandbox.XeroSandbox`: the accounting API."""

    clock: Any
    base_url: str | None
    call_details_counter: CallCounter
    idempotency: IdempotencyCache[tuple[int, bytes]]

    def _ok(self, **content: Any) -> Response:
        return wire.json_response(wire.envelope(self.clock.now(), **content))

    # ----- rendering -------------------------------------------------------------------------

    def render(self, org: Organisation, entity: str, record: dict[str, Any], *, full: bool, extra: Any = None) -> Any:
        """A record as the API shows it: summaries drop line items; contacts get ``Balances``
        (``extra``: the balances of every contact, computed once per list rather than per record)."""
        out = dict(record)
        if entity == "Invoices" and not full and "LineItems" in out:
            out["LineItems"] = []
        if entity == "Invoices" and full and isinstance(out.get("Contact"), dict):
            contact = org.find("Contacts", str(out["Contact"].get("ContactID", "")))
            if contact is not None:
                embedded = self.render(org, "Contacts", contact, full=True, extra=extra)
                out["Contact"] = {**out["Contact"], **embedded}
        if entity == "Contacts":
            balances = extra if extra is not None else books.balances(org, self.clock.now().date())
            zero = {"Outstanding": wire.money(0), "Overdue": wire.money(0)}
            out["Balances"] = balances.get(out["ContactID"], {"AccountsReceivable": zero, "AccountsPayable": zero})
        return out

    # ----- lists ------------------------------------------------------------------------------

    def api_list(self, request: Request, org: Organisation, entity: str) -> Response:
        """``GET /{Entity}`` with the filters and paging of the module docstring."""
        entity = canonical_entity(entity)
        if len(request.query_string) > MAX_QUERY_STRING:
            return Response("URI Too Long", status=414, mimetype="text/plain")
        try:
            records = self._filtered(request, org, entity)
            page, size = query.page_args(request.args)
        except query.QueryError as exc:
            return wire.query_error(str(exc))
        self.call_details_counter.count(f"list:{entity}")
        pagination = None
        if page is not None:
            pagination = {"page": page, "pageSize": size, "pageCount": -(-len(records) // size),
                          "itemCount": len(records)}  # fmt: skip
            records = records[(page - 1) * size : page * size]
        summary = request.args.get("summaryOnly", "").lower() == "true"
        full = page is not None and not summary
        embeds = entity == "Contacts" or (entity == "Invoices" and full)  # full invoices embed their contact
        extra = books.balances(org, self.clock.now().date()) if embeds and records else None
        rendered = [self.render(org, entity, r, full=full, extra=extra) for r in records]
        content: dict[str, Any] = {} if pagination is None else {"pagination": pagination}
        content[entity] = rendered
        return self._ok(**content)

    def _filtered(self, request: Request, org: Organisation, entity: str) -> list[dict[str, Any]]:
        since = query.if_modified_since(request.headers.get("If-Modified-Since"))
        predicates = query.parse_where(request.args["where"]) if request.args.get("where") else []
        with org.lock:
            items = [(r, org.changed.get((entity, str(r.get(ENTITIES[entity])).lower()))) for r in org.all(entity)]
        if since is not None:
            floor = since.replace(microsecond=0)
            items = [(r, at) for r, at in items if at is not None and at.replace(microsecond=0) >= floor]
        records = [r for r, _ in items]
        statuses = {s.strip().upper() for s in request.args.get("Statuses", "").split(",") if s.strip()}
        if statuses:
            records = [r for r in records if str(r.get("Status", "")).upper() in statuses]
        for arg, path in LIST_FILTERS.items():
            wanted = {v.strip().lower() for v in request.args.get(arg, "").split(",") if v.strip()}
            if wanted:
                field = path or ENTITIES[entity]
                records = [r for r in records if str(query.field_value(r, field) or "").lower() in wanted]
        if entity == "Contacts" and request.args.get("includeArchived", "").lower() != "true":
            records = [r for r in records if r.get("ContactStatus") != "ARCHIVED"]
        records = [r for r in records if all(p(r) for p in predicates)]
        ordering = query.order_key(request.args.get("order"))
        if ordering is not None:
            records.sort(key=ordering[0], reverse=ordering[1])
        return records

    def api_get(self, request: Request, org: Organisation, entity: str, record_id: str) -> Response:
        """``GET /{Entity}/{id}``."""
        entity = canonical_entity(entity)
        found = org.find(entity, record_id)
        if found is None:
            return wire.not_found()
        return self._ok(**{entity: [self.render(org, entity, found, full=True)]})

    # ----- invoice extras ---------------------------------------------------------------------

    def online_token(self, tenant_id: str, invoice_id: str) -> str:
        """The stable 40-character token of an invoice's online page (``in.xero.com/<token>``)."""
        digest = hmac.new(tenant_id.encode(), f"online:{invoice_id}".encode(), hashlib.sha256).hexdigest()
        return digest[:40]

    def api_online_invoice(self, request: Request, org: Organisation, record_id: str) -> Response:
        """``GET Invoices/{id}/OnlineInvoice``: the URL for an approved sales invoice, 400 for drafts."""
        invoice = org.find("Invoices", record_id)
        if invoice is None:
            return wire.not_found()
        if invoice.get("Type") != "ACCREC" or invoice.get("Status") in {"DRAFT", "SUBMITTED", "DELETED"}:
            message = "Invoice must be an approved sales invoice to retrieve the online invoice url"
            return wire.validation_error([{"ValidationErrors": [{"Message": message}]}])
        base = self.base_url or request.host_url.rstrip("/")
        url = f"{base}/in/{self.online_token(org.tenant_id, invoice['InvoiceID'])}"
        return self._ok(OnlineInvoices=[{"OnlineInvoiceUrl": url}])

    def api_email(self, request: Request, org: Organisation, record_id: str) -> Response:
        """``POST Invoices/{id}/Email``: Xero's standard email; marks the invoice sent (204)."""
        invoice = org.find("Invoices", record_id)
        if invoice is None:
            return wire.not_found()
        with org.lock:
            books.update_invoice(org, self.clock.now(), invoice["InvoiceID"], {"SentToContact": True})
        return Response(b"", status=204)

    def api_history(self, request: Request, org: Organisation, entity: str, record_id: str) -> Response:
        """``GET|PUT|POST {Entity}/{id}/History``."""
        entity = canonical_entity(entity)
        if request.method == "GET":
            found = org.find(entity, record_id)
            if found is None:
                return wire.not_found()
            records = org.history.get((entity, str(found[ENTITIES[entity]])), [])
            return self._ok(HistoryRecords=list(reversed(records)))
        key = request.headers.get("Idempotency-Key")
        if not key:
            return self._write_history(request, org, entity, record_id)
        cache_key = (org.tenant_id, request.method, request.path, key[:128])

        def first() -> tuple[int, bytes]:
            answer = self._write_history(request, org, entity, record_id)
            return answer.status_code, answer.get_data()

        status, body = self.idempotency.run(cache_key, first)
        return Response(body, status=status, content_type="application/json; charset=utf-8")

    def _write_history(self, request: Request, org: Organisation, entity: str, record_id: str) -> Response:
        now = self.clock.now()
        try:
            payload = json.loads(request.get_data() or b"{}")
            entries = payload["HistoryRecords"]
            details = [str(e["Details"]) for e in entries]
        except (ValueError, KeyError, TypeError):
            return wire.validation_error(
                [wire.history_element(now, "", "A HistoryRecords list with Details is required")]
            )
        found = org.find(entity, record_id)
        if found is None:
            message = "The document with the supplied id was not found for this endpoint."
            return wire.validation_error([wire.history_element(now, d, message) for d in details])
        too_long = [d for d in details if len(d) > HISTORY_MAX or not d.strip()]
        if too_long or not details:
            message = f"Details cannot be empty or longer than {HISTORY_MAX} characters"
            return wire.validation_error([wire.history_element(now, d, message) for d in details or [""]])
        created = []
        with org.lock:
            for index, text in enumerate(details):
                at = now + timedelta(milliseconds=index)
                org.add_history(entity, str(found[ENTITIES[entity]]), "Note", text, at)
                created.append({"DateUTCString": at.strftime("%Y-%m-%dT%H:%M:%S"), "DateUTC": f"/Date({wire.ms(at)})/",
                                "Details": text, "ValidationErrors": []})  # fmt: skip
        return self._ok(HistoryRecords=created)

    # ----- settings ---------------------------------------------------------------------------

    def api_reminders(self, request: Request, org: Organisation) -> Response:
        """``GET InvoiceReminders/Settings`` (invoice_reminders_settings.spec.json)."""
        return self._ok(InvoiceReminders=[{"Enabled": org.reminders_enabled}])

    def api_organisation(self, request: Request, org: Organisation) -> Response:
        """``GET Organisation``."""
        return self._ok(Organisations=[dict(org.info)])
