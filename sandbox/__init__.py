"""The sandbox: an embedded, offline AWS (moto) into which the synthesized templates are deployed.

``python -m sandbox demo`` shows an incident end to end; ``python -m sandbox run SCENARIO`` runs a
game day. The same engine runs the end-to-end tests.
"""
