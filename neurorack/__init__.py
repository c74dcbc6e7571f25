"""Neurorack: a Eurorack module that plays a trimmed, descriptor-conditioned neural
sound model, and the toolbox that trains, trims and installs those models.

Importing the package never touches hardware libraries, audio devices or torch; each
of those is imported inside the backend that needs it.
"""

__version__ = "0.1.0"
