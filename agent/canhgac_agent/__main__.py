"""`python -m canhgac_agent` is `canhgac-agent`."""

from canhgac_agent.cli import main

if __name__ == "__main__":
    main()
