"""Identifiers that two services must compute alike without asking each other."""

import functools
import uuid

_CUSTOMER_NAMESPACE = uuid.UUID("6f6e2a53-3b8f-4a8e-9c1d-2f0c7c1e5a10")


@functools.lru_cache(maxsize=65536)
def customer_id_for(workspace: str, platform: str, platform_user_id: str) -> uuid.UUID:
    """The customer id of a platform identity: the same in every service, for every replica.

    It is also the identity's key (shared/identity.py): a merge or an erasure changes where the
    identity's events go, never this value.
    """
    return uuid.uuid5(_CUSTOMER_NAMESPACE, f"{workspace}\x1f{platform}\x1f{platform_user_id}")


def customer_id_at(identity_key: uuid.UUID, epoch: int) -> uuid.UUID:
    """The customer an identity starts after `epoch` erasures of it (epoch 0: its key itself).

    A contact after an erasure starts a new customer, which must not reuse the erased one's id.
    """
    if epoch == 0:
        return identity_key
    return uuid.uuid5(_CUSTOMER_NAMESPACE, f"{identity_key}\x1f{epoch}")
