#!/bin/sh
# Debian's Chromium, killed after TABWIRE_CHAOS_BROWSER_SECS (default 900) at
# the latest, so that a chaos run that crashes leaves no browser behind.
exec timeout -s KILL "${TABWIRE_CHAOS_BROWSER_SECS:-900}" "${TABWIRE_CHROMIUM:-/usr/bin/chromium}" "$@"
