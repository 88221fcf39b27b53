"""Workflow: what the Snakemake rules and scripts need from the library (stage 10).

``planning``
    parse-time helpers: the settings each rule gets, resources per preset, the data notice, wildcard
    patterns, declared inputs. Imports no torch, scikit-learn, scipy or matplotlib: ``snakemake -n`` runs
    with snakemake, pandas, pyyaml and jsonschema alone.
``script``
    :func:`~usvflow.workflow.script.script_main`: a script's log file and one-line errors.
"""
