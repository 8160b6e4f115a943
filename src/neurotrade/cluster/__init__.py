"""The one place that talks to Ray: a local Ray sized to this machine, or any cluster by address.

``neurotrade run --workers N`` (folds and seeds in parallel), ``neurotrade tune`` (trials) and the API's jobs
all go through :func:`ray_session`, so how Ray is started, what it logs and how each task's threads are sized
is decided here once.
"""

from neurotrade.cluster._ray import missing_extra, ray_session, task_environment

__all__ = ["missing_extra", "ray_session", "task_environment"]
