"""``python -m conveyor.serving --spec serving.json --workers 2 --port 8080``."""

from conveyor.serving.server import main

main()
