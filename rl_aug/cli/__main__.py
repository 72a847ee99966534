import sys

from rl_aug.cli import main

sys.exit(main())
