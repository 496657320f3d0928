"""The session's messages, without Qt: newest first, read and resolved, and the banner's choice."""
from __future__ import annotations

import pytest

from app.model.notices import Notices


def test_the_list_is_newest_first_and_keeps_everything():
    notices, posted = Notices(), []
    notices.events.posted.connect(lambda e: posted.append(e.value.html))
    notices.warning("The last session ended unexpectedly")
    notices.warning("Skipped 4 unreadable files")
    assert [n.html for n in notices.newest_first()] == ["Skipped 4 unreadable files",
                                                         "The last session ended unexpectedly"]
    assert posted == ["The last session ended unexpectedly", "Skipped 4 unreadable files"]
    assert notices.unread_count == 2 and [n.id for n in notices.items] == [1, 2]
    with pytest.raises(ValueError):
        notices.post("fatal", "no such level")


def test_the_banner_shows_the_most_important_unread_and_a_warning_never_hides_an_error():
    notices = Notices()
    assert notices.banner() is None
    notices.info("Exported 3 images")
    error = notices.error("SAM decode failed")
    notices.warning("Skipped 1 unreadable file")  # newer, but less important
    notices.info("Forgot 2 missing images")
    assert notices.banner() is error
    assert [n.level for n in notices.pending()] == ["error", "warning", "info", "info"]
    notices.mark_read(error.id)
    assert notices.banner().html == "Skipped 1 unreadable file"
    notices.mark_all_read()
    assert notices.banner() is None and notices.unread_count == 0 and len(notices.items) == 4


def test_a_topic_is_resolved_by_a_newer_message_on_it_or_by_resolve():
    notices, changed = Notices(), []
    notices.events.changed.connect(lambda e: changed.append([n.id for n in e.value]))
    missing = notices.warning("No SAM checkpoint loaded", topic="checkpoint")
    failed = notices.error("SAM checkpoint failed: the file is empty", topic="checkpoint")
    assert notices.get(missing.id).resolved and not notices.get(failed.id).resolved and changed == [[missing.id]]
    assert notices.banner() == failed
    notices.resolve("checkpoint")  # a checkpoint loaded
    assert notices.banner() is None and notices.get(failed.id).resolved and not notices.get(failed.id).read
    assert changed[-1] == [failed.id]
    notices.resolve("checkpoint")  # nothing left to resolve: no event
    assert len(changed) == 2
    other = notices.warning("Not saving: the disk is full", topic="saving")
    assert notices.banner() == other  # other topics are untouched
