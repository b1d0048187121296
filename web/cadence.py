"""The cadence editor: the organisation's policy (or the shipped default it uses), customer
policies, the 90-day preview, test mode and switching on, and each customer's own policy or
exclusion.

Everyone in the firm may read the cadence and its preview; only an admin changes it. A policy is
checked by :func:`core.policy.validate` (the engine's own check), so the editor can never store
a policy the engine would refuse; a bad value changes nothing. Saving a new or changed policy
puts it in **test mode** (planned and shown, nothing queued) until an admin switches it on.

Two switches decide whether reminders go out, and the page says both: the organisation's
*collections* switch (settings page: whether the daily run happens at all) and the policy's
*test mode* (here: whether the run queues what it plans). The shipped default, used while no
policy is saved, has no test mode of its own.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from connector.db import Customer, Membership, Organisation, Policy, PolicyStep, Role, User
from connector.db.activity import ActivityLog
from connector.ledger import active_policy_row, core_policy, default_policy
from connector.outbox import cancel_pending
from core.policy import Policy as CorePolicy
from core.policy import validate
from web import runtime
from web.auth import RANK, require_org
from web.cadence_preview import LEVELS, preview
from web.forms_cadence import (
    BLANK_STEPS,
    DEFAULTS,
    CustomerPolicyForm,
    NewPolicyForm,
    PolicyForm,
    SwitchForm,
    place_errors,
    policy_from,
)

bp = Blueprint("cadence", __name__, url_prefix="/orgs/<int:org_id>/cadence")


# -- reading ---------------------------------------------------------------------------------------


@bp.get("")
@login_required
def index(org_id: int) -> str:
    """The organisation's policy and its state, customer policies, customers with their own policy
    or excluded, and (for admins) the forms to start a policy and to set a customer's policy."""
    org = require_org(org_id, Role.VIEWER)
    with runtime().sessions() as db:
        active = active_policy_row(db, org.id)
        others = _policies(db, org.id, exclude=active.id if active else None)
        special = db.scalars(
            select(Customer)
            .where(Customer.organisation_id == org.id, (Customer.policy_id.is_not(None)) | Customer.excluded)
            .order_by(Customer.name, Customer.id)
        ).all()
        counts = _customer_counts(db, org.id)
        switched_by = _names(db, [p.switched_on_by_id for p in [active, *others] if p and p.switched_on_by_id])
        customer_form = _customer_form(db, org.id)
    return render_template(
        "cadence/index.html",
        org=org,
        active=active,
        default=default_policy(org.country) if active is None else None,
        others=others,
        special=special,
        counts=counts,
        policy_names={p.id: p.name for p in others},
        switched_by=switched_by,
        new_form=NewPolicyForm(),
        customer_form=customer_form,
        switch_form=SwitchForm(),
        admin=_is_admin(org.id),
        settings_url=_settings_url(org.id),
    )


@bp.get("/policies/<int:policy_id>/preview")
@login_required
def preview_policy(org_id: int, policy_id: int) -> str:
    """The next 90 days of a policy on the organisation's real ledger, and its state."""
    org = require_org(org_id, Role.VIEWER)
    rt = runtime()
    with rt.sessions() as db:
        row = _policy(db, org.id, policy_id)
        result = preview(db, org, row, rt.clock)
        switched_by = _names(db, [row.switched_on_by_id] if row.switched_on_by_id else [])
    return render_template(
        "cadence/preview.html",
        org=org,
        policy=row,
        preview=result,
        levels=LEVELS,
        switch_form=SwitchForm(),
        switched_by=switched_by,
        admin=_is_admin(org.id),
        settings_url=_settings_url(org.id),
    )


# -- changing ------------------------------------------------------------------------------------


