"""Enrol hosts in the inventory's environment: the rollbook user and its keys, sudo (checked with
visudo), the environment marker, rollbook's folders. Run as the hosts' admin, once the host key was
recorded with ``rollbook trust-host``::

    pyinfra inventories/prod.py deploys/bootstrap.py --limit NEW_HOST --user admin -y
"""

from rollbook.admin.bootstrap import bootstrap

bootstrap()
