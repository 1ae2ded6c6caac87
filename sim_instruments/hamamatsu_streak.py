"""Twin of a Hamamatsu streak camera under HPD-TA/RemoteEx: connection banners on both
ports, asynchronous acquisition on the simulated clock, and streak images of the
sample's time-resolved emission on the data port."""

import math
import re
from dataclasses import dataclass

import numpy as np
from pyvisa import rname
from pyvisa_sim.devices import Device
from scipy.ndimage import gaussian_filter1d

from .sample import FWHM_TO_SIGMA
from .twin import Twin, command, computed

BANNERS = {"remoteex": b"RemoteEx Ready\r", "remoteex_data": b"RemoteEx Data Ready\r"}
SENSOR = (1344, 1016)           # readout subarray, unbinned px: x (wavelength), y (time)
PIXEL = 12.4 / 1344             # mm of photocathode per unbinned column
FULL_SCALE = 65535
MAX_GAIN = 63
GAIN_DECADES = 3.0              # counts per photoelectron fall 10^3 from gain 63 to gain 0+
MIN_RESOLUTION = 20e-12         # s, best IRF FWHM of the streak tube
DRAW_BLOCK = 1 << 17            # random values per draw (see _blocks)
NONLINEARITY = 0.04             # the sweep runs 4 % faster at its start than on average
FOCAL_LENGTH = 328.0            # mm, spectrograph
STARTUP = 15.0                  # s for AppStart to start HPD-TA
EXPOSURE_LIMITS = (1e-3, 10.0)  # s
READOUT = 0.01                  # s to read a frame out
FOCUS_WIDTH = 3.0               # unbinned rows (σ) of the focused slit image
FIRST_STEP = 1e-14              # s, finest step of the time integration grid
EXCESS = 2.0                    # MCP pulse-height distribution: relative variance 1/EXCESS
UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_QUANTITY = re.compile(r"\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s*(\S*)\s*")
_CALL = re.compile(r"\s*(\w+)\((.*)\)\s*", re.DOTALL)

#: RemoteEx commands the twin handles itself (the YAML answers the rest).
HANDLERS = {"AppStart": "app_start", "AppEnd": "app_end", "AcqStart": "acq_start",
            "AcqStop": "acq_stop", "AcqStatus": "acq_status",
            "AsyncCommandStatus": "async_status", "ImgDataGet": "image_data_get",
            "DevParamInfoEx": "parameter_info", "DevParamGet": "parameter",
            "DevParamSet": "parameter", "CamParamGet": "parameter", "CamParamSet": "parameter"}
COMMANDS = {name.lower(): name for name in (*HANDLERS, "AppInfo")}   # names ignore case
LOCATIONS = {"td": "TD", "streak": "TD", "streakcamera": "TD", "del": "Delaybox",
             "delay": "Delaybox", "delaybox": "Delaybox", "del1": "Delaybox", "spec": "Spec",
             "spectrograph": "Spec", "setup": "Setup", "live": "Live", "acquire": "Acquire"}
ACQ_MODES = {m.lower(): m for m in ("Live", "SingleLive", "Acquire", "AI", "PC")}
VERTICAL, HORIZONTAL = {"v", "ver", "vertical", "y"}, {"h", "hor", "horizontal", "x"}


class Refused(Exception):
    """A command answered with a non-zero RemoteEx error code."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def quantity(text: str) -> float:
    """Value of ``20 ns``, ``250 ms``, ``300 g/mm``, ``100`` (time units -> s); NaN if none."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        return math.nan
    return float(match[1]) * UNITS.get(match[2], 1.0)


def _list_order(entry: str):
    """Order of a list parameter's entries: by value (``0.5 ns`` < ``1 us``), else by name."""
    value = quantity(entry)
    return (0, value, entry) if not math.isnan(value) else (1, 0.0, entry)


