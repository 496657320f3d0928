import sys

from .encoder_and_clicks import main

sys.exit(main())
