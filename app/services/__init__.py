"""Services the window uses: the SAM worker thread, image loading and settings."""
