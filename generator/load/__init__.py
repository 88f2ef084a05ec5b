"""Load stage: spec files -> plain values, each value's place remembered."""

from generator.load.yaml_loader import LoadedFile, Path_, find_spec_files, load_file, load_specs

__all__ = ["LoadedFile", "Path_", "find_spec_files", "load_file", "load_specs"]
