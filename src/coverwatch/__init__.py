"""coverwatch: audit video-surveillance estates.

Finds cameras, NVRs and DVRs, names their real maker (white-label rebrands included), flags
equipment of covered vendors, and keeps an inventory with history. See DESIGN.md for the
pipeline: sources -> identify -> store -> policy -> report.
"""

__version__ = "0.1.0"
