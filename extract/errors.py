"""The exceptions readers raise. Every message names the file, the place in
it, what was expected, what was found and how to fix it."""


class ExtractError(Exception):
    "A file did not have the structure we expected"


class UnrecognisedFile(ExtractError):
    "The file is not one of the sources we know how to read"


class EmptyFile(ExtractError):
    "The file has no content"


class MissingDate(ExtractError):
    "The file does not say what date or year it describes"


class StrictModeError(ExtractError):
    "A bad cell refused the file because strict mode is on"
