"""Hamamatsu streak camera system run by HPD-TA, remote-controlled through RemoteEx.

Command set: *HiPic/HPD-TA RemoteEx Programmer's Handbook* (v9.5), as used by
delmic/odemis ``driver/hamamatsurx.py`` and nplab ``StreakSdk``. HPD-TA runs on the streak
PC and controls the streak unit (location ``TD``), the delay generator (``Delaybox``),
the spectrograph (``Spec``) and the ORCA-Flash readout camera (``Setup``/``Acquire``).

* Two TCP sockets: commands on port 1001, binary data on port 1002 (RemoteExClient.INI:
  data port = command port + 1). On connection they send ``RemoteEx Ready`` and
  ``RemoteEx Data Ready``, CR terminated.
* Commands ``Name(arg1,arg2,...)`` CR terminated, raw arguments (spaces belong to the
  value: ``DevParamSet(TD,Time Range,20 ns)``). Every command is answered on the command
  port with ``EC,Name[,p1,...]``; EC 4 and 5 are runtime messages, not replies.
* ``AcqStart`` is asynchronous: poll ``AsyncCommandStatus()`` (``iPending,iPreparing,
  iActive[,name]``) until nothing is pending.
* ``ImgDataGet(current,Data)`` answers ``iDX,iDY,BBP,Type`` and sends iDX·iDY pixels
  (16-bit little endian, row by row, x = wavelength, y = time) on the data port;
  ``ImgDataGet(current,ScalingTable,Vertical|Horizontal)`` answers ``N,Type`` and sends N
  little-endian float32: the time of every row (in the engineering unit of the time range,
  as odemis reads it) and the wavelength of every column (nm).

Open it with the command port as the resource and the data port as the ``data_resource``
option (default: command port + 1).
"""

import math
import re
from contextlib import contextmanager
from decimal import Decimal

import numpy as np
from pymeasure.adapters import Adapter, VISAAdapter
from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_discrete_set, strict_range
from pyvisa import rname

from .base import DeviceError, PlainAttributes, ReplyError, poll
from .roles import StreakCamera

ERRORS = {
    1: "invalid syntax", 2: "command or parameter unknown", 3: "command currently not possible",
    6: "parameter missing", 7: "command cannot be executed (acquisition running?)",
    8: "error during execution", 9: "data cannot be sent by TCP/IP (data port not connected)",
    10: "parameter out of range",
}
RUNTIME_MESSAGES = {"4", "5"}          # live-monitor notices and message-box defaults
READY = "RemoteEx Ready"
DATA_READY = b"RemoteEx Data Ready\r"
FULL_SCALE = 65535
UNITS = (("s", 0), ("ms", -3), ("us", -6), ("ns", -9))      # decimal exponents
EXPOSURE_LIMITS = (1e-3, 10.0)         # s, ORCA-Flash in HPD-TA
DELAY_LIMITS = (0.0, 10.0)             # s, Delay A
APP_START_TIMEOUT = 60.0               # s, HPD-TA needs ~15 s to start
ACQUISITION_MODES = ("Acquire", "SingleLive", "Live", "AI", "PC")
_TIME = re.compile(r"\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*(ns|us|ms|s)\s*")


def time_text(seconds: float) -> str:
    """RemoteEx time string: ``20 ns``, ``0.5 ns``, ``250 ms``, ``2 s`` (no trailing zeros)."""
    for unit, exponent in UNITS:
        if seconds >= 10.0 ** exponent * (1 - 1e-9) or unit == "ns":
            return f"{round(seconds / 10.0 ** exponent, 9):g} {unit}"


