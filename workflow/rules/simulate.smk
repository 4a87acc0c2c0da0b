# Count matrices simulated from reference (COSMIC) signatures under a chosen noise model: one job per
# scenario writes all its replicates (sim_<scenario>_r<rep>), each from its own replicate seed, so that a
# scenario costs one process start however many replicates it has.

for _scenario, _sim in config.get("simulations", {}).items():

    rule:
        name:
            f"simulate_{_scenario}"
        input:
            reference=get_cosmic_reference(),
        output:
            **simulation_outputs(_scenario),
        params:
            replicates=[get_simulation(_scenario, rep) for rep in range(1, len(_sim["replicate_seeds"]) + 1)],
        priority: DATA_PRIORITY
        log:
            f"{LOGS}/simulate_data/sim_{_scenario}.log",
        benchmark:
            f"{BENCH}/simulate_data/sim_{_scenario}.tsv"
        conda:
            "../../envs/nmfcore.yaml"
        script:
            "../scripts/simulate_data.py"
