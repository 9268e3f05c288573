"""Reconcile logic behind the handlers: read the cluster, build the desired objects, converge, report status."""
