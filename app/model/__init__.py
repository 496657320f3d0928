"""The document model: images, categories and annotations, with events, and no Qt.

Nothing under ``app.model`` imports Qt, pyqtgraph or torch.
"""

from app.model.annotation import Annotation, Category, ImageRecord, Provenance, default_color
from app.model.dataset import Dataset
from app.model.events import EmitterGroup, Event, EventEmitter
from app.model.mask import Mask

__all__ = [
    "Annotation",
    "Category",
    "Dataset",
    "EmitterGroup",
    "Event",
    "EventEmitter",
    "ImageRecord",
    "Mask",
    "Provenance",
    "default_color",
]
