"""The Jinja2 sandbox the templates run in, and the one way a template part is rendered.

Two sandboxed environments share one loader (the shipped partials under ``templates/``, which
user-edited templates may ``{% include %}``): ``text`` without autoescape for subjects and plain
text, ``html`` with autoescape. Both use :class:`~jinja2.StrictUndefined`, so a misspelt variable
is an error instead of an empty gap. Any failure — syntax, undefined variable, sandbox violation,
an exception inside the template — becomes one :class:`TemplateError`; a part is rendered whole
or not at all.
"""

from __future__ import annotations

import traceback
from functools import lru_cache
from typing import Any, Literal

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from connector.render.context import TemplateError

Part = Literal["subject", "text", "html"]

MAX_OUTPUT_CHARS = 500_000
"""A rendered part longer than this is refused (a loop gone wrong, not a reminder)."""

_MAX_POWER = 100


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with a guard against ``'x' * 10**9`` and huge powers (memory exhaustion)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > _MAX_POWER:
            raise SecurityError(f"exponent {right} is too large")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                repeated = isinstance(sequence, (str, list, tuple)) and isinstance(count, int)
                if repeated and len(sequence) * count > MAX_OUTPUT_CHARS:
                    raise SecurityError("repeating a sequence that often is not allowed")
        return super().call_binop(context, operator, left, right)


def _environment(autoescape: bool) -> _Sandbox:
    return _Sandbox(
        loader=jinja2.PackageLoader("connector.render", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )


@lru_cache(maxsize=2)
def environment(html: bool) -> _Sandbox:
    """The shared environment for HTML parts (autoescaped) or for subject and text parts."""
    return _environment(autoescape=html)


@lru_cache(maxsize=512)
def _compile(html: bool, source: str) -> jinja2.Template:
    return environment(html).from_string(source)


def _where(exc: BaseException) -> str:
    """``line 3`` or ``de/_claim.txt line 3``: where in the template the error happened."""
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.lineno:
        return f"{exc.name} line {exc.lineno}" if exc.name else f"line {exc.lineno}"
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == "<template>":
            return f"line {frame.lineno}"
        if frame.filename.endswith((".txt", ".html", ".subject")):
            return f"{frame.filename.rsplit('/templates/', 1)[-1]} line {frame.lineno}"
    return ""


def render_part(source: str, data: dict[str, Any], *, part: Part, key: str, language: str) -> str:
    """Render one part of a template.

    Args:
        source: the Jinja2 source of the part.
        data: the variables (see :func:`connector.render.formatting.template_data`).
        part: which part, which decides autoescaping (only ``html`` is escaped).
        key: the template key, for the error.
        language: the language rendered, for the error.

    Returns:
        The rendered text.

    Raises:
        TemplateError: the part failed to compile or to render, or came out too long.
    """
    try:
        output = _compile(part == "html", source).render(data)
    except Exception as exc:  # every failure holds the touch; none may produce half a message
        kind = "sandbox violation" if isinstance(exc, SecurityError) else type(exc).__name__
        where = _where(exc)
        detail = " ".join(str(exc).split()) or kind
        at = f" at {where}" if where else ""
        raise TemplateError(key, f"template {key!r} ({language}, {part}){at}: {kind}: {detail}") from exc
    if len(output) > MAX_OUTPUT_CHARS:
        raise TemplateError(key, f"template {key!r} ({language}, {part}): output over {MAX_OUTPUT_CHARS} characters")
    return output
