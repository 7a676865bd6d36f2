import sys

from charlstm.cli.app import main

sys.exit(main())
