"""Start Maskwright: ``python main.py [FOLDER] [--checkpoint PATH] [--device auto|cpu|cuda|mps]``."""
import sys

from app.bootstrap.cli import main

if __name__ == "__main__":
    sys.exit(main())
