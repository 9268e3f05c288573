"""Names of the API: group, kinds, labels, condition vocabulary and in-pod paths.

Every module takes these names from here, so that a label key or a condition
reason is spelled once.
"""

GROUP = "featurestore.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

FEATURESTORE_KIND = "FeatureStore"
FEATURESTORE_PLURAL = "featurestores"
MATERIALIZATION_KIND = "Materialization"
MATERIALIZATION_PLURAL = "materializations"

# Labels on every child object.
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_FEATURESTORE = f"{GROUP}/featurestore"
LABEL_TASK = f"{GROUP}/task"
LABEL_MATERIALIZATION = f"{GROUP}/materialization"
MANAGED_BY = "featurestore-operator"
TASK_APPLY = "apply"
TASK_MATERIALIZE = "materialize"

# Annotations on Jobs.
ANNOTATION_APPLY_HASH = f"{GROUP}/apply-hash"

# Phases.
PHASE_PENDING = "Pending"
PHASE_APPLYING = "Applying"
PHASE_READY = "Ready"
PHASE_FAILED = "Failed"
PHASE_WAITING = "Waiting"
PHASE_RUNNING = "Running"
PHASE_SUCCEEDED = "Succeeded"
PHASE_SCHEDULED = "Scheduled"

# Condition types.
CONDITION_READY = "Ready"
CONDITION_APPLIED = "Applied"
CONDITION_STORAGE_READY = "StorageReady"
CONDITION_SOURCE_RESOLVED = "SourceResolved"
CONDITION_STORE_READY = "StoreReady"
CONDITION_SUCCEEDED = "Succeeded"
CONDITION_SCHEDULED = "Scheduled"

# Paths inside the Job pods.
REPO_MOUNT_PATH = "/feature-repo"
SOURCE_MOUNT_PATH = "/etc/featurestore/source"
GIT_CREDENTIALS_MOUNT_PATH = "/etc/featurestore/git-credentials"
TERMINATION_MESSAGE_PATH = "/dev/termination-log"

# Exit codes of the Job tasks. A user error (broken definitions, invalid
# feature_store.yaml, unknown feature view) fails the Job at once through its
# podFailurePolicy. Any other non-zero code may be retried up to backoffLimit.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USER_ERROR = 2
