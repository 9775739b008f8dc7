# The cases are projects to audit, not tests: some hold their own tests/ folder (a case about
# findings under tests/ being left out), which pytest must not collect.
collect_ignore_glob = ["cases/*"]
