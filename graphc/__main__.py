"""`python -m graphc cache info` / `python -m graphc cache clear`: the compiled-code cache."""
import argparse
import sys

from .codegen import cache


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m graphc")
    commands = parser.add_subparsers(dest="command", required=True)
    cache_parser = commands.add_parser("cache", help="the on-disk cache of compiled code")
    cache_parser.add_argument("action", choices=("info", "clear"))
    arguments = parser.parse_args(argv)
    if arguments.action == "info":
        details = cache.info()
        print(f"directory: {details['directory']}")
        print(f"libraries: {details['libraries']}")
        print(f"extensions: {details['extensions']}")  # the compiled calls' graphc_call
        print(f"size: {details['bytes']} bytes")
    else:
        cache.clear()
        print(f"cleared {cache.cache_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
