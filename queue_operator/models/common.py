"""Building blocks shared by the CR models: the camelCase base model and conditions."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

#: Kubernetes object names (RFC 1123 subdomain, as Secrets and custom resources use).
K8S_NAME = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"


class CRModel(BaseModel):
    """A part of a custom resource: camelCase in YAML, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    def dump(self) -> dict[str, object]:
        """The YAML/JSON form: camelCase, without unset optional fields."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class Condition(CRModel):
    """One observation of the resource's state, in the standard Kubernetes shape."""

    type: str = Field(description="Ready or Degraded.", max_length=64)
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(
        description="Why, in one CamelCase word (e.g. RedisUnreachable).", max_length=128
    )
    message: str = Field(description="What happened and what to do about it.", max_length=2048)
    last_transition_time: str = Field(
        description="When status last changed (RFC 3339).",
        json_schema_extra={"format": "date-time"},
    )
    observed_generation: int | None = Field(
        None, description="The metadata.generation this condition was computed from."
    )


class StatusBase(CRModel):
    """Fields every status carries."""

    observed_generation: int | None = Field(
        None, description="The metadata.generation the operator last reconciled successfully."
    )
    conditions: list[Condition] = Field(
        default_factory=list, description="Ready and Degraded, with reasons.", max_length=8
    )
    ready: bool | None = Field(
        None, description="Mirror of the Ready condition, for the printer column."
    )


class SecretKeyRef(CRModel):
    """A key of a Secret in the resource's namespace."""

    name: str = Field(description="Secret name.", max_length=253, pattern=K8S_NAME)
    key: str = Field(
        "url",
        description="Key holding the Redis URL (with credentials).",
        max_length=253,
        pattern=r"^[-._a-zA-Z0-9]+$",
    )