@bp.post("/policies")
@login_required
def create(org_id: int) -> Response | tuple[str, int]:
    """Start a policy from a shipped default, in test mode; for the whole organisation it replaces
    the organisation's policy (the old one stays, for customers that use it)."""
    org = require_org(org_id, Role.ADMIN)
    form = NewPolicyForm()
    if not form.validate_on_submit():
        return _index_with_errors(org, new_form=form)
    rt = runtime()
    now = rt.clock.now()
    source = DEFAULTS[form.default.data]
    whole = form.use.data == "organisation"
    with rt.sessions.begin() as db:
        if whole:
            db.execute(
                update(Policy).where(Policy.organisation_id == org.id, Policy.active.is_(True)).values(active=False)
            )
        row = Policy(organisation_id=org.id, active=whole, created_at=now, updated_at=now)
        _store(row, source, business_days_only=True, now=now)
        db.add(row)
        db.flush()
        _log(db, org.id, now, "policy_created", f"policy {row.name!r} started from {source.name!r}, in test mode")
        policy_id = row.id
    flash(_("The policy was created in test mode: nothing is sent until you switch it on."), "info")
    return redirect(url_for("cadence.edit", org_id=org.id, policy_id=policy_id))


@bp.route("/policies/<int:policy_id>", methods=["GET", "POST"])
@login_required
def edit(org_id: int, policy_id: int) -> Response | str | tuple[str, int]:
    """Edit a policy's settings and steps; each finding of the policy check is shown next to its
    field and nothing is saved. A saved change puts the policy in test mode."""
    org = require_org(org_id, Role.ADMIN)
    rt = runtime()
    with rt.sessions() as db:
        row = _policy(db, org.id, policy_id)
        current = core_policy(row)
    if request.method == "GET":
        return render_template("cadence/edit.html", org=org, policy=row, form=_form_of(row, current), general=[])
    form = PolicyForm()
    general: list[str] = []
    valid = form.validate()
    if form.check_rows() and valid:
        policy, rows = policy_from(form)
        errors = validate(policy)
        if not errors:
            _save(org.id, policy_id, policy, bool(form.business_days_only.data), current, row.business_days_only)
            return redirect(url_for("cadence.preview_policy", org_id=org.id, policy_id=policy_id))
        general = place_errors(form, rows, errors)
    _pad(form)
    return render_template("cadence/edit.html", org=org, policy=row, form=form, general=general), 400


@bp.post("/policies/<int:policy_id>/switch")
@login_required
def switch(org_id: int, policy_id: int) -> Response | tuple[str, int]:
    """Switch a policy on (its next run queues what it plans), or back to test mode (nothing more is
    sent: reminders still waiting for the dispatcher are cancelled). Logged with who did it."""
    org = require_org(org_id, Role.ADMIN)
    rt = runtime()
    with rt.sessions() as db:
        _policy(db, org.id, policy_id)  # another organisation's policy: 404 before anything else
    form = SwitchForm()
    if not form.validate_on_submit():
        return _index_with_errors(org)
    now = rt.clock.now()
    with rt.sessions.begin() as db:
        row = _policy(db, org.id, policy_id)
        if form.state.data == "on":
            row.switched_on_at, row.switched_on_by_id = now, current_user.id
            _log(db, org.id, now, "policy_switched_on", f"policy {row.name!r} switched on")
            flash(_("%(name)s is switched on: the next run queues its reminders.", name=row.name), "info")
        else:
            row.switched_on_at = row.switched_on_by_id = None
            cancelled = cancel_pending(
                db, org.id, _customers_of(db, org.id, row), reason="policy back in test mode", actor=_actor(), now=now
            )
            _log(db, org.id, now, "policy_test_mode", f"policy {row.name!r} back in test mode; {cancelled} cancelled")
            flash(_("%(name)s is in test mode: nothing is sent.", name=row.name), "info")
    return redirect(url_for("cadence.preview_policy", org_id=org.id, policy_id=policy_id))


