"""One module per ``lifeup`` command: ``add_arguments(parser)`` and ``run(args) -> int``.

Keep these modules to argument handling and output; the work lives in the rest of ``stream``.
Heavy imports (faust, fastapi, torch) go inside ``run`` so ``lifeup --help`` stays fast.
"""
