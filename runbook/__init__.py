"""The engine that runs plans, for any owner of them: a deployment, a cluster, a revision.

A plan is data (plan.py): ordered steps, each one exact API request. The engine claims the
next step of an owner's plan on the step ledger (models.StepRun) with a lease, runs it
outside any transaction through the executor its action names (executors/), records the
result (results.py), and queues the owner's next advance at most once (dispatch.py). What
an owner is, what a step may write on its row and what happens when its plan ends is the
owner's adapter (owners.py), registered by its app.

It knows no app: it imports gcp/ and Django, never deployments/, clusters/ or portal/.
"""
