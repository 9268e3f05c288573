"""A Kubernetes operator, built on kopf, that runs declarative Feast feature stores."""

__version__ = "0.1.0"
