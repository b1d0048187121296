"""The ``/v3/company/{realm}/…`` endpoints: query, cdc, batch, read by id, writes, send.

Response shapes follow ``api-samples/quickbooks/``: ``{"QueryResponse": {<Entity>: […],
"startPosition", "maxResults"}, "time"}`` with ``maxResults`` = the number returned and
``totalCount`` only on Invoice pages (as in the NANGO pages; customers and payments have none), an
empty result as ``{"QueryResponse": {}}`` (notes §1.4); ``InvoiceLink`` on a read by id and on an
update response, but on queries only with ``include=invoiceLink`` (notes §0.7, §3.4); CDC per
CDC-DOC (30 days, 1000 objects, deleted stubs after live objects); batch per batch_* samples.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request, Response

from connector.sandboxkit import CallCounter, IdempotencyCache
from plugins.quickbooks.sandbox import books, query, writes
from plugins.quickbooks.sandbox.faults import (
    QboFault,
    dumps,
    fault_body,
    invalid_query,
    invalid_request,
    parse_time,
    required_missing,
    response_time,
    unsupported,
)
from plugins.quickbooks.sandbox.store import CDC_ENTITIES, RAW, CompanyStore, canonical_entity

CDC_LOOKBACK = timedelta(days=30)
CDC_CAP = 1000
BATCH_LIMIT = 30  # LIMITS: "recommended maximum … 30"; the batch guide says 10 (notes §1.6)
LINK_TEMPLATE = "{base}/comingSoonview/scs-v1-{token}?locale=en_US&cta=v3invoicelink"  # sandbox shape, §3.4


class ApiRoutes:
    """Mixin of :class:`plugins.quickbooks.sandbox.QuickBooksSandbox`: the accounting API."""

    store: CompanyStore
    clock: Any
    calls: CallCounter
    call_details_counter: CallCounter
    idempotency: IdempotencyCache[tuple[int, bytes, str]]
    realm_id: str

    # ----- rendering -------------------------------------------------------------------------

    def link_token(self, invoice_id: str) -> str:
        """The stable pay-link token of an invoice (128 hex digits like the sandbox's)."""
        return hmac.new(self.realm_id.encode(), f"invoice:{invoice_id}".encode(), hashlib.sha512).hexdigest()

    def render(
        self, entity: str, record: dict[str, Any], base: str, *, link: bool = False, balances: Any = None
    ) -> Any:
        """A record as the API shows it (pay link and customer balance added, raw records as text)."""
        if RAW in record:
            return record[RAW]
        out = dict(record)
        if entity == "Invoice" and link and _pay_link_allowed(out):
            url = LINK_TEMPLATE.format(base=base, token=self.link_token(out["Id"]))
            out = _insert_after(out, "AllowOnlineACHPayment", "InvoiceLink", url)
        if entity == "Customer" and balances is not None:
            out["Balance"] = out["BalanceWithJobs"] = balances.get(out["Id"], Decimal(0))
        return out

    def _ok(self, payload: dict[str, Any]) -> Response:
        payload["time"] = response_time(self.clock.now())
        return Response(dumps(payload), status=200, mimetype="application/json")

    # ----- query ------------------------------------------------------------------------------

    def query_response(self, sql: str, base: str, *, link: bool) -> dict[str, Any]:
        """The ``QueryResponse`` object of one SELECT."""
        parsed = query.parse(sql)
        self.call_details_counter.count(f"query:{parsed.entity}")
        with self.store.lock:
            page, total = query.run(self.store.all(parsed.entity), parsed)
            if parsed.count:
                return {"totalCount": total}
            balances = books.customer_balances(self.store) if parsed.entity == "Customer" else None
            items = [
                self.render(parsed.entity, query.project(r, parsed.fields), base, link=link, balances=balances)
                for r in page
            ]
        if not items:
            return {}
        response: dict[str, Any] = {parsed.entity: items, "startPosition": parsed.start, "maxResults": len(items)}
        if parsed.entity == "Invoice":
            response["totalCount"] = len(items)
        return response

    def api_query(self, request: Request, realm: str) -> Response:
        """``GET ?query=`` or ``POST`` with the SQL as an ``application/text`` body."""
        sql = request.args.get("query") or request.get_data(as_text=True)
        if not sql.strip():
            raise required_missing("query")
        link = request.args.get("include", "").lower() == "invoicelink"
        return self._ok({"QueryResponse": self.query_response(sql, request.host_url.rstrip("/"), link=link)})

    # ----- cdc --------------------------------------------------------------------------------

    def api_cdc(self, request: Request, realm: str) -> Response:
        """Changes since ``changedSince`` (≤ 30 days back), ≤ 1000 objects, deleted stubs included."""
        names, changed = request.args.get("entities", ""), request.args.get("changedSince", "")
        if not names.strip():
            raise required_missing("entities")
        if not changed.strip():
            raise required_missing("changedSince")
        try:
            entities = [canonical_entity(name.strip()) for name in names.split(",") if name.strip()]
            since = parse_time(changed)
        except (LookupError, ValueError) as exc:
            raise invalid_request(str(exc)) from None
        if any(entity not in CDC_ENTITIES for entity in entities):
            raise unsupported(f"CDC is not supported for {names}")
        now = self.clock.now()
        if since < now - CDC_LOOKBACK:
            # Code and text not found in public material; modelled on the query validation fault.
            raise invalid_query("QueryValidationError: changedSince must be within the last 30 days")
        base, budget, groups = request.host_url.rstrip("/"), CDC_CAP, []
        with self.store.lock:
            balances = books.customer_balances(self.store) if "Customer" in entities else None
            for entity in entities:
                live, gone = self.store.changes_since(entity, since)
                objects = [self.render(entity, record, base, balances=balances) for record in live] + gone
                objects = objects[:budget]
                budget -= len(objects)
                groups.append({entity: objects, "startPosition": 1, "maxResults": len(objects)} if objects else {})
        return self._ok({"CDCResponse": [{"QueryResponse": groups or [{}]}]})

    # ----- reads ------------------------------------------------------------------------------

    def api_read(self, request: Request, realm: str, entity: str, entity_id: str) -> Response:
        """``GET /{entity}/{id}``; ``companyinfo/{realm}``; 610 for deleted or unknown ids."""
        try:
            name = canonical_entity(entity)
        except LookupError:
            raise unsupported(f"Unsupported entity {entity}") from None
        if name == "CompanyInfo":
            entity_id = "1" if entity_id == realm else f"missing:{entity_id}"
        record = self.store.get(name, entity_id)
        if RAW in record:
            # The one record the control API stored as XML comes back as XML (malformed-data tests).
            return Response(record[RAW].encode(), status=200, mimetype="application/xml")
        balances = books.customer_balances(self.store) if name == "Customer" else None
        base = request.host_url.rstrip("/")
        return self._ok({name: self.render(name, record, base, link=True, balances=balances)})

    def api_preferences(self, request: Request, realm: str) -> Response:
        """``GET /preferences``: ``CurrencyPrefs.HomeCurrency``, ``MultiCurrencyEnabled`` …"""
        return self._ok({"Preferences": self.store.get("Preferences", "1")})

    # ----- writes -----------------------------------------------------------------------------

    def api_write(self, request: Request, realm: str, entity: str) -> Response:
        """``POST /{entity}[?operation=delete|void]``, replayed for a repeated ``requestid``."""
        operation = request.args.get("operation") or None
        operation = None if operation in {"update", "create"} else operation  # the body says which
        base = request.host_url.rstrip("/")

        def act() -> dict[str, Any]:
            body = _json_body(request)
            now = self.clock.now()
            name, record, live = writes.write(self.store, now, books.local_date(now), entity, body, operation)
            return {name: self.render(name, record, base, link=True) if live else record}

        return self._idempotent(request, realm, act)

    def api_send(self, request: Request, realm: str, entity_id: str) -> Response:
        """``POST /invoice/{id}/send[?sendTo=]``: EmailStatus, DeliveryInfo, and ``sendTo`` overwrites BillEmail."""

        def act() -> dict[str, Any]:
            now = self.clock.now()
            invoice = self.store.get("Invoice", entity_id)
            invoice["EmailStatus"] = "EmailSent"
            invoice["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": response_time(now)}
            if request.args.get("sendTo"):
                invoice["BillEmail"] = {"Address": request.args["sendTo"]}  # notes §0.9, §3.7
            self.store.touch("Invoice", entity_id, now, operation="Emailed")
            return {"Invoice": self.render("Invoice", invoice, request.host_url.rstrip("/"), link=True)}

        return self._idempotent(request, realm, act)

    def api_batch(self, request: Request, realm: str) -> Response:
        """``POST /batch``: queries and writes, ≤ 30 items, per-item faults inside an HTTP 200."""
        base = request.host_url.rstrip("/")

        def act() -> dict[str, Any]:
            items = _json_body(request).get("BatchItemRequest")
            if not isinstance(items, list) or not items:
                raise required_missing("BatchItemRequest")
            if len(items) > BATCH_LIMIT:
                detail = f"Request has {len(items)} batch items; the maximum is {BATCH_LIMIT}"
                raise QboFault(400, "1040", "Too many batch items", detail)  # code per notes §1.8
            return {"BatchItemResponse": [self._batch_item(item, base) for item in items]}

        return self._idempotent(request, realm, act)

    def _batch_item(self, item: dict[str, Any], base: str) -> dict[str, Any]:
        bid = item.get("bId")
        try:
            if "Query" in item:
                return {"bId": bid, "QueryResponse": self.query_response(str(item["Query"]), base, link=False)}
            operation = item.get("operation")
            keys = [key for key in item if key not in {"bId", "operation", "optionsData"}]
            if len(keys) != 1 or not isinstance(item[keys[0]], dict):
                raise invalid_request("A batch item needs exactly one entity object")
            body = item[keys[0]]
            if operation == "create" and "Id" in body:
                raise invalid_request("Id must not be set on create")
            if operation in {"update", "delete", "void"} and not body.get("Id"):
                raise required_missing("Id")
            now = self.clock.now()
            op = operation if operation in {"delete", "void"} else None
            name, record, live = writes.write(self.store, now, books.local_date(now), keys[0], body, op)
            return {"bId": bid, name: self.render(name, record, base, link=True) if live else record}
        except QboFault as fault:
            return {"Fault": fault.fault, "bId": bid}

    def _idempotent(self, request: Request, realm: str, act: Any) -> Response:
        def outcome() -> tuple[int, bytes, str]:
            try:
                with self.store.lock:  # a write is all or nothing for concurrent readers
                    result = act()
                return 200, dumps({**result, "time": response_time(self.clock.now())}), "application/json"
            except QboFault as fault:
                return fault.status, dumps(fault_body(fault, self.clock.now())), "application/json"

        request_id = request.args.get("requestid")
        if request_id:
            status, body, mimetype = self.idempotency.run((realm, request_id), outcome)
        else:
            status, body, mimetype = outcome()
        return Response(body, status=status, mimetype=mimetype)


def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"", parse_float=Decimal)
    except ValueError as exc:
        raise invalid_request(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise invalid_request("Request body must be a JSON object")
    return body


def _pay_link_allowed(invoice: dict[str, Any]) -> bool:
    """Online card or ACH payment on and a BillEmail (PQ #360 quoting Intuit's field doc)."""
    online = invoice.get("AllowOnlineCreditCardPayment") is True or invoice.get("AllowOnlineACHPayment") is True
    return online and bool((invoice.get("BillEmail") or {}).get("Address"))


def _insert_after(record: dict[str, Any], anchor: str, key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, item in record.items():
        out[name] = item
        if name == anchor:
            out[key] = value
    out.setdefault(key, value)
    return out
