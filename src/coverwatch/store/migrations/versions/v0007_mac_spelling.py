"""Version 7: every device's MAC in the one spelling identity compares (``aa:bb:cc:dd:ee:ff``),
so that a run finds the devices it meets by MAC in SQL. Data only: no table changes.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from coverwatch.store.migrations import online, set_version

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_devices = sa.table("devices", sa.column("id", sa.Integer), sa.column("mac", sa.String))


def upgrade() -> None:
    """Respell stored MACs as ``identity.normalise_mac`` does (anything else is kept)."""
    if online():
        _respell()
    else:
        op.execute(
            "-- devices.mac respelling needs coverwatch's MAC parser: "
            "run `coverwatch db upgrade` online for it"
        )
    set_version(7)


def _respell() -> None:
    from coverwatch.identity import normalise_mac

    bind = op.get_bind()
    changed = [
        {"b_id": device_id, "b_mac": spelt}
        for device_id, mac in bind.execute(
            sa.select(_devices.c.id, _devices.c.mac).where(_devices.c.mac.is_not(None))
        )
        for spelt in (normalise_mac(mac),)
        if spelt and spelt != mac
    ]
    if changed:
        bind.execute(
            _devices.update()
            .where(_devices.c.id == sa.bindparam("b_id"))
            .values(mac=sa.bindparam("b_mac")),
            changed,
        )
