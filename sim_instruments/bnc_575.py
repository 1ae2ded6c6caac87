"""Twin of the Berkeley Nucleonics BNC 575 pulse generator.

Every command line gets exactly one reply: ``ok`` for an accepted set command, the value
for a query, ``?n`` for an error (the YAML's "?5" for a value out of range; the other codes
are diagnosed here). On the serial port the 575 first echoes the command line it received
(``:SYST:ECH`` switches that off). Long forms (``:PULSE1:WIDTH``, ``:PULSE0:MODE``) and
ON/OFF are accepted like the short forms and 0/1 of the YAML.

The sample is driven by one channel (option ``channel``, default 1 = A): while the system
runs and the channel is on, pulses of the channel's width every T0 period, of the
adjustable amplitude (ADJ) or the TTL level; inverted or complemented pulses drive the
sample during the rest of the period. In burst or single-shot mode, or with triggers
enabled, the pulses last ``count`` periods from the trigger (``*TRG``) or the start.
"""

import functools
import re

import yaml
from pyvisa_sim.devices import Device

from .sample import PulseDrive
from .twin import MODELS_DIR, Twin, command, scpi_short_form

DEFINITION = "bnc_575.yaml"
TTL_LEVEL = 4.0              # V, TTL output into high impedance
CHANNEL = re.compile(r":PULS([0-9]+)")
#: Headers that act and take no parameter (no query form).
ACTIONS = {"*RST", "*TRG", "*ARM"}


@functools.cache
def known_headers() -> tuple[frozenset, frozenset]:
    """(headers with a query form, headers with a set form) of the YAML, channel
    headers as ``:PULS{ch_id}:...``."""
    device = next(iter(yaml.safe_load((MODELS_DIR / DEFINITION).read_text())["devices"].values()))
    properties = list(device["properties"].values()) + [
        p for channel in device["channels"].values() for p in channel["properties"].values()]
    queries = {p["getter"]["q"].rstrip("?") for p in properties}
    queries |= {d["q"].rstrip("?") for d in device["dialogues"] if d["q"].endswith("?")}
    settings = {p["setter"]["q"].split(" ")[0] for p in properties}
    return frozenset(queries), frozenset(settings)


def short_form(header: str) -> str:
    """``:PULSE1:OUTPUT:MODE`` -> ``:PULS1:OUTP:MOD`` (the 575 spells MODe)."""
    text = scpi_short_form(header.encode()).decode()
    text = ":".join("MOD" if node == "MODE" else node for node in text.split(":"))
    return text if header.startswith("*") else ":" + text


class BNC575Twin(Twin):
    """Options: ``channel`` driving the sample (1-4), ``edge_time`` of the pulses (s,
    default 5 ns), ``channels`` (4 for the 575-4)."""

    definition = DEFINITION

    def attach(self, name, device):
        super().attach(name, device)
        self.channel = int(self.options.get("channel", 1))
        self.channels = int(self.options.get("channels", 4))
        self._edge_time = float(self.options.get("edge_time", 5e-9))
        self.started_at = None          # simulated time the system was started
        self.triggered_at = None        # simulated time of the last accepted trigger

    # -- state --------------------------------------------------------------------
    def channel_value(self, name: str, channel: int):
        """Value of a channel property (``width``, ``enabled``...) of channel 1-4."""
        return self.device._channels["pulse"]._properties[name]._value[str(channel)]

    def serial(self) -> bool:
        return self.device.resource_name.startswith("ASRL")

    def edge_time(self) -> float:
        """Rise and fall time of the output pulses, s."""
        return self._edge_time

    # -- the command line -----------------------------------------------------------
    @command(rb"(.*)")
    def line(self, match):
        echo = match[0] + b"\r\n" if self.serial() and self.get("echo") else b""
        return echo + self.respond(match[0].decode("latin-1").strip()).encode()

    def respond(self, text: str) -> str:
        if not text.startswith((":", "*")):
            return "?1"
        header, _, parameter = text.partition(" ")
        if "" in header.lstrip(":").rstrip("?").split(":"):
            return "?2"
        query = header.endswith("?")
        header = short_form(header.rstrip("?"))
        found = CHANNEL.match(header)
        if found and int(found[1]) > self.channels:
            return "?3"
        parameter = parameter.strip()
        if parameter.upper() in ("ON", "OFF"):
            parameter = "1" if parameter.upper() == "ON" else "0"
        elif parameter.isalpha():
            parameter = scpi_short_form(parameter.encode()).decode()
        if header == "*TRG" and not query:
            return self.software_trigger()
        was_running = self.get("running")
        message = header + ("?" if query else "") + (" " + parameter if parameter else "")
        reply = Device._match(self.device, message.encode())
        if reply is None:
            template = CHANNEL.sub(lambda m: m[0] if m[1] == "0" else ":PULS{ch_id}", header)
            return self.diagnose(template, query, parameter)
        if self.get("running") and not was_running:
            self.started_at = self.clock.now()
        return reply.decode()

    def diagnose(self, header: str, query: bool, parameter: str) -> str:
        """The error code for a line the YAML does not accept."""
        queries, settings = known_headers()
        if query:
            if header in queries:
                return "?5"
            return "?7" if header in settings or header in ACTIONS else "?3"
        if header in settings:
            return "?5" if parameter else "?4"
        if header in ACTIONS:
            return "?5"
        return "?6" if header in queries else "?3"

    def software_trigger(self) -> str:
        """``*TRG`` triggers the system when it runs with triggers enabled."""
        if not self.get("running") or self.get("trigger_mode") != "TRIG":
            return "?8"
        self.triggered_at = self.clock.now()
        return "ok"

    # -- physics ------------------------------------------------------------------
    def pulse_drive(self):
        """The pulses the driving channel applies to the sample now (None: none)."""
        ch = self.channel
        if not (self.get("running") and self.channel_value("enabled", ch)):
            return None
        period = self.get("period")
        mode, triggered = self.get("mode"), self.get("trigger_mode") == "TRIG"
        if mode in ("SING", "BURS") or triggered:
            count = self.get("burst_count") if mode == "BURS" else 1
            start = self.triggered_at if triggered else self.started_at
            if start is None or self.clock.now() > start + count * period:
                return None
        width = min(self.channel_value("width", ch), period)
        if self.channel_value("polarity", ch) != "NORM":
            width = period - width
        amplitude = self.channel_value("amplitude", ch) \
            if self.channel_value("output_mode", ch) == "ADJ" else TTL_LEVEL
        return PulseDrive(amplitude, width, period)

    def safe_state_reached(self) -> bool:
        ch = self.channel
        off = not (self.get("running") and self.channel_value("enabled", ch))
        return off and self.channel_value("amplitude", ch) <= 2.0
