"""tensord.version (torch.version): the package's version and the backends it was built with."""
__version__ = "0.1.0"
debug = False
cuda = None
hip = None
git_version = "unknown"
