"""What deployments really cost and what their model servers do: the measured spend ledger
(Google's billed time per deployment and day, beside the estimate) and samples of the model
servers' own metrics.

A Django app of its own rather than more of `deployments/`: its tables are written by their
own beat tasks from Google's and the model servers' measurements, kept for their own time
(the model-server samples have a bounded retention), and read by the deployment, team and
spend pages; keeping them apart keeps its migrations from interleaving with the domain's.
"""
