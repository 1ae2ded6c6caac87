"""Simulated-instrument throughput: our pyvisa-sim extension against stock pyvisa-sim.

    python benchmarks/sim_throughput.py [--seconds 2] [--quick] [--json FILE]

Queries per second, each measured for ``--seconds`` (median of three runs):

* a spectrum of 1024 floats as text (``DATA?``, ~8.5 kB, a static YAML reply) read with
  ``query_ascii_values``: stock pyvisa-sim (its byte-per-call read) against the same
  YAML device behind our library (``SimBenchLibrary``: whole-chunk reads);
* the USB2000+ twin's binary spectra (2048 pixels computed from the sample physics
  with photon and read noise), bare pyvisa and through the labctl driver;
* the streak camera twin's images (1344 × 1016 and 2 × 2 binned, 16-bit, computed
  from the sample's dynamics) through the labctl driver;
* stock pyvisa-sim's byte rate on a 64 kB text reply, and what it implies for one
  image (stock pyvisa-sim cannot send binary: the image would go as text).

Targets: text spectra through ours ≥ 1.5 k/s (what chunked reads reached in the
prototype of stack-notes §3) and ≥ 7× stock; full-size streak images ≥ 10/s (the
streaming benchmark's rate).
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from common import add_common, check, finish, info, machine

RESOURCE = "TCPIP::spectro.sim::INSTR"


def spectrum_yaml(directory) -> Path:
    values = ",".join(f"{1000 + 500 * (i % 37) / 37:.4f}" for i in range(1024))
    text = "\n".join([
        'spec: "1.1"',
        "devices:",
        "  spectro:",
        "    eom:",
        '      TCPIP INSTR: {q: "\\n", r: "\\n"}',
        "    dialogues:",
        '      - q: "*IDN?"',
        '        r: "Bench,TextSpectrometer,0,1.0"',
        '      - q: "DATA?"',
        f'        r: "{values}"',
        '      - q: "BLOCK?"',
        f'        r: "{("1234.5678," * 7282)[:65536]}"',
        "resources:",
        f"  {RESOURCE}: {{device: spectro}}",
    ])
    path = Path(directory) / "text_spectrometer.yaml"
    path.write_text(text + "\n")
    return path


def rate(action, seconds) -> float:
    """Calls per second of ``action`` (median of three runs of ``seconds`` / 3 each)."""
    action()
    rates = []
    for _ in range(3):
        count, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            action()
            count += 1
        rates.append(count / elapsed)
    return statistics.median(rates)


def stock_session(path):
    import pyvisa
    rm = pyvisa.ResourceManager(f"{path}@sim")
    inst = rm.open_resource(RESOURCE, read_termination="\n", write_termination="\n", timeout=2000)
    return rm, inst


def our_session(path):
    """The same YAML device behind ``SimBenchLibrary`` (a twin with no behaviour)."""
    import pyvisa
    from pyvisa_sim import parser

    from sim_instruments.library import SimBench, TwinDevice
    from sim_instruments.twin import Twin

    class Plain(Twin):
        definition = str(path)

        def safe_state_reached(self):
            return True

    sim = SimBench([], time_scale=0)
    twin = Plain(sim, "TextSpectrometer", {})
    loader = parser.Loader(Path(path), False)
    device = parser.get_device("spectro", loader.data["devices"]["spectro"], loader, {})
    sim.library.add(RESOURCE, TwinDevice.adopt(device, twin))
    twin.attach(None, device)
    sim.twins["TextSpectrometer"] = twin
    rm = pyvisa.ResourceManager(sim.library)
    inst = rm.open_resource(RESOURCE, read_termination="\n", write_termination="\n", timeout=2000)
    return rm, inst


def measure(seconds):
    from labctl.bench import Bench

    found = {}
    with tempfile.TemporaryDirectory() as directory:
        path = spectrum_yaml(directory)
        rm, inst = stock_session(path)
        assert len(inst.query_ascii_values("DATA?")) == 1024
        found["stock text"] = rate(lambda: inst.query_ascii_values("DATA?"), seconds)
        found["stock bytes/s"] = 65536 * rate(lambda: inst.query("BLOCK?"), seconds)
        inst.close()
        rm, inst = our_session(path)
        assert len(inst.query_ascii_values("DATA?")) == 1024
        found["ours text"] = rate(lambda: inst.query_ascii_values("DATA?"), seconds)
        inst.close()
    with Bench.open(time_scale=0, seed=1, slots=["PumpLaser", "Attenuator", "Spectrometer",
                                                 "StreakCamera", "Shutter"]) as bench:
        bench.role("PumpLaser").open_shutter()
        bench.role("Shutter").open_shutter()
        spectrometer = bench.drivers["Spectrometer"]
        spectrometer.set_integration_time(0.01)
        raw = spectrometer.adapter.connection

        def bare_spectrum():
            raw.write_raw(b"\x09")
            return raw.read_bytes(4097)
        found["ours USB2000+ bare"] = rate(bare_spectrum, seconds)
        found["ours USB2000+ driver"] = rate(spectrometer.acquire, seconds)
        camera = bench.drivers["StreakCamera"]
        camera.set_exposure(0.01)
        camera.set_mcp_gain(40)
        camera.open_shutter()
        for binning, label in ((1, "1344 × 1016"), (2, "672 × 508")):
            camera.binning = binning
            shape = camera.acquire().shape
            assert shape == ((1016, 1344) if binning == 1 else (508, 672)), shape
            found[f"ours image {label}"] = rate(camera.acquire, seconds)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    add_common(parser)
    args = parser.parse_args(argv)
    print(machine())
    found = measure(0.6 if args.quick else args.seconds)
    item = "5 sim throughput"
    image_text_bytes = 1344 * 1016 * 6          # ~6 characters per 16-bit value as CSV
    figures = [
        info(item, "stock pyvisa-sim: 1024-float text spectra", found["stock text"], "/s"),
        check(item, "ours: the same text spectra", found["ours text"], "/s", ">=", 1500, "1.5 k/s"),
        check(item, "  ours / stock", found["ours text"] / found["stock text"], "×", ">=", 7, "7×"),
        info(item, "ours: USB2000+ spectra (2048 px, physics), bare pyvisa", found["ours USB2000+ bare"], "/s"),
        info(item, "ours: USB2000+ spectra through the labctl driver", found["ours USB2000+ driver"], "/s"),
        check(item, "ours: streak images 1344 × 1016 through the driver", found["ours image 1344 × 1016"],
              "/s", ">=", 10, "10/s"),
        info(item, "ours: streak images 672 × 508 (2 × 2 binning)", found["ours image 672 × 508"], "/s"),
        info(item, "stock pyvisa-sim: text reply byte rate", found["stock bytes/s"] / 1e6, "MB/s"),
        info(item, "  stock: one 1344 × 1016 image as text (estimate)",
             image_text_bytes / found["stock bytes/s"], "s"),
    ]
    finish(figures, args, "5. Simulated-instrument throughput")
    return figures


if __name__ == "__main__":
    main()
