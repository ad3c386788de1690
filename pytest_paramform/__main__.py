import sys

from pytest_paramform.cli import main

sys.exit(main())
