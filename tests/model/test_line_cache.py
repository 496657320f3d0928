"""LineCache: the same bytes as encoding the whole image file, encoding only new annotations."""
from __future__ import annotations

from app.model import Annotation, ImageRecord, Mask, Provenance
from app.model.io.line_cache import LineCache
from app.model.io.project_format import document_bytes, image_to_json
from tests.model.conftest import jagged, rectangle

SHAPE = (48, 64)


def test_saves_give_the_full_encoding_bytes_and_encode_only_what_changed():
    image = ImageRecord(1, "a.jpg", SHAPE[1], SHAPE[0])
    annotations = [
        Annotation(1, 1, 1, Mask.from_full(rectangle(SHAPE, 3, 4, 10, 8))),
        Annotation(2, 1, 2, Mask.from_full(jagged(SHAPE)), Provenance(points=((5.5, 6.0),), point_labels=(1,),
                                                                      predicted_iou=0.93, source="sam")),
        Annotation(3, 1, 1, Mask.from_full(rectangle(SHAPE, 40, 30, 20, 12)), polygons=((40, 30, 59, 30, 59, 41),)),
    ]
    cache = LineCache()

    def check(items, done=False):
        assert cache.image_bytes(image, done, items) == document_bytes(image_to_json(image, done, list(items)))

    check([])
    check(annotations)
    assert cache.encoded == 3
    edited = annotations[1].with_mask(Mask.from_full(rectangle(SHAPE, 20, 20, 5, 5)))
    check([annotations[0], edited, annotations[2]], done=True)
    assert cache.encoded == 4  # one edit, one line encoded
    check([annotations[0], annotations[2]])  # a delete encodes nothing
    assert cache.encoded == 4
    check([annotations[0], annotations[1], annotations[2]])  # the old object again (an undo): its line is gone
    assert cache.encoded == 5
    cache.forget("a.jpg")
    check(annotations)
    assert cache.encoded == 8
