"""capcode: suggest and check codes for interview fragments.

Reads interview transcripts, segments them into codable fragments with a Dutch
spaCy pipeline, learns a team's coding with scikit-learn, measures inter-coder
agreement and brings codes together per case.

Which module owns what, and the records that flow between the stages: docs/architecture.md.
"""

__version__ = "0.1.0"
