"""fuzzy"""
