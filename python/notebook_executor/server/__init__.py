"""The Jupyter server extension's parts (the app is ``notebook_executor.app``)."""
