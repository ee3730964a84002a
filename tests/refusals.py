"""The check of a command refused for a bad ``--out`` (shared by the CLI test modules)."""


def assert_out_refused(result, reason: str) -> None:
    """Exit status 2 (a bad ``--out``) and one error line: ``reason``, then the fix.

    ``reason`` is what the line says of the existing output (``"/x/a.tif exists"``); the fix
    follows it: ``give --overwrite to replace it`` (``them`` after ``exist`` or ``holds``),
    ``or another --out``.
    """
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    it = "it" if reason.endswith(" exists") else "them"
    assert errors == [
        f"Error: Invalid value for --out: {reason}; give --overwrite to replace {it}, "
        "or another --out"
    ], result.output
