from dlm_desktop.cli import main

raise SystemExit(main())
