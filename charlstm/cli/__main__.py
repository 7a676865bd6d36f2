import sys

from charlstm.cli.main import main

sys.exit(main())
