"""Optical inspection skills: TAO schema translation, spec build/validate, AutoML routing,
checkpoints, datasets, platform-filled spec parameters."""
