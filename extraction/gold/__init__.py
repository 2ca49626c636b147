"""The gold set: export and import files, derived values, scoring runs and agreement."""
