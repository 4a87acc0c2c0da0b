# Count matrices simulated from reference (COSMIC) signatures under a chosen noise model.


rule simulate_data:
    input:
        reference=get_cosmic_reference(),
    output:
        X=f"{DATA}/sim_{{scenario}}_r{{rep}}/X.tsv",
        truth_H=f"{DATA}/sim_{{scenario}}_r{{rep}}/truth_H.tsv",
        truth_W=f"{DATA}/sim_{{scenario}}_r{{rep}}/truth_W.tsv",
        meta=f"{DATA}/sim_{{scenario}}_r{{rep}}/meta.json",
    params:
        simulation=get_simulation,
    wildcard_constraints:
        scenario="|".join(config.get("simulations", {})) or "^$",
    priority: DATA_PRIORITY
    log:
        f"{LOGS}/simulate_data/sim_{{scenario}}_r{{rep}}.log",
    benchmark:
        f"{BENCH}/simulate_data/sim_{{scenario}}_r{{rep}}.tsv"
    conda:
        "../../envs/nmfcore.yaml"
    script:
        "../scripts/simulate_data.py"