def time_text(seconds: float) -> str:
    """HPD-TA's own form of a time: ``100 ms``, ``2 s``, ``0.5 ns``."""
    for unit in ("s", "ms", "us", "ns"):
        if seconds >= UNITS[unit] * (1 - 1e-9) or unit == "ns":
            return f"{round(seconds / UNITS[unit], 9):g} {unit}"


def table_unit(time_range: float) -> float:
    """Unit of the vertical scaling table: the engineering unit of the time range."""
    return 10.0 ** (3 * math.floor(math.log10(time_range) / 3 + 1e-9))


@dataclass
class Acquisition:
    mode: str
    exposure: float               # s
    end: float | None             # simulated time it completes (None: Live until stopped)
    frame: tuple | None           # (image, time table, wavelength table) when it completes


class HPDTATwin(Twin):
    """Options: ``data_resource`` (default: command port + 1), ``pulse_arrival`` (s from
    the trigger to the pump pulse at the sample), ``efficiency`` (photoelectrons per
    collected photon), ``counts_per_electron`` (at MCP gain 63), ``offset`` and
    ``read_noise`` (counts), ``dark_rate`` (photocathode electrons/s per unbinned pixel),
    ``time_resolution`` (IRF FWHM as a fraction of the time range) and ``app_running``
    (HPD-TA already started on the streak PC)."""

    definition = "hamamatsu_streak.yaml"

    def __init__(self, sim, slot, options, model=""):
        super().__init__(sim, slot, options, model)
        self.greeted = {}             # device -> (its banner, sessions already greeted)

    def resources(self, resource):
        data = self.options.get("data_resource")
        if data is None:
            parsed = rname.parse_resource_name(resource)
            data = f"TCPIP{parsed.board}::{parsed.host_address}::{int(parsed.port) + 1}::SOCKET"
        return {"remoteex": resource, "remoteex_data": data}

    def attach(self, name, device):
        self.greeted[device] = (BANNERS[name], set())
        if name == "remoteex_data":
            self.data = device
            return
        super().attach(name, device)
        o = self.options
        self.arrival = float(o.get("pulse_arrival", 1e-9))
        self.efficiency = float(o.get("efficiency", 0.1))
        self.counts_per_electron = float(o.get("counts_per_electron", 400.0))
        self.offset = float(o.get("offset", 100.0))
        self.read_noise = float(o.get("read_noise", 1.5))
        self.dark_rate = float(o.get("dark_rate", 0.05))
        self.time_resolution = float(o.get("time_resolution", 0.015))
        self.running = bool(o.get("app_running", True))
        self.acquisition = None
        self.frame = None             # current image and its scaling tables

    # -- connections ---------------------------------------------------------------
    def _sessions(self, device):
        return {handle for handle, session in self.sim.library.sessions.items()
                if getattr(session, "device", None) is device}

    def poll_output(self, device):
        """RemoteEx greets every new connection: the banner is the first thing it reads."""
        banner, seen = self.greeted[device]
        for handle in self._sessions(device) - seen:
            device._output_buffers.appendleft(bytearray(banner))
            seen.add(handle)

    # -- command dispatch ------------------------------------------------------------
    @command(r"(.*)")
    def dispatch(self, match):
        text = match[1].decode("latin-1")
        call = _CALL.fullmatch(text)
        if call is None:
            return f"1,{text.partition('(')[0].strip()}"
        name = COMMANDS.get(call[1].lower(), call[1])
        args = call[2].split(",") if call[2] else []
        self._update()
        try:
            if not self.running and name != "AppStart":
                raise Refused(3)
            if name in HANDLERS:
                return getattr(self, HANDLERS[name])(name, args)
            return self._yaml(f"{name}({','.join(args)})")
        except Refused as refusal:
            return f"{refusal.code},{name}"

    def _yaml(self, query: str) -> bytes:
        """The YAML's answer (dialogues, getters, setters with their specs)."""
        reply = Device._match(self.device, query.encode("latin-1"))
        if reply is None:
            raise Refused(2)
        return reply

    def _update(self) -> None:
        a = self.acquisition
        if a is not None and a.end is not None and self.clock.now() >= a.end:
            self.frame, self.acquisition = a.frame, None

    # -- application and acquisition -------------------------------------------------
    def app_start(self, name, args):
        if not self.running:
            self.sleep(STARTUP)
            self.running = True
        return "0,AppStart"

    def app_end(self, name, args):
        self.running, self.acquisition = False, None
        return "0,AppEnd"

    def acq_start(self, name, args):
        if not args or not args[0]:
            raise Refused(6)
        mode = ACQ_MODES.get(args[0].lower())
        if mode is None:
            raise Refused(2)
        if self.acquisition is not None:
            raise Refused(7)
        if mode in ("AI", "PC"):
            raise Refused(3)         # analog integration and photon counting: not simulated
        exposure = quantity(self.get("exposure_acquire" if mode == "Acquire" else "exposure_live"))
        if mode == "Live":
            self.acquisition = Acquisition(mode, exposure, None, None)
        else:
            end = self.clock.now() + exposure + READOUT
            self.acquisition = Acquisition(mode, exposure, end, self.expose(exposure))
        return "0,AcqStart"

    def acq_stop(self, name, args):
        if args and args[0]:
            wait = quantity(args[0])
            if math.isnan(wait):
                raise Refused(1)
            if not 1 <= wait <= 60000:
                raise Refused(10)
        self.acquisition = None
        return "0,AcqStop"

    def acq_status(self, name, args):
        a = self.acquisition
        return f"0,AcqStatus,busy,{a.mode}" if a else "0,AcqStatus,idle"

    def async_status(self, name, args):
        return "0,AsyncCommandStatus,1,0,1,AcqStart" if self.acquisition else \
            "0,AsyncCommandStatus,0,0,0"

    # -- parameters ----------------------------------------------------------------
    def parameter(self, name, args):
        setting = name.endswith("Set")
        if len(args) < (3 if setting else 2) or not all(args[:2]):
            raise Refused(6)
        location = LOCATIONS.get(args[0].lower())
        if location is None:
            raise Refused(2)
        if setting and self.acquisition is not None:
            raise Refused(7)
        if setting and location in ("Live", "Acquire") and args[1] == "Exposure":
            seconds = quantity(",".join(args[2:]))
            low, high = EXPOSURE_LIMITS
            if not low <= seconds <= high:      # NaN too
                raise Refused(10)
            self.put(f"exposure_{location.lower()}", time_text(seconds))
            return "0,CamParamSet"
        return self._yaml(f"{name}({location},{','.join(args[1:])})")

    def parameter_info(self, name, args):
        """``ctrl,status,label,current,type,...``: type 2 (list) + count + entries,
        type 1 (numeric) + min, max, type 5 (display only)."""
        if len(args) < 2 or not all(args[:2]):
            raise Refused(6)
        getter = f"DevParamGet({LOCATIONS.get(args[0].lower())},{args[1]})"
        if getter.encode() not in self.device._getters:
            raise Refused(2)
        specs = self.device._properties[self.device._getters[getter.encode()][0]].specs
        current = self._yaml(getter).decode().split(",", 2)[2]
        if specs is not None and specs.valid:
            entries = sorted(specs.valid, key=_list_order)
            kind = f"2,{len(entries)},{','.join(entries)}"
        elif specs is not None and specs.min is not None:
            kind = f"1,{specs.min:g},{specs.max:g}"
        else:
            kind = "5"
        return f"0,DevParamInfoEx,-1,-1,{args[1]},{current},{kind}"

    @computed("rep_rate")
    def trigger_rate(self) -> float:
        """The delay generator counts the pump laser's sync pulses."""
        laser = self.sim.twins.get("PumpLaser")
        return laser.laser_output().rep_rate if laser is not None else 0.0

    # -- image data ------------------------------------------------------------------
    def image_data_get(self, name, args):
        if len(args) < 2 or not all(args[:2]):
            raise Refused(6)
        if args[0].lower() != "current":
            raise Refused(2)
        if not self._sessions(self.data):
            raise Refused(9)
        kind = args[1].lower()
        if self.acquisition is not None:
            if self.acquisition.mode != "Live":
                raise Refused(7)
            if kind == "data" or self.frame is None:              # the newest live frame
                self.frame = self.expose(self.acquisition.exposure)
        if self.frame is None:
            raise Refused(7)
        image, times, wavelengths = self.frame
        if kind == "data":
            payload, reply = image.astype("<u2").tobytes(), \
                f"0,ImgDataGet,{image.shape[1]},{image.shape[0]},2,Data"
        elif kind == "scalingtable":
            if len(args) < 3:
                raise Refused(6)
            direction = args[2].lower()
            if direction not in VERTICAL | HORIZONTAL:
                raise Refused(2)
            table = times if direction in VERTICAL else wavelengths
            payload = table.astype("<f4").tobytes()
            reply = f"0,ImgDataGet,{len(table)},ScalingTable"
        else:
            raise Refused(2)
        self.data._output_buffers.append(bytearray(payload))
        return reply

    # -- physics -------------------------------------------------------------------
    def expose(self, exposure: float) -> tuple:
        """One frame: (uint16 image (time × λ), time table in ``table_unit``, λ table nm)."""
        b = int(self.get("binning")[0])
        nx, ny = SENSOR[0] // b, SENSOR[1] // b
        span = quantity(self.get("time_range"))
        edges = span * self._sweep(np.arange(ny + 1) * b / SENSOR[1])
        centres = span * self._sweep((np.arange(ny) + 0.5) * b / SENSOR[1])
        wl, resolution = self._spectrograph(nx, b)
        electrons = np.full((ny, nx), self.dark_rate * b * b * exposure)
        if self.get("shutter") == "Open" and self.sim.sample is not None:
            electrons += self.efficiency * self._photons(edges, wl, resolution, exposure, span)
        image = self._detect(electrons)
        return image, (centres / table_unit(span)).astype(np.float32), wl.astype(np.float32)

    def _sweep(self, u):
        """Fraction of the time range reached at fraction ``u`` of the image height (the
        sweep is slightly faster at its start; the scaling table tells the truth)."""
        return u + NONLINEARITY * u * (1 - u)

    def _spectrograph(self, nx: int, b: int):
        """Wavelength of every column (nm) and the spectral resolution (FWHM, nm)."""
        per_mm = 1e6 / (quantity(self.get("grating")) * FOCAL_LENGTH)        # nm/mm
        x = (np.arange(nx) + 0.5) * b - SENSOR[0] / 2
        wl = self.get("wavelength") + per_mm * PIXEL * x
        return wl, math.hypot(self.get("slit_width") * 1e-3 * per_mm, 2 * per_mm * PIXEL)

    def _photons(self, edges, wl, resolution, exposure, span):
        """Photons collected per pixel in one exposure (rows: sweep bins ``edges``, s):
        a sum of bands, each a spectrum times its own time profile (swept: blurred by the
        streak tube's time response; Focus mode: the slit image)."""
        sample, optics = self.sim.sample, self.sim.optics
        env = optics.environment()
        rows, per_nm = len(edges) - 1, np.abs(np.gradient(wl))
        photons = np.zeros((rows, len(wl)))
        focus = self.get("mode") == "Focus"
        for pump in optics.pumps():
            pulses = pump.rep_rate * exposure
            if self.get("trigger_mode") == "Single":
                pulses = min(pulses, 1.0)     # one sweep, then the trigger waits for a reset
            if focus:
                spectrum = sample.emission(wl, pump, env, resolution, self.rng, pulses)
                bands = [(self._focused(rows), spectrum)]
            else:
                after_pulse = edges + self.get("delay") - self.arrival
                fwhm = max(self.time_resolution * span, MIN_RESOLUTION)
                sigma_rows = fwhm * FWHM_TO_SIGMA / (span / rows)
                bands = [(gaussian_filter1d(profile, sigma_rows, mode="constant"), spectrum)
                         for profile, spectrum in _binned_dynamics(sample, pump, env, after_pulse, wl,
                                                                   resolution)]
            for profile, spectrum in bands:
                photons += np.outer(profile, pulses * per_nm * spectrum)
        return photons

    def _focused(self, ny: int):
        """Row profile of the slit image without sweep (Focus mode), unit sum."""
        rows = np.arange(ny)
        profile = np.exp(-0.5 * ((rows - (ny - 1) / 2) * SENSOR[1] / ny / FOCUS_WIDTH) ** 2)
        return profile / profile.sum()

    def _detect(self, electrons):
        """MCP gain (with its pulse-height spread), photon statistics, offset, read
        noise and the 16-bit converter."""
        gain = self.get("mcp_gain")
        per_electron = 0.0 if gain == 0 else self.counts_per_electron * 10 ** (
            -GAIN_DECADES * (MAX_GAIN - gain) / MAX_GAIN)
        counts = _normal(self.rng, electrons.size, np.float32)   # float32 resolves
        counts *= self.read_noise                                  # 0.004 count
        counts += self.offset
        if per_electron > 0:
            mean, n = electrons.ravel(), np.empty(electrons.size, np.int64)
            for part in _blocks(n.size):                 # + pulse-height spread, variance
                n[part] = self.rng.poisson(mean[part])   # n/EXCESS, for the pixels with
            hit = np.flatnonzero(n)                      # electrons
            n = n[hit]
            spread = np.sqrt(n / EXCESS) * _normal(self.rng, n.size)
            counts[hit] += per_electron * np.maximum(n + spread, 0.0)
        counts = counts.reshape(electrons.shape)
        return np.clip(np.rint(counts, out=counts), 0, FULL_SCALE, out=counts).astype(np.uint16)

    def safe_state_reached(self) -> bool:
        self._update()
        return self.acquisition is None and self.get("shutter") == "Closed" \
            and self.get("mcp_gain") == 0


