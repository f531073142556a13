from vocmap.cli import entry

entry()
