# Local attach of a raw image with the qdisk backend (libxl and QMP O_DIRECT).
# timeout: 900
FMT=raw . $XM2P/tests/attach-common.sh
