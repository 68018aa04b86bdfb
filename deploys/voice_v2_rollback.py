"""Roll voice-v2 back: ``--data voice_level=1|2|3`` (default 1: ``.env`` and provider settings).

Level 2 restores the code from the newest ``/backup/voice_v2_<YYYYMMDD>`` (or ``voice_backup_dir``,
or ``voice_code_source=git voice_git_ref=<ref>``); level 3 swaps the compose image tag to
``voice_previous_image_tag`` (systemd hosts: the virtualenv from its backup). Voice files from the
backup bucket with ``--data voice_recover_files=true``::

    pyinfra inventories/prod.py deploys/voice_v2_rollback.py --data voice_level=2
"""

from rollbook.systems.voice_v2 import voice_v2

voice_v2(target="rolled_back")
