import sys

from vocmap.cli import main

sys.exit(main())
