"""Compute tiles: compact daily states built once per ``dt`` from that day's valid events."""
