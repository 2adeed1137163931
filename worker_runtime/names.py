"""The one pattern of queue names, shared by the engine, its models and the operator's CRDs."""

from __future__ import annotations

import re

#: Longest queue name.
MAX_QUEUE_NAME = 100
#: Queue names: letters, digits and ``._:-``; braces would break the Redis hash tag.
QUEUE_NAME_PATTERN = rf"^[A-Za-z0-9._:-]{{1,{MAX_QUEUE_NAME}}}$"
QUEUE_NAME = re.compile(QUEUE_NAME_PATTERN)
