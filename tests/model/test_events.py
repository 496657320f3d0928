import pytest

from app.model.events import EmitterGroup, Event, EventEmitter, follow


def test_emit_calls_callbacks_in_order_with_event():
    emitter = EventEmitter("changed", source="model")
    seen = []
    emitter.connect(lambda e: seen.append(("first", e)))
    emitter.connect(lambda e: seen.append(("second", e)))
    event = emitter.emit("new", old="old")
    assert event == Event("changed", "model", "new", "old")
    assert [name for name, _ in seen] == ["first", "second"]
    assert all(e is event for _, e in seen)


def test_connect_is_idempotent_works_as_decorator_and_disconnects():
    emitter = EventEmitter("x")
    calls = []

    @emitter.connect
    def callback(event):
        calls.append(event.value)

    emitter.connect(callback)
    emitter.emit(1)
    emitter.disconnect(callback)
    emitter.emit(2)
    assert calls == [1]
    emitter.disconnect(callback)  # not connected: no error
    with pytest.raises(TypeError):
        emitter.connect("not callable")


def test_callbacks_may_disconnect_during_emit():
    emitter = EventEmitter("x")
    calls = []

    def once(event):
        calls.append("once")
        emitter.disconnect(once)

    emitter.connect(once)
    emitter.connect(lambda e: calls.append("always"))
    emitter.emit()
    emitter.emit()
    assert calls == ["once", "always", "always"]


def test_callback_errors_propagate():
    emitter = EventEmitter("x")

    def broken(event):
        raise RuntimeError("boom")

    emitter.connect(broken)
    with pytest.raises(RuntimeError, match="boom"):
        emitter.emit()


def test_group_exposes_emitters_and_connects_to_all():
    group = EmitterGroup("src", ["added", "removed"])
    assert group.names == ("added", "removed")
    assert group["added"] is group.added
    seen = []
    group.connect(lambda e: seen.append(e.type))
    group.added.emit()
    group.removed.emit()
    assert seen == ["added", "removed"]
    group.disconnect()
    group.added.emit()
    assert seen == ["added", "removed"]
    with pytest.raises(ValueError):
        EmitterGroup("src", ["connect"])


def test_follow_moves_a_callback_to_the_current_model():
    class Model:
        def __init__(self):
            self.events = EmitterGroup(source=self, names=("changed",))

    first, second = Model(), Model()
    seen = []

    def callback(event):
        seen.append(event.source)

    current = follow(None, first, callback)
    assert current is first
    first.events.changed.emit(1)
    current = follow(current, second, callback)
    first.events.changed.emit(2)  # no longer followed
    second.events.changed.emit(3)
    assert follow(current, None, callback) is None
    second.events.changed.emit(4)
    assert seen == [first, second]
