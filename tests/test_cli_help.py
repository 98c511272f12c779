"""Every command and option explains itself; help reads as written (no stray ``\\b``); small
wording and output slips stay fixed; --quiet leaves results and errors only; each warning
is printed once; shell completion works as documented."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click

from coverwatch.cli import cli as root
from tests.conftest import Cli


def _commands(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def test_every_option_of_every_command_has_help() -> None:
    commands = list(_commands(root))
    assert len(commands) > 20
    missing = [
        f"coverwatch {' '.join(path)} {'/'.join(p.opts)}"
        for path, command in commands
        for p in command.params
        if isinstance(p, click.Option) and not p.hidden and not (p.help or "").strip()
    ]
    assert missing == []
    undocumented = [" ".join(path) for path, c in commands if path and not (c.help or "").strip()]
    assert undocumented == []


def test_help_pages_render_without_escape_markers(cli: Cli) -> None:
    for path, _ in _commands(root):
        shown = cli(*path, "--help", db=False)
        assert shown.returncode == 0, path
        assert "\\b" not in shown.stdout and "\b" not in shown.stdout, path
    serve = cli("serve", "--help", db=False).stdout
    assert re.search(r"\n\s+Example: coverwatch token create", serve)


def test_token_wording_and_profile_list(cli: Cli) -> None:
    admin = cli("token", "create", "--role", "admin")
    assert "Created an admin token" in admin.stderr
    assert "Created a viewer token" in cli("token", "create", "--role", "viewer").stderr
    profiles = cli("lab", "--list-profiles", db=False).stdout.splitlines()
    assert len(profiles) > 20 and all(len(line.split("\t")) == 5 for line in profiles)
    assert "None" not in "\n".join(profiles)


def test_quiet_leaves_results_and_errors(cli: Cli, tmp_path: Path) -> None:
    register = tmp_path / "r.csv"
    register.write_text("IP,Make\n10.0.0.5,Axis\n10.0.0.300,Axis\n")
    args = ("import", "csv", str(register), "--map", "ip=IP,brand=Make")
    loud = cli(*args)
    assert loud.returncode == 0 and "hosts recorded" in loud.stderr
    # each warning once (it used to come from the logger and from the command)
    assert loud.stderr.count("10.0.0.300") == 1
    quiet = cli("--quiet", *args)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == ""
    listed = cli("-q", "devices")
    assert listed.stderr == "" and "10.0.0.5" in listed.stdout
    failed = cli("-q", "devices", "--site", "nowhere")
    assert failed.returncode == 2 and "no site 'nowhere'" in failed.stderr


def test_shell_completion_as_documented(cli: Cli) -> None:
    assert "_COVERWATCH_COMPLETE=bash_source coverwatch" in cli("--help", db=False).stdout
    script = cli(db=False, env={"_COVERWATCH_COMPLETE": "bash_source"})
    assert (
        script.returncode == 0 and "complete -o nosort -F _coverwatch_completion" in script.stdout
    )
    words = cli(
        db=False,
        env={
            "_COVERWATCH_COMPLETE": "bash_complete",
            "COMP_WORDS": "coverwatch tra",
            "COMP_CWORD": "1",
        },
    )
    assert "plain,traffic" in words.stdout.replace("\n", ",")
