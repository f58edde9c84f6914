"""Runs localstripe's app on loopback only (its own CLI binds every interface).

Usage: python scripts/run_localstripe.py PORT   (always from scratch: nothing is loaded)
"""
import sys

from aiohttp import web
from localstripe.server import app

web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
