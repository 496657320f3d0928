"""The image canvas: a pyqtgraph ViewBox with the image, mask overlays and prompts."""