def time_value(text: str) -> float:
    """Seconds of a RemoteEx time string (``20 ns``, ``1 us``, ``10ms``)."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise ReplyError(f"unexpected time value {text!r} from HPD-TA")
    return float(Decimal(match[1]).scaleb(dict(UNITS)[match[2]]))


def table_unit(time_range: float) -> float:
    """Unit (s) of the vertical scaling table: the engineering unit of the time range."""
    return 10.0 ** (3 * math.floor(math.log10(time_range) / 3 + 1e-9))


def _fixed(seconds: float) -> str:
    """Delay as HPD-TA accepts it: fixed point, ps resolution, no trailing zeros."""
    return f"{seconds:.12f}".rstrip("0").rstrip(".")


class HPDTA(PlainAttributes, Instrument, StreakCamera):
    """Streak camera under HPD-TA; ``acquire()`` returns dark-corrected counts (time × λ)."""

    def __init__(self, adapter, name="Hamamatsu HPD-TA streak camera", data_resource=None,
                 **kwargs):
        kwargs.setdefault("read_termination", "\r")
        kwargs.setdefault("write_termination", "\r")
        kwargs.setdefault("timeout", 5000)
        super().__init__(adapter, name, includeSCPI=False, **kwargs)
        self.data = data_resource if isinstance(data_resource, Adapter) else VISAAdapter(
            data_resource or _data_port(adapter), visa_library=kwargs.get("visa_library", ""),
            timeout=kwargs["timeout"])
        self._sent = ""
        self._darks = {}              # (exposure, binning, MCP gain) -> dark level, counts
        self._axes = None             # (time s, wavelength nm) of the last image
        self._saturated = False
        banner = self.adapter.read().strip()
        if banner != READY:
            raise DeviceError(f"RemoteEx command port greeted {banner!r}, expected {READY!r}")
        banner = self.data.read_bytes(len(DATA_READY))
        if banner != DATA_READY:
            raise DeviceError(f"RemoteEx data port greeted {banner!r}, expected {DATA_READY!r}")
        with self._timeout(APP_START_TIMEOUT):
            self.call("AppStart")                # returns at once if HPD-TA is running
        self._ranges = self._time_ranges()
        self.time_range_values = self._ranges    # validator of the time_range control

    # -- RemoteEx framing ------------------------------------------------------------
    def write(self, command: str, **kwargs) -> None:
        self._sent = command
        super().write(command, **kwargs)

    def read(self, **kwargs) -> str:
        """The parameters of the reply to the last command (``EC,Name,`` stripped);
        raises ``DeviceError`` on a non-zero error code. Runtime messages are skipped."""
        name = self._sent.partition("(")[0]
        while True:
            reply = super().read(**kwargs).strip()
            code, _, rest = reply.partition(",")
            if code not in RUNTIME_MESSAGES:
                break
        replied, _, payload = rest.partition(",")
        if replied.lower() != name.lower() or not code.isdigit():
            raise ReplyError(f"unexpected reply {reply!r} to {self._sent!r}")
        if code != "0":
            raise DeviceError(f"RemoteEx error {code} ({ERRORS.get(int(code), 'unknown')}) "
                              f"for {self._sent!r}")
        return payload

    def check_set_errors(self):
        self.read()
        return []

    def call(self, name: str, *args) -> list[str]:
        """Send ``name(args...)`` and return the reply's parameters."""
        payload = self.ask(f"{name}({','.join(str(a) for a in args)})")
        return payload.split(",") if payload else []

    @contextmanager
    def _timeout(self, seconds: float):
        connection = self.adapter.connection
        saved = connection.timeout
        connection.timeout = seconds * 1000
        try:
            yield
        finally:
            connection.timeout = saved

    # -- parameters ------------------------------------------------------------------
    time_range = Instrument.control(
        "DevParamGet(TD,Time Range)", "DevParamSet(TD,Time Range,%s)",
        "Control the sweep time range in s (one of ``time_ranges``).",
        validator=strict_discrete_set, values=(), dynamic=True, cast=str,  # from the unit
        get_process=time_value, set_process=time_text, check_set_errors=True)
    mcp_gain = Instrument.control(
        "DevParamGet(TD,MCP Gain)", "DevParamSet(TD,MCP Gain,%d)",
        "Control the MCP gain setting (0: no amplification).",
        validator=strict_discrete_set, values=range(64), cast=int, check_set_errors=True)
    mode = Instrument.control(
        "DevParamGet(TD,Mode)", "DevParamSet(TD,Mode,%s)",
        "Control the streak mode: Focus (no sweep) or Operate.",
        validator=strict_discrete_set, values=("Focus", "Operate"), cast=str,
        check_set_errors=True)
    shutter = Instrument.control(
        "DevParamGet(TD,Shutter)", "DevParamSet(TD,Shutter,%s)",
        "Control the streak tube's shutter (True: open).",
        validator=strict_discrete_set, values={True: "Open", False: "Closed"}, map_values=True,
        cast=str, check_set_errors=True)
    delay = Instrument.control(
        "DevParamGet(Delaybox,Delay A)", "DevParamSet(Delaybox,Delay A,%s)",
        "Control the delay from the trigger to the start of the sweep in s.",
        validator=strict_range, values=DELAY_LIMITS, set_process=_fixed, check_set_errors=True)
    exposure = Instrument.control(
        "CamParamGet(Acquire,Exposure)", "CamParamSet(Acquire,Exposure,%s)",
        "Control the readout camera's exposure in Acquire mode, s.",
        validator=strict_range, values=EXPOSURE_LIMITS, cast=str,
        get_process=time_value, set_process=time_text, check_set_errors=True)
    binning = Instrument.control(
        "CamParamGet(Setup,Binning)", "CamParamSet(Setup,Binning,%s)",
        "Control the readout camera's binning (1, 2 or 4).",
        validator=strict_discrete_set, values={1: "1 x 1", 2: "2 x 2", 4: "4 x 4"},
        map_values=True, cast=str, check_set_errors=True)
    center_wavelength = Instrument.control(
        "DevParamGet(Spec,Wavelength)", "DevParamSet(Spec,Wavelength,%g)",
        "Control the spectrograph's centre wavelength in nm.",
        validator=strict_range, values=(0.0, 1500.0), check_set_errors=True)
    slit_width = Instrument.control(
        "DevParamGet(Spec,Slit Width)", "DevParamSet(Spec,Slit Width,%g)",
        "Control the spectrograph's entrance slit width in µm.",
        validator=strict_range, values=(10.0, 2500.0), check_set_errors=True)
    grating = Instrument.measurement(
        "DevParamGet(Spec,Grating)", "Get the spectrograph's grating.", cast=str)
    trigger_rate = Instrument.measurement(
        "DevParamGet(Delaybox,Repetition Rate)", "Get the trigger (repetition) rate in Hz.")

    def _time_ranges(self) -> list[float]:
        """Allowed time ranges, from ``DevParamInfoEx`` (entries from index 6)."""
        info = self.call("DevParamInfoEx", "TD", "Time Range")
        return [time_value(entry) for entry in info[6:]]

    # -- acquisition -----------------------------------------------------------------
    @property
    def acquisition_pending(self) -> bool:
        """Whether an asynchronous command (an acquisition) is pending."""
        return int(self.call("AsyncCommandStatus")[0]) != 0

    def start_acquisition(self, mode: str = "Acquire") -> None:
        """``AcqStart``: Acquire (one exposure), SingleLive, Live, AI or PC."""
        self.call("AcqStart", strict_discrete_set(mode, ACQUISITION_MODES))

    def stop_acquisition(self, timeout: float = 1.0) -> None:
        """``AcqStop``, waiting up to ``timeout`` s for the acquisition to end."""
        self.call("AcqStop", round(timeout * 1000))

    def image_data(self) -> np.ndarray:
        """The current image as the camera reads it (uint16, rows = time)."""
        dx, dy, bbp = (int(v) for v in self.call("ImgDataGet", "current", "Data")[:3])
        if bbp != 2:
            raise DeviceError(f"image has {bbp} bytes per pixel; this driver reads 16-bit data")
        size = dx * dy * 2                       # read whole, not in pyvisa's 20 kB chunks
        return np.frombuffer(self.data.read_bytes(size, chunk_size=size), dtype="<u2").reshape(dy, dx)

    def scaling_table(self, direction: str) -> np.ndarray:
        """The current image's scaling table: ``Vertical`` (time of every row, in the
        unit of ``table_unit``) or ``Horizontal`` (wavelength of every column, nm)."""
        count = int(self.call("ImgDataGet", "current", "ScalingTable", direction)[0])
        return np.frombuffer(self.data.read_bytes(4 * count), dtype="<f4").astype(float)

    def take_image(self) -> np.ndarray:
        """One exposure in Acquire mode, raw counts."""
        exposure = self.exposure
        self.start_acquisition("Acquire")
        poll(self, lambda: not self.acquisition_pending, exposure + 10.0,
             interval=min(0.1, exposure / 4), what="HPD-TA acquisition")
        return self.image_data()

    def _dark_level(self) -> float:
        """Mean of an exposure with the streak shutter closed (offset + dark counts)."""
        was_open = self.shutter
        if was_open:
            self.shutter = False
        try:
            return float(self.take_image().mean())
        finally:
            if was_open:
                self.shutter = True

    # -- StreakCamera role -----------------------------------------------------------
    @property
    def time_ranges(self) -> list[float]:
        return list(self._ranges)

    def set_time_range(self, seconds: float) -> None:
        allowed = [t for t in self._ranges if math.isclose(t, seconds, rel_tol=1e-6)]
        if not allowed:
            raise ValueError(f"time range {seconds:g} s is not one of the streak unit's ranges "
                             f"({', '.join(time_text(t) for t in self._ranges)})")
        self.time_range = allowed[0]

    def set_mcp_gain(self, gain: int) -> None:
        self.mcp_gain = gain

    def set_delay(self, seconds: float) -> None:
        self.delay = seconds

    def set_exposure(self, seconds: float) -> None:
        self.exposure = seconds

    def open_shutter(self) -> None:
        self.shutter = True

    def close_shutter(self) -> None:
        self.shutter = False

    def acquire(self) -> np.ndarray:
        """One streak image in Operate mode, dark level removed. The dark level is
        measured once per (exposure, binning, MCP gain) with the shutter closed."""
        if self.mode != "Operate":
            self.mode = "Operate"
        key = (self.exposure, self.binning, self.mcp_gain)
        if key not in self._darks:
            self._darks[key] = self._dark_level()
        raw = self.take_image()
        self._saturated = bool(raw.max() >= FULL_SCALE)
        rows = self.scaling_table("Vertical") * table_unit(self.time_range)
        self._axes = (self.delay + rows, self.scaling_table("Horizontal"))
        return raw.astype(float) - self._darks[key]

    def _last_axes(self):
        if self._axes is None:
            raise DeviceError("no streak image acquired yet: the axes belong to an image")
        return self._axes

    @property
    def time_axis(self) -> np.ndarray:
        return self._last_axes()[0]

    @property
    def wavelength_axis(self) -> np.ndarray:
        return self._last_axes()[1]

    @property
    def saturated(self) -> bool:
        return self._saturated

    @property
    def identity(self) -> str:
        title, version = self.call("AppInfo", "Title")[0], self.call("AppInfo", "Version")[0]
        units = (self.call("DevParamGet", location, "DeviceName")[0]
                 for location in ("TD", "Delaybox", "Spec"))
        return f"Hamamatsu,{title} {version}," + ",".join(units)

    def settings(self) -> dict:
        return {"time_range_s": self.time_range, "mode": self.mode, "mcp_gain": self.mcp_gain,
                "shutter_open": self.shutter, "delay_s": self.delay,
                "exposure_s": self.exposure, "binning": self.binning,
                "trigger_rate_Hz": self.trigger_rate,
                "center_wavelength_nm": self.center_wavelength, "grating": self.grating,
                "slit_width_um": self.slit_width}

    def check_fault(self) -> None:
        """HPD-TA refuses commands (EC 3) when the application is not running."""
        self.call("AcqStatus")

    def safe_state(self) -> None:
        """Stop any acquisition (parameters are refused while acquiring), close the
        shutter and set the MCP gain to 0."""
        self.stop_acquisition()
        self.close_shutter()
        self.set_mcp_gain(0)

    def close(self) -> None:
        super().close()
        self.data.close()


def _data_port(resource: str) -> str:
    """The data port next to a command port resource (RemoteExClient.INI: port + 1)."""
    parsed = rname.parse_resource_name(resource)
    return f"TCPIP{parsed.board}::{parsed.host_address}::{int(parsed.port) + 1}::SOCKET"
