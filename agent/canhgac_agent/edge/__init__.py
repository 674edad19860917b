"""The edge poller role (`[snmp]` in agent.toml): the agent polls its site's switches with the shared SNMP
code (`canhgac_agent.snmp`) and sends the polls in its spooled reports (`Report.snmp`), so a cut link
loses nothing. `config` checks the section, `wire` turns a poll into the report's `EdgePoll` dict,
`poller` runs the polls on their own thread and event loop. See docs/edge-polling.md.
"""
