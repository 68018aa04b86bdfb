"""voice-v2's stages (runbook 003): each hook goes through the run's levels in order (``levels``), then one
restart, one verification, and voice-file recovery as the cleanup::

    pipeline.run(VOICE, "rolled_back")    # the level voice_level; None: every recorded unit
"""

from dataclasses import replace

from pyinfra import host

from ...core.runs import SESSION
from ...host import envfile, s3, service, verify
from ...host.shell import http_ok
from ...pipeline import Context, Stage, Stages
from . import operations as voice_ops
from .checks import DECISIONS, judge
from .facts import VoiceEffect, VoiceHost, VoiceRecorded
from .levels import config_target, levels_of
from .request import GROUP, SYSTEM, VoiceRequest, code_source, desired_state, request_from, scope_of


class VoiceStages(Stages):
    name, group, desired_key, bound = SYSTEM, GROUP, "voice_desired", staticmethod(scope_of)

    def request(self, settings, target, recorded) -> VoiceRequest:
        desired, from_record = desired_state(settings, target, recorded or {})
        return replace(request_from(settings, desired, target), from_record=from_record)

    def inspect(self, request: VoiceRequest, settings):
        recorded_file, sources = f"{settings.rollbook_state_dir}/state.json", {}
        if request.target is None:  # a converge run: its units and level-2 source come from the record, read first
            recorded = host.get_fact(VoiceRecorded, recorded_file=recorded_file)
            request, sources = self.request(settings, None, recorded.units), recorded.sources
        levels, source = request.levels, code_source(request, sources)
        return host.get_fact(VoiceHost, settings=request.settings, recorded_file=recorded_file,
                             public=request.public, salt_file=request.salt_file, targets=request.env,
                             level=levels[0] if len(levels) == 1 else levels, backup=source.backup_dir,
                             backup_root=settings.voice_backup_root, ref=source.ref if 2 in levels else None,
                             image_tag=request.image_tag if 3 in levels else None)

    def sources(self, request: VoiceRequest, state) -> dict[str, str]:
        """The level-2 source a rollback restored: the backup directory, or the git commit checked out."""
        if request.desired.get("code") == "rolled_back" and state.code is not None and state.code.source:
            return {"code": state.code.source}
        return {}

    def differing(self, ctx: Context) -> list[str]:
        return [unit for level in levels_of(ctx.request) for unit in level.differing(ctx)]

    def refusal(self, ctx: Context) -> str:
        misshapen = ctx.state.misshapen if "env" in ctx.request.desired else []
        return (envfile.refusal(ctx.request.settings.env_file, ctx.state.env_file, misshapen)
                or next((why for level in levels_of(ctx.request) if (why := level.refusal(ctx))), ""))

    def converge(self, ctx: Context) -> Stage:
        stages = [level.steps(ctx) for level in levels_of(ctx.request)]
        return Stage(steps=[step for stage in stages for step in stage.steps],
                     changes=[change for stage in stages for change in stage.changes])

    def logs(self, ctx: Context):
        settings = ctx.request.settings
        return service.log_tail_command(settings.unit, settings.service, settings.app_dir,
                                        (settings.env_file, settings.env_previous), envfile.public_keys(ctx.settings))

    def apply(self, ctx: Context) -> Stage:
        request, settings, levels = ctx.request, ctx.request.settings, levels_of(ctx.request)
        reasons = [reason for level in levels for reason in level.reasons(ctx)]
        restore = service.Restore.of_run(ctx.run, settings.env_file if "env" in request.desired else "",
                                         config_target(ctx).env,
                                         also=dict.fromkeys(path for level in levels for path in level.restored(ctx)))
        return Stage(steps=[service.restarted(
            name=f"Restart {settings.service} so the process runs the target", unit=settings.unit,
            service=settings.service, project_dir=settings.app_dir, reasons=list(dict.fromkeys(reasons)),
            ready=http_ok(settings.base_url + settings.health_path, ctx.settings.voice_health_timeout,
                          "voice_health_path (or voice_base_url)"), restore=restore)])

    def verify(self, ctx: Context) -> None:
        request, settings = ctx.request, ctx.settings
        verify.verified(
            name="Verify the voice-v2 service", what=f"voice-v2 {request.describe()}", fact=VoiceEffect,
            fact_kwargs=dict(settings=request.settings, health_timeout=settings.voice_health_timeout,
                             latency_requests=settings.voice_latency_requests,
                             image_tag=request.image_tag if "image" in request.desired else None,
                             public=request.public, salt_file=request.salt_file, targets=request.env,
                             code=2 in request.levels, venv="venv" in request.desired,  # venv: systemd hosts only
                             validation_timeout=settings.voice_validation_timeout),
            judge=judge(ctx), system=SYSTEM, decisions=DECISIONS)

    def cleanup(self, ctx: Context) -> Stage:
        if not ctx.request.recover:
            return Stage()
        source, source_prefix, dest, dest_prefix = ctx.request.recover
        # counted once per run, the buckets being shared by the hosts (None: S3 did not answer, said once)
        key = ("voice_v2 recover", source.endpoint, source.bucket, source_prefix, dest.bucket, dest_prefix)
        count = SESSION.once(key, lambda: s3.counted(lambda: s3.plan_copy(source, source_prefix, dest, dest_prefix)))
        return Stage(
            steps=[voice_ops.files_recovered(
                name="Recover voice files from the backup bucket (missing or differing only)", source=source,
                source_prefix=source_prefix, dest=dest, dest_prefix=dest_prefix, count=count, _run_once=True)],
            cleanup={"voice_files_to_copy": count})


VOICE = VoiceStages()
