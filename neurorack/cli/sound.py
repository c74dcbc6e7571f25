"""``neurorack sound extract``: a one-shot becomes a sound of a bank.

Nothing heavy is imported at module level (``neurorack --help`` stays fast).
"""

from __future__ import annotations

EXTRACT_HELP = """\
Measure a one-shot with the model's descriptor extractor (loudness, centroid, flatness,
pitch, pitch confidence at the model's hop), cut its silent tail, and write the trajectory
as a CSV template beside the bank (templates/<name>.csv). The sound is added to the bank
file (created if missing), or replaced if a sound of that name is there already.
When the model (--model; default: the model the bank names, else the module's default
model) has a timbre encoder, its timbre code z is computed from the same 48 kHz audio the
template covers and written into the entry with z_model (the model's name); other models
play that sound with a neutral timbre. Models without an encoder write no z.
WAV, FLAC and AIFF files are read."""


def register(commands) -> None:
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
    extract.add_argument("--model", default=None, metavar="MODEL_DIR",
                         help="the model folder (or an installed model's name) whose timbre encoder computes z "
                              "(default: the model the bank names, else the module's default model)")
    extract.add_argument("--no-model", action="store_true",
                         help="write the template only, without a timbre code")
    extract.set_defaults(handler=run_extract)


def run_extract(args, config) -> int:
    import json
    from pathlib import Path

    from neurorack.instrument.bank_file import add_sound

    one_shot = Path(args.one_shot)
    detail = args.detail if args.detail is not None else one_shot.resolve().parent.name
    model = None
    if not args.no_model:
        model_dir = extract_model_dir(args.model, Path(args.bank), config)
        if model_dir is not None:
            from neurorack.runtime.loader import load_model
            from neurorack.runtime.numpy_model import streaming_model

            model = streaming_model(load_model(model_dir))
    result = add_sound(args.bank, one_shot, args.name, mode=args.mode, retrigger=args.retrigger,
                       choke_group=args.choke_group, detail=detail, model=model)
    result["model"] = model.name if model is not None else None
    print(json.dumps(result, indent=2))
    return 0


def extract_model_dir(wanted, bank_path, config):
    """The model folder ``sound extract`` encodes with: ``wanted`` (a folder, or the name of an
    installed model), else the model the bank names (it must be installed), else the module's
    default model (``neurorack.app.module.choose_model``); None when none is installed.

    Raises:
        NeurorackError: ``wanted`` or the bank's model is not found.
    """
    from pathlib import Path

    from neurorack.app.module import choose_model, models_dir
    from neurorack.config.sound_bank import load_sound_bank
    from neurorack.errors import NeurorackError

    root = models_dir(config)
    if wanted is not None:
        for folder in (Path(wanted).expanduser(), root / str(wanted)):
            if (folder / "model.yaml").is_file():
                return folder
        raise NeurorackError(f"--model {wanted}: no model folder there, nor installed in {root}")
    named = load_sound_bank(bank_path).model if Path(bank_path).exists() else None
    if named is not None:
        if (root / named / "model.yaml").is_file():
            return root / named
        raise NeurorackError(f"{bank_path}: the bank names model '{named}', which is not installed in {root}; "
                             "pass --model MODEL_DIR (or --no-model)")
    return choose_model(root, None)
