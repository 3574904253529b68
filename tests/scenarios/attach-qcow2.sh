# Local attach of a qcow2 image with the qdisk backend (libxl and QMP O_DIRECT).
# timeout: 900
FMT=qcow2 . $XM2P/tests/attach-common.sh
