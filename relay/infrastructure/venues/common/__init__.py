"""What every venue module shares: wire field readers, time formats, sides, frame errors.

Generic code: nothing here names a venue's rules; each venue passes its own words.
"""
