"""Runtime side: the Lambda code, one package, deployed as one asset (with catalog/).

handlers/  thin entry points: parse, call logic, return JSON
logic/     what the runbook's steps do; takes its AWS clients as arguments
runbooks/  one module per runbook (guard / act / verify), named after it
models/    pydantic models of the events and of what the steps hand each other
"""