def _blocks(size: int) -> list[slice]:
    """``size`` values in blocks of ``DRAW_BLOCK``: a random draw over a whole image holds
    the interpreter for tens of ms (numpy's generators keep it); between blocks the runner
    of another stream and the GUI get it. The values come out as from one call."""
    return [slice(start, start + DRAW_BLOCK) for start in range(0, size, DRAW_BLOCK)]


def _normal(rng, size: int, dtype=np.float64) -> np.ndarray:
    """``rng.standard_normal(size, dtype)``, drawn in blocks."""
    values = np.empty(size, dtype)
    for part in _blocks(size):
        rng.standard_normal(dtype=dtype, out=values[part])
    return values


def _binned_dynamics(sample, pump, env, edges, wl, resolution):
    """The sample's bands after one pulse, each as (photons per pulse in each time bin
    between ``edges`` (s after the pulse) per unit of its spectrum, spectrum per nm): the
    decays integrated on a grid that resolves ps components at any range."""
    grid = [np.zeros(1), np.clip(edges, 0.0, None)]
    if edges[-1] > FIRST_STEP:                 # 30 points per decade from 10 fs on
        decades = math.log10(edges[-1] / FIRST_STEP)
        grid.append(np.geomspace(FIRST_STEP, edges[-1], int(30 * decades) + 2))
    grid = np.unique(np.concatenate(grid))
    at_edges = np.searchsorted(grid, np.clip(edges, 0.0, None))
    bands = []
    for decay, spectrum in sample.dynamics_terms(grid, wl, pump, env, resolution):
        steps = 0.5 * (decay[1:] + decay[:-1]) * np.diff(grid)
        cumulative = np.concatenate([np.zeros(1), np.cumsum(steps)])
        bands.append((np.diff(cumulative[at_edges]), spectrum))
    return bands
