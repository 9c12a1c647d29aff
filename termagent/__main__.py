from termagent.cli.main import main

raise SystemExit(main())
