"""Tasks that run inside the operator's Job pods: apply and materialize.

This package imports Feast and the user's feature definitions. The operator
process never imports it; it only starts `python -m featurestore_operator.jobs`
in a Job and reads the JSON result from the pod's termination message.
"""
