__version__ = "0.1.0"


def _text_as_objects() -> None:
    """pandas 3 infers its Arrow-backed ``str`` dtype (NaN for missing) for text; the checker's frames hold text as
    ``object`` with ``None`` for empty (docs/architecture.md), and its outputs are byte-identical to pandas 2's.
    The loaders' bulk text work runs on Arrow arrays directly (pyarrow.compute), where the speed is; the frames
    keep object text. The option is deprecated for pandas 4, which the install pins out (setup.cfg)."""
    import warnings

    import pandas as pd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pd.set_option("future.infer_string", False)
        except (KeyError, pd.errors.OptionError):     # pandas without the option
            pass


_text_as_objects()