@bp.post("/customers")
@login_required
def customer(org_id: int) -> Response | tuple[str, int]:
    """Give a customer its own policy (or the organisation's) and exclude it from chasing or not."""
    org = require_org(org_id, Role.ADMIN)
    rt = runtime()
    with rt.sessions() as db:
        form = _customer_form(db, org.id)
    if not form.validate_on_submit():
        return _index_with_errors(org, customer_form=form)
    now = rt.clock.now()
    with rt.sessions.begin() as db:
        row = db.scalars(
            select(Customer).where(Customer.organisation_id == org.id, Customer.id == form.customer.data)
        ).one()
        policy_id = int(form.policy.data) if form.policy.data else None
        before = (row.policy_id, row.excluded)
        row.policy_id, row.excluded = policy_id, bool(form.excluded.data)
        if before != (row.policy_id, row.excluded):
            name = db.scalar(select(Policy.name).where(Policy.id == policy_id)) if policy_id else None
            ActivityLog(db, org.id).append(
                kind="customer_policy_changed",
                actor=_actor(),
                occurred_at=now,
                customer_id=row.id,
                summary=("excluded from chasing" if row.excluded else "chased")
                + f"; policy: {name or 'the organisation policy'}",
                data={"policy_id": policy_id, "excluded": row.excluded},
            )
        flash(_("Saved for %(name)s.", name=row.name), "info")
    return redirect(url_for("cadence.index", org_id=org.id))


# -- helpers -------------------------------------------------------------------------------------


def _actor() -> str:
    return str(current_user.id)


def _log(db: Session, org_id: int, now: datetime, kind: str, summary: str) -> None:
    ActivityLog(db, org_id).append(kind=kind, actor=_actor(), occurred_at=now, summary=summary)


def _is_admin(org_id: int) -> bool:
    with runtime().sessions() as db:
        role = db.scalar(
            select(Membership.role)
            .join(Organisation, Organisation.firm_id == Membership.firm_id)
            .where(Organisation.id == org_id, Membership.user_id == current_user.id)
        )
    return RANK.get(role or "", -1) >= RANK[Role.ADMIN.value]


def _settings_url(org_id: int) -> str | None:
    try:
        return url_for("settings.edit", org_id=org_id)
    except BuildError:
        return None


def _policy(db: Session, org_id: int, policy_id: int) -> Policy:
    """The organisation's policy with that id, steps loaded; 404 for any other (a forged id)."""
    row = db.scalar(
        select(Policy)
        .where(Policy.organisation_id == org_id, Policy.id == policy_id)
        .options(selectinload(Policy.steps))
    )
    if row is None:
        abort(404)
    return row


def _policies(db: Session, org_id: int, exclude: int | None) -> list[Policy]:
    query = select(Policy).where(Policy.organisation_id == org_id).options(selectinload(Policy.steps))
    return [p for p in db.scalars(query.order_by(Policy.name, Policy.id)).all() if p.id != exclude]


def _customer_counts(db: Session, org_id: int) -> dict[int, int]:
    rows = db.execute(
        select(Customer.policy_id, Customer.id).where(
            Customer.organisation_id == org_id, Customer.policy_id.is_not(None)
        )
    ).all()
    counts: dict[int, int] = {}
    for policy_id, _id in rows:
        counts[policy_id] = counts.get(policy_id, 0) + 1
    return counts


def _customers_of(db: Session, org_id: int, row: Policy) -> list[int]:
    """Store ids of the customers the policy plans (the organisation's policy: those without their own)."""
    own = Customer.policy_id == row.id
    query = select(Customer.id).where(Customer.organisation_id == org_id)
    if row.active:
        known = select(Policy.id).where(Policy.organisation_id == org_id, Policy.active.is_(False))
        return list(db.scalars(query.where(own | Customer.policy_id.is_(None) | Customer.policy_id.not_in(known))))
    return list(db.scalars(query.where(own)))


def _names(db: Session, user_ids: list[int | None]) -> dict[int, str]:
    ids = sorted({i for i in user_ids if i is not None})
    if not ids:
        return {}
    return {u.id: u.name or u.email for u in db.scalars(select(User).where(User.id.in_(ids)))}


def _customer_form(db: Session, org_id: int) -> CustomerPolicyForm:
    form = CustomerPolicyForm()
    customers = db.execute(
        select(Customer.id, Customer.name).where(Customer.organisation_id == org_id).order_by(Customer.name)
    ).all()
    form.customer.choices = [SelectChoice(str(c.id), c.name) for c in customers]
    policies = db.execute(
        select(Policy.id, Policy.name).where(Policy.organisation_id == org_id, Policy.active.is_(False))
    ).all()
    form.policy.choices = [SelectChoice("", _("the organisation's policy"))]
    form.policy.choices += [SelectChoice(str(p.id), p.name) for p in policies]
    return form


