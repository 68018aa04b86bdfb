"""Requests and results of voice_v2's pipelines (runbook 003: ``STTRequest(audio_data=..., language="ru")``,
``TTSRequest(text=..., language="ru")``)."""

from dataclasses import dataclass


@dataclass
class STTRequest:
    audio_data: bytes
    language: str = "ru"


@dataclass
class TTSRequest:
    text: str
    language: str = "ru"


@dataclass
class STTResult:
    text: str
    provider: str


@dataclass
class TTSResult:
    audio: bytes
    provider: str
