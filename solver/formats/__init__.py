"""Format profiles: one per checkpoint family (kit, nvarc, architects, marc); nothing else knows a format.

    profiles.py  the profiles, and `bind(profile, tokenizer)`: the Format the model path encodes and parses with
    gridtext.py  a grid as text in a family's style: rendering, strict parsing, the decoding grammar
    detect.py    which profile a model directory speaks
"""
from .detect import AUTO, MARKER, Detection, detect_format, write_marker
from .gridtext import GridStyle, Parsed, TextGrammar
from .profiles import CUTS, MODES, PROFILES, ChatFormat, ContextError, Encoded, Format, FormatError, IdFormat, Profile, bind

__all__ = ["AUTO", "CUTS", "MARKER", "MODES", "PROFILES", "ChatFormat", "ContextError", "Detection", "Encoded", "Format",
           "FormatError", "GridStyle", "IdFormat", "Parsed", "Profile", "TextGrammar", "bind", "detect_format",
           "write_marker"]
