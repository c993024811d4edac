# PyInstaller hook for llama-cpp-python: the shared libraries it loads with ctypes from `llama_cpp/lib/` (libllama,
# libggml*, and Metal's shader library on macOS). ctypes loading is invisible to PyInstaller's analysis.
from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs

binaries = collect_dynamic_libs("llama_cpp")
datas = collect_data_files("llama_cpp", includes=["lib/*.metal", "lib/*.metallib", "**/*.jinja"])
