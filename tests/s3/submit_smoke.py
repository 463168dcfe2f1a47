"""``amp-features`` as a spark-submit application (spark-submit runs a file, not a console script)."""

import sys

from amp_features.cli import main

sys.exit(main(sys.argv[1:]))
