"""The simulated province lab: snmpsim processes serving real and generated switch recordings on loopback.

Used by `canhgac demo`, the tests and the benches: real SNMP agents on loopback, not mocks. Needs the
`lab` extra (snmpsim, pysmi, snmpsim-data); nothing here is imported by `canhgac serve`.
"""
