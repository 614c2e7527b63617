"""LISA employment-register exports: decode, find the header, resolve municipality names, read, land."""
