"""The wiring of one arcadence process: store, token cipher, clock, rate limiter and the
configured platforms, built once from the settings and shared by the web app, the CLI and jobs.

A platform is *configured* when its OAuth client is known: ``ARCADENCE_<PLATFORM>_CLIENT_ID`` and
``…_CLIENT_SECRET`` (plus optional ``…_IDENTITY_URL``, ``…_API_BASE``, ``…_WEBHOOK_KEY``, and
``…_SCOPES`` where the plugin offers scope sets; the plugin's production endpoints are the
defaults). ``make run`` configures them with the local sandboxes instead (see ``connector.demo``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from connector.clock import Clock, SystemClock
from connector.config import Settings
from connector.db import Invoice, Organisation
from connector.db.session import make_engine, session_factory
from connector.errors import ConfigError, PluginError
from connector.platform import OrgAccess, Platform, PlatformConfig
from connector.ratelimit import RateLimiter, make_limiter
from connector.registry import Registry
from connector.tokens import StoredTokenSource, TokenCipher


def platform_configs(environ: Mapping[str, str], public_url: str) -> dict[str, PlatformConfig]:
    """The platforms configured in ``environ`` (name → config); the others are left out."""
    configs = {}
    registry = Registry()
    for name in registry.names():
        prefix = f"ARCADENCE_{name.upper()}_"
        client_id = environ.get(prefix + "CLIENT_ID", "").strip()
        secret = environ.get(prefix + "CLIENT_SECRET", "").strip()
        if not client_id and not secret:
            continue
        if not client_id or not secret:
            missing = prefix + ("CLIENT_SECRET" if client_id else "CLIENT_ID")
            raise ConfigError(f"{missing}: required when {prefix}CLIENT_{'ID' if client_id else 'SECRET'} is set")
        configs[name] = PlatformConfig(
            client_id=client_id,
            client_secret=secret,
            redirect_uri=f"{public_url.rstrip('/')}/connect/{name}/callback",
            identity_url=environ.get(prefix + "IDENTITY_URL", "").strip(),
            api_base=environ.get(prefix + "API_BASE", "").strip(),
            webhook_key=environ.get(prefix + "WEBHOOK_KEY", "").strip(),
            scopes=_scope_set(registry, name, environ.get(prefix + "SCOPES", "")),
        )
    return configs


def _scope_set(registry: Registry, name: str, raw: str) -> str:
    """``ARCADENCE_<P>_SCOPES``, checked against the scope sets the plugin offers (``scope_sets``)."""
    value = raw.strip().lower()
    offered: tuple[str, ...] = tuple(getattr(registry.load(name), "scope_sets", ())) if value else ()
    if value and value not in offered:
        choices = " or ".join(offered) or "nothing (it has one set of scopes)"
        raise ConfigError(f"ARCADENCE_{name.upper()}_SCOPES: {name} offers {choices}, not {raw.strip()!r}")
    return value


@dataclass
class Runtime:
    """What every part of a process shares. Build it with :func:`build_runtime`."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    cipher: TokenCipher
    clock: Clock
    registry: Registry
    configs: dict[str, PlatformConfig]
    sleep: Callable[[float], None] = time.sleep
    """How rate limiting waits (tests pass one that advances their fixed clock)."""
    limiters: dict[str, RateLimiter] = field(default_factory=dict)
    _platforms: dict[str, Platform] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def platform(self, name: str) -> Platform:
        """The configured platform ``name`` (one instance per process).

        Raises:
            PluginError: unknown, broken, or not configured.
        """
        with self._lock:
            if name not in self._platforms:
                config = self.configs.get(name)
                if config is None:
                    raise PluginError(f"platform {name!r} is not configured (set ARCADENCE_{name.upper()}_CLIENT_ID)")
                cls = self.registry.load(name)
                defaults: Mapping[str, str] = getattr(cls, "defaults", {})
                config = _with_defaults(config, defaults)
                self._platforms[name] = self.registry.create(name, config, clock=self.clock, limiter=self.limiter(name))
            return self._platforms[name]

    def limiter(self, name: str) -> RateLimiter:
        """The rate limiter of platform ``name`` (keys are per organisation): on PostgreSQL its
        budgets live in the database and every worker process shares them; on SQLite (one
        process) they live in memory."""
        if name not in self.limiters:
            self.limiters[name] = make_limiter(
                self.sessions,
                platform=name,
                shared=self.engine.dialect.name == "postgresql",
                clock=self.clock,
                sleep=self.sleep,
            )
        return self.limiters[name]

    def access(self, organisation: Organisation) -> OrgAccess:
        """API access to ``organisation`` through its stored, encrypted, serialised-refresh tokens."""
        if organisation.connection_id is None:
            raise PluginError(f"organisation {organisation.id} has no connection")
        platform = self.platform(organisation.platform)
        clock = self.clock

        def refresh(tokens: Any) -> Any:
            return platform.refresh(tokens, now=clock.now())

        source = StoredTokenSource(self.sessions, self.cipher, organisation.connection_id, refresh, clock)
        org_id, sessions = organisation.id, self.sessions

        def stored_pay_urls(invoice_ids: Sequence[str]) -> dict[str, str]:
            with sessions() as session:
                rows = session.execute(
                    select(Invoice.external_id, Invoice.pay_url).where(
                        Invoice.organisation_id == org_id,
                        Invoice.external_id.in_(list(invoice_ids)),
                        Invoice.pay_url.is_not(None),
                    )
                )
                return {external_id: url for external_id, url in rows if url}

        return OrgAccess(
            organisation.external_id, source, base_currency=organisation.base_currency, stored_pay_urls=stored_pay_urls
        )

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def _with_defaults(config: PlatformConfig, defaults: Mapping[str, str]) -> PlatformConfig:
    return replace(
        config,
        identity_url=config.identity_url or defaults.get("identity_url", ""),
        api_base=config.api_base or defaults.get("api_base", ""),
    )


def build_runtime(
    settings: Settings,
    *,
    environ: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    configs: dict[str, PlatformConfig] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Runtime:
    """Wire a process from its settings (platform configs from ``environ`` unless given)."""
    engine = make_engine(settings.database_url)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        cipher=TokenCipher(settings.secret_keys),
        clock=clock or SystemClock(),
        registry=Registry(),
        configs=configs if configs is not None else platform_configs(environ or os.environ, settings.public_url),
        sleep=sleep,
    )
