"""Rendering: hostile text shows as plain text on both platforms, and long replies split under
each limit on line boundaries without losing or breaking a character."""

from __future__ import annotations

import html

import pytest

from bot.render import (
    DISCORD_CONTENT_LIMIT,
    DISCORD_EMBED_LIMIT,
    TELEGRAM_LIMIT,
    discord_markdown,
    telegram_html,
    utf16_len,
)
from tests.bot.chat_world import HOSTILE, discord_plain


def test_hostile_name_is_plain_html_for_telegram() -> None:
    assert telegram_html(HOSTILE) == ["&lt;b&gt;@everyone&lt;/b&gt; *_[x](http://evil)"]


def test_hostile_name_is_plain_markdown_for_discord() -> None:
    # * _ [ ] escaped (no bold, italics or masked link), @everyone broken by a zero-width space;
    # <b> means nothing to Discord. Checked by hand against Discord's markdown rules.
    assert discord_markdown(HOSTILE) == ["<b>@\u200beveryone</b> \\*\\_\\[x\\](http://evil)"]
    # escape_markdown alone leaves the second link of this one live; every bracket is escaped.
    assert discord_markdown("[a [b](http://evil)") == ["\\[a \\[b\\](http://evil)"]
    assert discord_markdown("<@123456789012345678> <@&123456789012345678> @here") == [
        "<@\u200b123456789012345678> <@\u200b&123456789012345678> @\u200bhere"
    ]


def test_title_is_bold_and_escaped_inside() -> None:
    assert telegram_html(f"{HOSTILE}\nsecond <line>", title=True) == [
        "<b>&lt;b&gt;@everyone&lt;/b&gt; *_[x](http://evil)</b>\nsecond &lt;line&gt;"
    ]
    assert discord_markdown("a_b\nc*d", title=True) == ["**a\\_b**\nc\\*d"]


def test_telegram_10k_reply_splits_on_line_boundaries() -> None:
    # 100 lines of 100 characters (10,099 with newlines); each line escapes to 140 characters
    # (10 x "&amp;" + 90), so 29 lines fit in 4,096: 29 * 140 + 28 = 4,088.
    line = "&" * 10 + "y" * 90
    text = "\n".join([line] * 100)
    chunks = telegram_html(text)
    assert [len(c) for c in chunks] == [4088, 4088, 4088, 13 * 140 + 12]
    assert all(set(c.split("\n")) == {"&amp;" * 10 + "y" * 90} for c in chunks)  # whole lines
    assert "\n".join(html.unescape(c) for c in chunks) == text


def test_discord_10k_reply_splits_under_embed_and_content_limits() -> None:
    # Each line escapes to 110 characters (10 x "\*" + 90): 36 lines per 4,096 embed.
    line = "*" * 10 + "y" * 90
    text = "\n".join([line] * 100)
    embeds = discord_markdown(text)
    assert [len(c) for c in embeds] == [3995, 3995, 28 * 110 + 27]
    assert "\n".join(discord_plain(c) for c in embeds) == text
    # Message content (2,000): 18 lines per message, 18 * 110 + 17 = 1,997.
    contents = discord_markdown(text, limit=DISCORD_CONTENT_LIMIT)
    assert [len(c) for c in contents] == [1997] * 5 + [10 * 110 + 9]
    assert "\n".join(discord_plain(c) for c in contents) == text


def test_one_huge_hostile_line_is_cut_at_spaces_never_inside_an_escape() -> None:
    text = " ".join([HOSTILE] * 300)  # 10,799 characters, no line break
    assert len(text) > 10_000
    tg = telegram_html(text)
    assert len(tg) == 4 and all(utf16_len(c) <= TELEGRAM_LIMIT for c in tg)
    assert all(c.endswith(" ") for c in tg[:-1])  # cut after a space
    assert "".join(html.unescape(c) for c in tg) == text  # no entity was cut in half
    dc = discord_markdown(text)
    assert len(dc) == 3 and all(utf16_len(c) <= DISCORD_EMBED_LIMIT for c in dc)
    assert not any("@everyone" in c for c in dc)
    assert "".join(discord_plain(c) for c in dc) == text


def test_limits_count_utf16_units() -> None:
    # Each rocket is 2 UTF-16 units: 2,048 fit in 4,096.
    chunks = telegram_html("\U0001f680" * 3000)
    assert [len(c) for c in chunks] == [2048, 952]
    assert all(utf16_len(c) <= TELEGRAM_LIMIT for c in chunks)


@pytest.mark.parametrize("text", ["", "  \n \n"])
def test_empty_reply_still_says_something(text: str) -> None:
    assert telegram_html(text) == ["(empty reply)"]
    assert discord_markdown(text) == ["(empty reply)"]
