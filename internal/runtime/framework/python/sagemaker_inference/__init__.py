"""Hearth's implementation of the SageMaker inference toolkit's public
modules, so that inference scripts written for the SageMaker framework
containers import and behave unchanged."""
