import sys

from featurestore_operator.cli import main

sys.exit(main())