def _index_with_errors(org: Organisation, **forms: object) -> tuple[str, int]:
    """The cadence page again, with the refused form's messages next to its fields (status 400)."""
    with runtime().sessions() as db:
        active = active_policy_row(db, org.id)
        others = _policies(db, org.id, exclude=active.id if active else None)
        special = db.scalars(
            select(Customer)
            .where(Customer.organisation_id == org.id, (Customer.policy_id.is_not(None)) | Customer.excluded)
            .order_by(Customer.name, Customer.id)
        ).all()
        context = {
            "counts": _customer_counts(db, org.id),
            "switched_by": _names(db, [p.switched_on_by_id for p in [active, *others] if p]),
            "customer_form": forms.get("customer_form") or _customer_form(db, org.id),
        }
    page = render_template(
        "cadence/index.html",
        org=org,
        active=active,
        default=default_policy(org.country) if active is None else None,
        others=others,
        special=special,
        policy_names={p.id: p.name for p in others},
        new_form=forms.get("new_form") or NewPolicyForm(),
        switch_form=SwitchForm(),
        admin=True,
        settings_url=_settings_url(org.id),
        **context,
    )
    return page, 400


def _form_of(row: Policy, policy: CorePolicy) -> PolicyForm:
    form = PolicyForm(
        data={
            "name": row.name,
            "min_days_between_touches": policy.min_days_between_touches,
            "min_balance": policy.min_balance,
            "first_touch_max_level": policy.first_touch_max_level,
            "promise_grace_days": policy.promise_grace_days,
            "statutory_claims": policy.statutory_claims,
            "business_days_only": row.business_days_only,
            "steps": [
                {
                    "step_key": s.id,
                    "offset_days": s.offset_days,
                    "level": s.level,
                    "action": s.action.value,
                    "template": s.template,
                }
                for s in policy.steps
            ],
        }
    )
    _pad(form)
    return form


def _pad(form: PolicyForm) -> None:
    """Blank rows at the bottom for new steps."""
    blanks = sum(1 for row in form.steps if row.form.is_blank())
    for _n in range(max(0, BLANK_STEPS - blanks)):
        form.steps.append_entry()


def _store(row: Policy, policy: CorePolicy, *, business_days_only: bool, now: datetime) -> None:
    """Write a policy's settings and steps into its row, in test mode."""
    row.name = policy.name
    row.min_days_between_touches = policy.min_days_between_touches
    row.min_balance = policy.min_balance
    row.first_touch_max_level = policy.first_touch_max_level
    row.promise_grace_days = policy.promise_grace_days
    row.statutory_claims = policy.statutory_claims
    row.business_days_only = business_days_only
    row.switched_on_at = row.switched_on_by_id = None
    row.updated_at = now
    row.steps = [
        PolicyStep(
            organisation_id=row.organisation_id,
            step_key=s.id,
            position=n,
            offset_days=s.offset_days,
            level=s.level,
            action=s.action.value,
            template_key=s.template,
        )
        for n, s in enumerate(policy.steps)
    ]


def _save(
    org_id: int, policy_id: int, policy: CorePolicy, business_days_only: bool, before: CorePolicy, was_bdo: bool
) -> None:
    """Store a checked policy; a change puts it in test mode and is logged, no change changes nothing."""
    if policy == before and business_days_only == was_bdo:
        flash(_("Nothing changed."), "info")
        return
    rt = runtime()
    now = rt.clock.now()
    with rt.sessions.begin() as db:
        row = _policy(db, org_id, policy_id)
        was_on = row.switched_on_at is not None
        row.steps = []
        db.flush()  # the old steps go first: step ids are unique per policy
        _store(row, policy, business_days_only=business_days_only, now=now)
        if was_on:
            cancel_pending(db, org_id, _customers_of(db, org_id, row), reason="policy changed", actor=_actor(), now=now)
        _log(
            db, org_id, now, "policy_changed", f"policy {row.name!r} changed ({len(policy.steps)} steps); in test mode"
        )
    flash(_("Saved. The policy is in test mode: check the preview, then switch it on."), "info")
