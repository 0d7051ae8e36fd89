from seed.cli import main

raise SystemExit(main())
