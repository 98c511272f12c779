"""The lab: a simulated surveillance site of emulated devices on loopback addresses.

`site` places profiles (data files in ``profiles/``) on addresses; `server` answers as each
device would; `runner` serves a site in this process (`run_lab`) or in a child process
(`LabProcess`) for the demo, the tests and the benchmarks.
"""
