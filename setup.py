"""Build the optional C kernels (bigplan/_kernels.c); metadata lives in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and
bigplan falls back to SciPy's sparse kernels and NumPy block updates.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "bigplan._kernels",
            sources=["bigplan/_kernels.c"],
            extra_compile_args=["-O3", "-std=c99", "-fno-math-errno"],
            optional=True,
        )
    ]
)
