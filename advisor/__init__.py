"""pretrain-advisor: choose between transfer learning, self-supervised pretraining and both."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pretrain-advisor")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
