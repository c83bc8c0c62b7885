"""Full-text search plumbing shared by chat messages and social posts: the query
guard, the supported languages, the per-user rate limit and HTML-safe snippets.

Snippets: the text is HTML-escaped in SQL *before* `ts_headline` sees it (the
parser reads `&lt;` and friends as single tokens, so a fragment never cuts one in
half), `ts_headline` marks matches with two private-use characters (first removed
from the text, so nobody can forge them), and only those markers then become
<mark> tags. Whatever a message holds, a `<script>` included, comes back as inert,
escaped text.
"""

from __future__ import annotations

from erplake.core.errors import BadRequest
from erplake.core.ratelimit import RateLimiter

LANGUAGES = ("english", "simple")
MAX_QUERY_CHARS = 120
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
SEARCHES_PER_MINUTE = "30 per 60 seconds"

START, STOP = "\ue000", "\ue001"
MARKERS = START + STOP
_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("''", "&#39;"))


def escaped_sql(expression: str, *, markers: str = ":markers") -> str:
    """SQL for `expression` without our markers, HTML-escaped; `markers` is where the
    statement binds MARKERS."""
    sql = f"translate({expression}, {markers}, '')"
    for raw, entity in _ENTITIES:
        sql = f"replace({sql}, '{raw}', '{entity}')"
    return sql


HEADLINE_OPTIONS = (
    f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)


class InvalidSearchQuery(BadRequest):
    code = "invalid_search_query"


class UnsupportedLanguage(BadRequest):
    code = "unsupported_language"


def checked_query(q: str | None) -> str:
    """The query as searched, or 400 when empty, blank or over 120 characters."""
    text = (q or "").strip()
    if not text:
        raise InvalidSearchQuery("type something to search for", details={"field": "q"})
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidSearchQuery(
            f"a search may be at most {MAX_QUERY_CHARS} characters",
            details={"field": "q", "max_length": MAX_QUERY_CHARS},
        )
    return text


def checked_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise UnsupportedLanguage(
            f"lang must be one of: {', '.join(LANGUAGES)}",
            details={"field": "lang", "allowed": list(LANGUAGES)},
        )
    return lang


async def count_search(limiter: RateLimiter, kind: str, user_id: object) -> None:
    """One search by this user; over 30 in any 60 seconds → 429."""
    await limiter.hit(
        SEARCHES_PER_MINUTE,
        f"search-{kind}",
        str(user_id),
        message="too many searches in a minute; wait a moment and try again",
    )


def safe_snippet(headline: str) -> str:
    """`ts_headline` over `escaped_sql(...)` → HTML with the matches in <mark>."""
    return headline.replace(START, "<mark>").replace(STOP, "</mark>")
