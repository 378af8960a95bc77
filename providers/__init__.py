"""One package per target (aws, azure, gcp, local); each implements every protocol in
:mod:`providers.protocols`. Only the selected target's package (and SDK) is imported."""
