"""What operators run by hand: the CLI (operators/cli.py) and the approvals it answers (operators/approvals.py).

Everything here takes ``clients``, a callable service-name -> boto3 client, so the same code acts on real AWS
(a profile's session) and on the sandbox (its moto-backed clients)."""
