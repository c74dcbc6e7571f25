"""``neurorack sound extract``: a one-shot becomes a sound of a bank.

Nothing heavy is imported at module level (``neurorack --help`` stays fast).
"""

from __future__ import annotations

EXTRACT_HELP = """\
Measure a one-shot with the model's descriptor extractor (loudness, centroid, flatness,
pitch, pitch confidence at the model's hop), cut its silent tail, and write the trajectory
as a CSV template beside the bank (templates/<name>.csv). The sound is added to the bank
file (created if missing), or replaced if a sound of that name is there already.
WAV files are read directly; FLAC and AIFF need the 'soundfile' package."""


def register(commands, benches) -> None:
    sound = commands.add_parser("sound", help="make sounds for a sound bank")
    actions = sound.add_subparsers(dest="sound_command", metavar="ACTION")
    actions.required = True
    extract = actions.add_parser("extract", help="add a sound to a bank from a one-shot file",
                                 description=EXTRACT_HELP)
    extract.add_argument("one_shot", metavar="ONE_SHOT", help="a WAV (or FLAC/AIFF) file")
    extract.add_argument("--name", required=True, help="the sound's name in the bank")
    extract.add_argument("--bank", required=True, metavar="FILE", help="the sound bank YAML to add it to")
    extract.add_argument("--mode", choices=("one_shot", "drone"), default="one_shot",
                         help="playback mode (default: %(default)s)")
    extract.add_argument("--retrigger", choices=("stack", "restart"), default="stack",
                         help="a new hit overlaps (stack) or cuts (restart) the ringing one (default: %(default)s)")
    extract.add_argument("--choke-group", type=int, default=0, metavar="N",
                         help="sounds sharing a group above 0 cut each other off (default: %(default)s)")
    extract.add_argument("--detail", default=None, help="second line on the screen (default: the file's folder)")
    extract.set_defaults(handler=run_extract)


def run_extract(args, config) -> int:
    import json
    from pathlib import Path

    from neurorack.instrument.bank_file import add_sound

    one_shot = Path(args.one_shot)
    detail = args.detail if args.detail is not None else one_shot.parent.name
    result = add_sound(args.bank, one_shot, args.name, mode=args.mode, retrigger=args.retrigger,
                       choke_group=args.choke_group, detail=detail)
    print(json.dumps(result, indent=2))
    return 0
