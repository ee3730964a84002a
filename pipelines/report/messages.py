"""Every sentence and label of the report, in French and English, in one table.

Keys name a message; each holds a ``fr`` and an ``en`` text with ``str.format`` fields. Numbers
arrive already formatted for the language (:class:`pipelines.report.text.Messages`). French
texts are written with plain spaces: the non-breaking spaces of French typography (before
``; : % ? !``, inside « » and between a number and its unit, ``1,53 K``, ``33 °C``) are added
when the message is rendered.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["LANGUAGES", "MESSAGES"]

#: Languages every message has.
LANGUAGES = ("fr", "en")

_TABLE: dict[str, tuple[str, str]] = {
    # --- page -----------------------------------------------------------------------------
    "title": ("Îlots de chaleur : {name}", "Urban heat islands: {name}"),
    "title_default": ("Îlots de chaleur urbains", "Urban heat islands"),
    "subtitle": (
        "Température de surface, végétation et revenus par IRIS et QPV",
        "Surface temperature, vegetation and income per IRIS and QPV",
    ),
    "synthetic_banner": (
        "Données synthétiques : ce traitement lit des données fictives (la ville de démonstration "
        "ou des images de synthèse). Les chiffres de ce rapport illustrent la méthode ; ils ne "
        "décrivent aucun territoire réel.",
        "Synthetic data: this run reads made-up inputs (the demo city, or synthetic imagery). "
        "The numbers in this report illustrate the method; they describe no real place.",
    ),
    "meta_run": (
        "Traitement terminé le {date} · configuration « {config} » · ilots {version}",
        "Run finished on {date} · configuration “{config}” · ilots {version}",
    ),
    "meta_report": (
        "Rapport produit par ilots {version} depuis le dossier {folder}",
        "Report built by ilots {version} from the folder {folder}",
    ),
    "meta_period": ("Période étudiée : {period}", "Study period: {period}"),
    "month_names": (
        "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
        "January February March April May June July August September October November December",
    ),
    "period_range": ("du {start} au {end}", "{start} to {end}"),
    "meta_area": (
        "Zone d'étude : {description} ({km2} km²){iris}",
        "Area of interest: {description} ({km2} km²){iris}",
    ),
    # after the area of interest's km², when its IRIS, kept whole, cover another area
    "area_iris": (
        " ; les {n} IRIS retenus, analysés entiers, couvrent {km2} km²",
        "; the {n} IRIS kept, analysed whole, cover {km2} km²",
    ),
    "area_iris_one": (
        " ; l'IRIS retenu, analysé entier, couvre {km2} km²",
        "; the IRIS kept, analysed whole, covers {km2} km²",
    ),
    "contents": ("Sommaire", "Contents"),
    "unknown": ("inconnu", "unknown"),
    "missing_value": ("—", "—"),
    "yes": ("oui", "yes"),
    "no": ("non", "no"),
    "not_computed": (
        "Non calculé pour ce traitement : {what}.",
        "Not computed for this run: {what}.",
    ),
    # --- sections ---------------------------------------------------------------------------
    "sec_headlines": ("En bref", "Key findings"),
    "sec_maps": ("Cartes par IRIS", "Maps per IRIS"),
    "sec_income": ("Revenu et chaleur", "Income and heat"),
    "sec_deciles": ("Exposition par décile de revenu", "Exposure by income decile"),
    "sec_qpv": ("QPV et reste de la zone étudiée", "QPV and the rest of the study area"),
    "sec_hottest": ("Les {n} IRIS les plus chauds", "The {n} hottest IRIS"),
    "sec_hottest_one": ("L'IRIS le plus chaud", "The hottest IRIS"),
    "sec_suhii": (
        "Îlot de chaleur urbain de surface (SUHII)",
        "Surface urban heat island intensity (SUHII)",
    ),
    "sec_quality": ("Qualité des données", "Data quality"),
    "sec_scenarios": ("Scénarios d'aménagement", "Planning scenarios"),
    "sec_method": ("Notes de méthode", "Method notes"),
    "sec_about": ("À propos de ce traitement", "About this run"),
    # --- what a missing file leaves out -------------------------------------------------------
    "what_inequality": (
        "indicateurs d'inégalité (inequality.json absent)",
        "inequality metrics (no inequality.json)",
    ),
    "what_qpv": (
        "comparaison QPV / reste (pas de couche QPV ni de classement des IRIS en QPV)",
        "QPV / rest comparison (no QPV layer nor IRIS classified as QPV)",
    ),
    "what_suhii": (
        "intensité de l'îlot de chaleur (heat_island.json absent)",
        "heat island intensity (no heat_island.json)",
    ),
    "what_scenarios": (
        "scénarios (dossier scenarios/ absent ; lancer ilots scenarios)",
        "scenarios (no scenarios/ folder; run ilots scenarios)",
    ),
    "no_lst_values": (
        "Aucun IRIS n'a de température de surface : aucune observation Landsat claire sur la "
        "période (voir « Qualité des données »).",
        "No IRIS has a surface temperature: no clear Landsat observation in the periods (see "
        '"Data quality").',
    ),
    "no_lst_values_few_scenes": (
        "Aucun IRIS n'a de température de surface : les périodes n'ont que {n} scènes "
        "Landsat, moins que les {min_clear} observations claires qu'un pixel doit avoir "
        "(composite.min_clear) ; chaque pixel de la composite reste donc vide, même clair. "
        "Abaisser composite.min_clear ou élargir les périodes (le SUHII de chaque scène est "
        "dans heat_island.json).",
        "No IRIS has a surface temperature: the periods hold {n} Landsat scenes, fewer than "
        "the {min_clear} clear observations a pixel needs (composite.min_clear), so every "
        "composite pixel is empty, however clear. Lower composite.min_clear or widen the "
        "periods (each scene's SUHII is in heat_island.json).",
    ),
    "no_lst_values_few_scenes_one": (
        "Aucun IRIS n'a de température de surface : les périodes n'ont que {n} scène "
        "Landsat, moins que les {min_clear} observations claires qu'un pixel doit avoir "
        "(composite.min_clear) ; chaque pixel de la composite reste donc vide, même clair. "
        "Abaisser composite.min_clear ou élargir les périodes (le SUHII de chaque scène est "
        "dans heat_island.json).",
        "No IRIS has a surface temperature: the periods hold {n} Landsat scene, fewer than "
        "the {min_clear} clear observations a pixel needs (composite.min_clear), so every "
        "composite pixel is empty, however clear. Lower composite.min_clear or widen the "
        "periods (each scene's SUHII is in heat_island.json).",
    ),
    "what_map_lst": (
        "carte de la température : aucun IRIS n'a de valeur (aucune observation claire, voir "
        "« Qualité des données »)",
        'temperature map: no IRIS has a value (no clear observation; see "Data quality")',
    ),
    "what_map_lst_few_scenes": (
        "carte de la température : aucun IRIS n'a de valeur (les périodes n'ont que {n} "
        "scènes Landsat, moins que les {min_clear} observations claires qu'un pixel doit "
        "avoir ; abaisser composite.min_clear ou élargir les périodes)",
        "temperature map: no IRIS has a value (the periods hold {n} Landsat scenes, fewer "
        "than the {min_clear} clear observations a pixel needs; lower composite.min_clear or "
        "widen the periods)",
    ),
    "what_map_lst_few_scenes_one": (
        "carte de la température : aucun IRIS n'a de valeur (les périodes n'ont que {n} "
        "scène Landsat, moins que les {min_clear} observations claires qu'un pixel doit "
        "avoir ; abaisser composite.min_clear ou élargir les périodes)",
        "temperature map: no IRIS has a value (the periods hold {n} Landsat scene, fewer "
        "than the {min_clear} clear observations a pixel needs; lower composite.min_clear or "
        "widen the periods)",
    ),
    "what_map_ndvi": (
        "carte du NDVI : aucun IRIS n'a de valeur (pas de bandes rouge et proche infrarouge "
        "dans les produits, ou aucun pixel clair)",
        "NDVI map: no IRIS has a value (no red and near-infrared bands in the products, or no "
        "clear pixel)",
    ),
    "what_maps": (
        "cartes (ni température ni NDVI dans la couche IRIS)",
        "maps (neither temperature nor NDVI in the IRIS layer)",
    ),
    "what_income": (
        "croisement avec le revenu (colonne de revenu absente)",
        "crossing with income (no income column)",
    ),
    "what_n_clear": (
        "distribution des observations claires (rasters/n_clear.tif absent)",
        "distribution of clear observations (no rasters/n_clear.tif)",
    ),
    # --- variables -----------------------------------------------------------------------------
    "var_lst_anomaly_mean_k": (
        "l'anomalie de température de surface ΔT",
        "the land surface temperature anomaly ΔT",
    ),
    "var_lst_anomaly_p90_mean_k": (
        "le 90e centile de l'anomalie ΔT des scènes, moyenné sur l'IRIS",
        "the 90th percentile of the anomaly ΔT over the scenes, averaged over the IRIS",
    ),
    "var_lst_mean_k": ("la température de surface", "the land surface temperature"),
    "var_lst_p90_k": (
        "le 90e centile de température de surface",
        "the 90th percentile of land surface temperature",
    ),
    "var_ndvi_mean": ("le NDVI", "the NDVI"),
    "var_lst_p90_mean_k": (
        "le 90e centile de température de surface des scènes, moyenné sur l'IRIS",
        "the 90th percentile of land surface temperature over the scenes, averaged over the IRIS",
    ),
    "var_albedo_mean": ("l'albédo moyen", "the mean albedo"),
    "var_n_clear_mean": (
        "le nombre moyen d'observations claires",
        "the mean number of clear observations",
    ),
    "var_valid_frac": (
        "la part couverte par des pixels valides",
        "the share covered by valid pixels",
    ),
    "var_anomaly_valid_frac": (
        "la part couverte par des pixels ayant une anomalie ΔT",
        "the share covered by pixels with an anomaly ΔT",
    ),
    "var_lc_water_frac": ("la part d'eau", "the water share"),
    "var_lc_dense_vegetation_frac": ("la part de végétation dense", "the dense vegetation share"),
    "var_lc_low_vegetation_frac": ("la part de végétation basse", "the low vegetation share"),
    "var_lc_built_frac": ("la part bâtie", "the built share"),
    "var_lc_bare_soil_frac": ("la part de sol nu", "the bare soil share"),
    "axis_lst_anomaly_mean_k": (
        "Anomalie de température de surface ΔT (K)",
        "Land surface temperature anomaly ΔT (K)",
    ),
    "axis_lst_anomaly_p90_mean_k": (
        "ΔT, 90e centile des scènes, moyenne de l'IRIS (K)",
        "ΔT, 90th percentile over the scenes, IRIS mean (K)",
    ),
    "axis_lst_mean_k": ("Température de surface (K)", "Land surface temperature (K)"),
    "axis_lst_p90_k": ("LST, 90e centile (K)", "LST, 90th percentile (K)"),
    "axis_ndvi_mean": ("NDVI moyen", "Mean NDVI"),
    "axis_disp_med": (
        "Revenu disponible médian par UC (€)",
        "Median disposable income per consumption unit (€)",
    ),
    "axis_lst_p90_mean_k": (
        "LST, 90e centile des scènes, moyenne de l'IRIS (K)",
        "LST, 90th percentile over the scenes, IRIS mean (K)",
    ),
    "axis_albedo_mean": ("Albédo moyen", "Mean albedo"),
    "axis_n_clear_mean": (
        "Observations claires (moyenne des pixels)",
        "Clear observations (mean over pixels)",
    ),
    "axis_lc_water_frac": ("Part d'eau", "Water share"),
    "axis_lc_dense_vegetation_frac": ("Part de végétation dense", "Dense vegetation share"),
    "axis_lc_low_vegetation_frac": ("Part de végétation basse", "Low vegetation share"),
    "axis_lc_built_frac": ("Part bâtie", "Built share"),
    "axis_lc_bare_soil_frac": ("Part de sol nu", "Bare soil share"),
    "axis_population": ("Population", "Population"),
    "axis_valid_frac": (
        "Part des terres couverte (l'eau exclue)",
        "Share of the land covered (water left out)",
    ),
    "axis_valid_frac_water_kept": ("Part de la surface couverte", "Share of the area covered"),
    "axis_anomaly_valid_frac": (
        "Part couverte par une anomalie ΔT",
        "Share covered by an anomaly ΔT",
    ),
    "axis_n_clear": ("Nombre d'observations claires", "Number of clear observations"),
    "axis_share_pixels": ("Part des pixels", "Share of pixels"),
    "axis_share_zones": ("Nombre d'IRIS", "Number of IRIS"),
    "axis_minus_all": (
        "Écart à la moyenne de l'ensemble (K)",
        "Difference from the overall mean (K)",
    ),
    "axis_decile": ("Décile de revenu", "Income decile"),
    "axis_scene": ("Scène", "Scene"),
    "axis_suhii": ("SUHII (K)", "SUHII (K)"),
    # --- headlines ------------------------------------------------------------------------------
    "qpv_hotter": ("plus chauds", "hotter"),
    "qpv_cooler": ("moins chauds", "cooler"),
    "qpv_gap": (
        "Les QPV sont en moyenne {value} K {direction} que {rest} "
        "({ci} ; n = {n_in} IRIS en QPV et {others} ; {p}).",
        "QPV are on average {value} K {direction} than {rest} "
        "({ci}; n = {n_in} QPV IRIS and {others}; {p}).",
    ),
    "qpv_gap_unclear": (
        "Dans ces données, les QPV sont en moyenne {value} K {direction} que {rest}, mais "
        "l'écart n'est pas établi : {reason} "
        "({ci} ; n = {n_in} IRIS en QPV et {others} ; {p}).",
        "In these data QPV are on average {value} K {direction} than {rest}, but the gap is "
        "not established: {reason} ({ci}; "
        "n = {n_in} QPV IRIS and {others}; {p}).",
    ),
    "qpv_few_zones": (
        "Seuls {n_in} IRIS en QPV entrent dans l'écart : cet écart et son intervalle de confiance "
        "reposent sur très peu de zones.",
        "Only {n_in} QPV IRIS enter the gap: it and its confidence interval rest on very few "
        "zones.",
    ),
    "qpv_few_zones_one": (
        "Seul {n_in} IRIS en QPV entre dans l'écart : cet écart et son intervalle de confiance "
        "reposent sur très peu de zones.",
        "Only {n_in} QPV IRIS enters the gap: it and its confidence interval rest on very few "
        "zones.",
    ),
    # QPV that no IRIS counted in QPV mostly covers (census.overlay.qpv_without_iris)
    "qpv_left_out_one": (
        "Le QPV {qpv} n'entre pas dans cet écart : aucun IRIS compté en QPV n'en couvre la "
        "majeure partie, et ses IRIS comptent parmi les autres IRIS. Ses statistiques propres "
        "sont dans le tableau des QPV (couche qpv).",
        "QPV {qpv} is not in this gap: no IRIS counted in QPV covers most of it, and its IRIS "
        "count among the other IRIS. Its own statistics are in the table of the QPV (qpv "
        "layer).",
    ),
    "qpv_left_out_many": (
        "Les QPV {qpv} n'entrent pas dans cet écart : aucun IRIS compté en QPV n'en couvre la "
        "majeure partie, et leurs IRIS comptent parmi les autres IRIS. Leurs statistiques "
        "propres sont dans le tableau des QPV (couche qpv).",
        "QPV {qpv} are not in this gap: no IRIS counted in QPV covers most of them, and their "
        "IRIS count among the other IRIS. Their own statistics are in the table of the QPV "
        "(qpv layer).",
    ),
    "qpv_left_out_table_one": (
        "Le QPV {qpv} n'entre pas dans la ligne « {row} » du tableau ci-dessous : aucun IRIS "
        "compté en QPV n'en couvre la majeure partie, et ses IRIS comptent parmi les {other}. "
        "Ses statistiques propres sont dans le tableau des QPV (couche qpv).",
        "QPV {qpv} is not in the row “{row}” of the table below: no IRIS counted in QPV "
        "covers most of it, and its IRIS count among the {other}. Its own statistics are in "
        "the table of the QPV (qpv layer).",
    ),
    "qpv_left_out_table_many": (
        "Les QPV {qpv} n'entrent pas dans la ligne « {row} » du tableau ci-dessous : aucun IRIS "
        "compté en QPV n'en couvre la majeure partie, et leurs IRIS comptent parmi les {other}. "
        "Leurs statistiques propres sont dans le tableau des QPV (couche qpv).",
        "QPV {qpv} are not in the row “{row}” of the table below: no IRIS counted in QPV "
        "covers most of them, and their IRIS count among the {other}. Their own statistics "
        "are in the table of the QPV (qpv layer).",
    ),
    "qpv_left_out_item": (
        "{code} « {name} » (ses IRIS au plus à {share} en QPV)",
        "{code} '{name}' (its IRIS at most {share} in QPV)",
    ),
    "qpv_left_out_item_unnamed": (
        "{code} (ses IRIS au plus à {share} en QPV)",
        "{code} (its IRIS at most {share} in QPV)",
    ),
    "qpv_left_out_more": ("et {n} autres", "and {n} more"),
    "qpv_left_out_more_one": ("et {n} autre", "and {n} more"),
    # the IRIS a gap compares the QPV's with, counted (Messages.by_count)
    "other_iris": ("{n} autres IRIS", "{n} other IRIS"),
    "other_iris_one": ("{n} autre IRIS", "{n} other IRIS"),
    # the IRIS of a count that are not in QPV (Messages.by_count)
    "other_count": ("{n} autres", "{n} others"),
    "other_count_one": ("{n} autre", "{n} other"),
    # the hottest IRIS table's "in QPV" cell of an IRIS partly in QPV, under the threshold
    "qpv_part_of_iris": ("non ({share})", "no ({share})"),
    "qpv_part_of_iris_note": (
        "« non (x %) » : IRIS non compté en QPV, dont x % de la surface est dans un QPV.",
        "“no (x%)”: an IRIS not counted in QPV, x% of whose area lies in a QPV.",
    ),
    "qpv_gap_same": (
        "Les QPV ne sont en moyenne ni plus ni moins chauds que {rest} "
        "(écart {value} K ; {ci} ; n = {n_in} IRIS en QPV et {others} ; {p}).",
        "QPV are on average neither hotter nor cooler than {rest} "
        "(gap {value} K; {ci}; n = {n_in} QPV IRIS and {others}; {p}).",
    ),
    "qpv_gap_generic": (
        "Écart moyen entre les QPV et {rest} pour {label} : {value} "
        "({ci} ; n = {n_in} IRIS en QPV et {others} ; {p}).",
        "Mean gap between QPV and {rest} in {label}: {value} "
        "({ci}; n = {n_in} QPV IRIS and {others}; {p}).",
    ),
    "qpv_gap_basis": (
        "Écart de {label}, moyennes pondérées par la population, test de permutation ; "
        "l'intervalle réunit les écarts que ce test ne rejette pas.",
        "Gap in {label}, population-weighted means, permutation test; the interval holds the "
        "gaps that test does not reject.",
    ),
    "qpv_gap_basis_untested": (
        "Écart de {label}, moyennes pondérées par la population, sans test.",
        "Gap in {label}, population-weighted means, not tested.",
    ),
    "qpv_gap_basis_unweighted_untested": (
        "Écart de {label}, moyennes des IRIS non pondérées (pas de population), sans test.",
        "Gap in {label}, unweighted means of the IRIS (no population), not tested.",
    ),
    # The QPV gap of a run with inequality.permutations: 0: neither p-value nor interval.
    "qpv_gap_untested": (
        "non testé : inequality.permutations vaut 0",
        "not tested: inequality.permutations is 0",
    ),
    "qpv_gap_basis_unweighted": (
        "Écart de {label}, moyennes des IRIS non pondérées (pas de population), test de "
        "permutation ; l'intervalle réunit les écarts que ce test ne rejette pas.",
        "Gap in {label}, unweighted means of the IRIS (no population), permutation test; the "
        "interval holds the gaps that test does not reject.",
    ),
    "qpv_rest_area": ("le reste de la zone étudiée", "the rest of the study area"),
    "qpv_rest_stratum": (
        "les autres IRIS de leur {stratum}",
        "the other IRIS of their {stratum}",
    ),
    "stratum_commune": ("commune", "commune"),
    "stratum_column": ("strate « {column} »", "stratum '{column}'"),
    "qpv_gap_within": (
        "Écart calculé strate par strate ({stratum}) : chaque IRIS en QPV est comparé aux "
        "autres IRIS de la sienne, dans les {n} qui ont les deux, et les écarts sont moyennés "
        "(poids W_QPV·W_autres/W) ; le test permute les étiquettes dans chaque strate. "
        "L'écart des moyennes d'ensemble, {pooled} K, mêle l'effet des QPV à leur "
        "localisation.",
        "Gap computed stratum by stratum ({stratum}): each QPV IRIS is compared with the other "
        "IRIS of its own, in the {n} that have both, and the gaps are averaged (weights "
        "W_QPV·W_other/W); the test permutes the labels within each stratum. The gap of the "
        "overall means, {pooled} K, mixes the QPV effect with where the QPV are.",
    ),
    # the gap of the one stratum holding both QPV IRIS and others (n_strata_compared = 1)
    "qpv_gap_within_one": (
        "Écart calculé dans la seule {stratum} qui a à la fois des IRIS en QPV et d'autres "
        "IRIS : ses IRIS en QPV sont comparés à ses autres IRIS, et le test permute les "
        "étiquettes en son sein. L'écart des moyennes d'ensemble, {pooled} K, mêle l'effet "
        "des QPV à leur localisation.",
        "Gap computed within the only {stratum} with both QPV IRIS and other IRIS: its QPV "
        "IRIS are compared with its other IRIS, and the test permutes the labels within it. "
        "The gap of the overall means, {pooled} K, mixes the QPV effect with where the QPV "
        "are.",
    ),
    # Why a direction is not established (headlines._unestablished), after "not established:".
    "unestablished_ci": (
        "son intervalle de confiance contient 0",
        "its confidence interval includes 0",
    ),
    "unestablished_p": (
        "sa p-valeur n'est pas inférieure à {alpha}",
        "its p-value is not below {alpha}",
    ),
    "unestablished_few": (
        "{n} IRIS sont trop peu pour conclure (avec moins de {least} IRIS, même un test exact "
        "ne peut rien établir au seuil de {alpha})",
        "{n} IRIS are too few to conclude (with fewer than {least} IRIS, not even an exact test "
        "can establish anything at the {alpha} level)",
    ),
    "unestablished_no_ci": (
        "aucun intervalle de confiance n'a été calculé",
        "no confidence interval was computed",
    ),
    "unestablished_note": (
        "{reason} : l'écart n'est pas établi par ces données.",
        "{reason}: these data do not establish the gap.",
    ),
    "ci": ("IC {level} % {low} à {high}", "{level}% CI {low} to {high}"),
    # The ends of an unbounded interval (too few relabelings to reject any gap on a side).
    "ci_minus_infinity": ("−∞", "−∞"),
    "ci_plus_infinity": ("+∞", "+∞"),
    "decile_gap": (
        "Les 10 % des habitants des IRIS au revenu médian le plus bas (D1) vivent dans des "
        "IRIS en moyenne {value} K {direction} que ceux des 10 % des habitants des IRIS au "
        "revenu médian le plus élevé (D10) ({ci} ; n = {n} IRIS).",
        "The 10% of residents of the IRIS with the lowest median income (D1) live in IRIS "
        "that are on average {value} K {direction} than those of the 10% of residents of the "
        "IRIS with the highest median income (D10) ({ci}; n = {n} IRIS).",
    ),
    "decile_gap_zones": (
        "Les 10 % des IRIS au revenu médian le plus bas (D1) sont en moyenne {value} K "
        "{direction} que les 10 % des IRIS au revenu médian le plus élevé (D10) ({ci} ; "
        "n = {n} IRIS).",
        "The 10% of IRIS with the lowest median income (D1) are on average {value} K "
        "{direction} than the 10% of IRIS with the highest median income (D10) ({ci}; "
        "n = {n} IRIS).",
    ),
    "decile_gap_unclear": (
        "Dans ces données, les 10 % des habitants des IRIS au revenu médian le plus bas (D1) "
        "vivent dans des IRIS en moyenne {value} K {direction} que ceux des 10 % des habitants "
        "des IRIS au revenu médian le plus élevé (D10), mais l'écart n'est pas établi : "
        "{reason} ({ci} ; n = {n} IRIS).",
        "In these data the 10% of residents of the IRIS with the lowest median income (D1) "
        "live in IRIS that are on average {value} K {direction} than those of the 10% of "
        "residents of the IRIS with the highest median income (D10), but the gap is not "
        "established: {reason} ({ci}; n = {n} IRIS).",
    ),
    "decile_gap_zones_unclear": (
        "Dans ces données, les 10 % des IRIS au revenu médian le plus bas (D1) sont en moyenne "
        "{value} K {direction} que les 10 % des IRIS au revenu médian le plus élevé (D10), "
        "mais l'écart n'est pas établi : {reason} ({ci} ; n = {n} IRIS).",
        "In these data the 10% of IRIS with the lowest median income (D1) are on average "
        "{value} K {direction} than the 10% of IRIS with the highest median income (D10), but "
        "the gap is not established: {reason} ({ci}; n = {n} IRIS).",
    ),
    "decile_basis": (
        "Les déciles classent les IRIS par leur revenu médian (Filosofi), non les ménages par "
        "le leur.",
        "The deciles rank the IRIS by their median income (Filosofi), not households by their own.",
    ),
    "decile_gap_generic": (
        "Écart D1 − D10 de {label} : {value} ({ci} ; n = {n} IRIS).",
        "D1 − D10 gap in {label}: {value} ({ci}; n = {n} IRIS).",
    ),
    "concentration": (
        "Indice de concentration généralisé de {label} selon le revenu : {value} ({ci} ; "
        "n = {n}). {reading}.",
        "Generalised concentration index of {label} by income: {value} ({ci}; n = {n}). {reading}.",
    ),
    "concentration_poor": (
        "Les valeurs sont plus élevées dans les IRIS aux revenus les plus modestes",
        "Values are higher in the IRIS with the lowest incomes",
    ),
    "concentration_rich": (
        "Les valeurs sont plus élevées dans les IRIS aux revenus les plus élevés",
        "Values are higher in the IRIS with the highest incomes",
    ),
    "concentration_none": (
        "Aucune concentration n'est établie : {reason}",
        "No concentration is established: {reason}",
    ),
    "concentration_note": (
        "Lecture : l'indice vaut 2 × la covariance entre {label} et le rang de revenu (0 : les "
        "plus modestes, 1 : les plus aisés) ; 0 : aucune concentration selon le revenu ; "
        "négatif : valeurs plus élevées chez les plus modestes. Pour un écart qui suivrait ce "
        "rang en ligne droite, {value} correspond à {span} d'écart entre les plus modestes et "
        "les plus aisés.",
        "Reading: the index is 2 × the covariance of {label} with the income rank (0: the "
        "poorest, 1: the richest); 0: no concentration by income; negative: higher values "
        "among the poorer. For a gap that followed this rank in a straight line, {value} means "
        "{span} between the poorest and the richest.",
    ),
    "correlation": (
        "Corrélation de Pearson entre le revenu médian et {label} : r = {value} ({ci} ; n = {n} "
        "IRIS, chacun comptant une fois, sans pondération par la population). {reading}.",
        "Pearson correlation of median income and {label}: r = {value} ({ci}; n = {n} IRIS, "
        "each counting once, not weighted by population). {reading}.",
    ),
    "correlation_lower": (
        "{label} tend à diminuer quand le revenu augmente ; r² = {r2} : cette part de ses "
        "écarts entre IRIS va de pair avec le revenu",
        "{label} tends to fall as income rises; r² = {r2}: this share of its differences "
        "between IRIS goes with income",
    ),
    "correlation_higher": (
        "{label} tend à augmenter avec le revenu ; r² = {r2} : cette part de ses écarts entre "
        "IRIS va de pair avec le revenu",
        "{label} tends to rise with income; r² = {r2}: this share of its differences between "
        "IRIS goes with income",
    ),
    "correlation_none": (
        "Aucun lien linéaire n'est établi : {reason}",
        "No linear link is established: {reason}",
    ),
    "hottest": (
        "L'IRIS le plus chaud, {name} ({code}), est plus chaud que {pct} {others} "
        "({label} y est de {value} K).",
        "The hottest IRIS, {name} ({code}), is hotter than {pct} of {others} ({label}: {value} K).",
    ),
    "hottest_unnamed": (
        "L'IRIS le plus chaud, {code}, est plus chaud que {pct} {others} "
        "({label} y est de {value} K).",
        "The hottest IRIS, {code}, is hotter than {pct} of {others} ({label}: {value} K).",
    ),
    "hottest_others": ("des autres IRIS", "the other IRIS"),
    "hottest_others_valued": (
        "des {n} autres IRIS ayant une valeur",
        "the {n} other IRIS with a value",
    ),
    "hottest_others_valued_one": (
        "de {n} autre IRIS ayant une valeur",
        "the {n} other IRIS with a value",
    ),
    "suhii_headline": (
        "Intensité de l'îlot de chaleur urbain de surface (SUHII) : {value} K sur {on} "
        "(LST moyenne : {urban}, en ville ; {rural}, sur la référence rurale).",
        "Surface urban heat island intensity (SUHII): {value} K on {on} "
        "(mean LST: {urban}, in the city; {rural}, over the rural reference).",
    ),
    "temperature_celsius": ("{kelvin} K, soit {celsius} °C", "{kelvin} K, i.e. {celsius} °C"),
    "suhii_headline_short": (
        "Intensité de l'îlot de chaleur urbain de surface (SUHII) : {value} K sur {on}.",
        "Surface urban heat island intensity (SUHII): {value} K on {on}.",
    ),
    "composite_lst_anomaly": (
        "le composite médian de l'anomalie ΔT",
        "the median composite of the anomaly ΔT",
    ),
    "composite_lst_median": ("le composite médian de la LST", "the median LST composite"),
    "composite_default": ("le composite médian", "the median composite"),
    "composite_one_scene": (
        "la seule scène de la période ({date})",
        "the periods' only scene ({date})",
    ),
    "one_date": (
        "Une seule date : les températures de ce rapport viennent d'une seule scène Landsat "
        "({date}). Elles décrivent ce jour-là, avec sa météo (vent, humidité des sols, chaleur "
        "des jours précédents), qu'aucune autre date ne vient compenser ; des périodes plus "
        "larges, avec plus de scènes, donneraient un portrait plus sûr de la saison.",
        "A single date: this report's temperatures come from one Landsat scene ({date}). "
        "They describe that day, with its weather (wind, soil moisture, the heat of the days "
        "before), which no other date offsets; wider periods, with more scenes, would give a "
        "surer picture of the season.",
    ),
    "row_composite_lst_anomaly": ("Composite médian de ΔT", "Median composite of ΔT"),
    "row_composite_lst_median": ("Composite médian de la LST", "Median LST composite"),
    "suhii_scenes": (
        "Par scène, le SUHII va de {low} à {high} K ({n} scènes ; moyenne {mean} K).",
        "Per scene, SUHII ranges from {low} to {high} K ({n} scenes; mean {mean} K).",
    ),
    "suhii_one_scene": (
        "Sur la seule scène de la période, le SUHII est de {value} K.",
        "On the periods' only scene, SUHII is {value} K.",
    ),
    "suhii_one_valued": (
        "Le SUHII n'a pu être calculé que sur une des {total} scènes ({date}) : {value} K.",
        "SUHII could be computed on only one of the {total} scenes ({date}): {value} K.",
    ),
    "suhii_low_clear": (
        "Couverture partielle : sur {n} des {total} scènes, moins de {threshold} des pixels de "
        "la référence rurale étaient dégagés (au plus bas {share}, le {date}) ; le SUHII y "
        "repose sur une partie seulement de la référence.",
        "Partial coverage: on {n} of the {total} scenes, under {threshold} of the rural "
        "reference's pixels were clear (lowest {share}, on {date}); SUHII there rests on part "
        "of the reference only.",
    ),
    "suhii_low_clear_one": (
        "Couverture partielle : sur la seule scène ({date}), {share} seulement des pixels de "
        "la référence rurale étaient dégagés (moins de {threshold}) ; le SUHII repose sur une "
        "partie seulement de la référence.",
        "Partial coverage: on the only scene ({date}), only {share} of the rural reference's "
        "pixels were clear (under {threshold}); SUHII rests on part of the reference only.",
    ),
    "suhii_none": (
        "Le SUHII du composite n'a pas pu être calculé (pas de pixel urbain ou rural valide, "
        "ou trop peu : heat_island.min_reference_pixels, min_reference_frac).",
        "The composite's SUHII could not be computed (no valid urban or rural pixel, or too "
        "few: heat_island.min_reference_pixels, min_reference_frac).",
    ),
    "suhii_definition": (
        "Définition : {formula}. Zone urbaine : {urban}. Référence rurale : {rural}.",
        "Definition: {formula}. Urban area: {urban}. Rural reference: {rural}.",
    ),
    "suhii_formula": (
        "moyenne de la LST sur l'emprise urbaine − moyenne sur la référence rurale",
        "mean LST over the urban footprint − mean over the rural reference",
    ),
    # --- figures ---------------------------------------------------------------------------------
    "fig_map_lst": (
        "Anomalie de température de surface par IRIS",
        "Land surface temperature anomaly per IRIS",
    ),
    "fig_map_ndvi": ("NDVI moyen par IRIS", "Mean NDVI per IRIS"),
    "fig_map_caption": ("Contour noir : QPV.", "Black outline: QPV."),
    "fig_map_missing": (
        "Hachures grises : {n} IRIS sans valeur (trop peu de pixels clairs).",
        "Grey hatching: {n} IRIS without a value (too few clear pixels).",
    ),
    "fig_map_ndvi_land": (
        "NDVI : moyenne sur les terres de chaque IRIS (l'eau exclue).",
        "NDVI: mean over each IRIS's land (water left out).",
    ),
    "legend_qpv": ("QPV", "QPV"),
    "legend_no_value": ("sans valeur", "no value"),
    "legend_in_qpv": ("IRIS en QPV", "QPV IRIS"),
    "legend_other": ("autres IRIS", "other IRIS"),
    "legend_in_qpv_tested": ("IRIS en QPV du test", "QPV IRIS of the test"),
    "legend_other_tested": ("autres IRIS du test", "other IRIS of the test"),
    "legend_qpv_unknown": ("IRIS au statut QPV inconnu", "IRIS of unknown QPV status"),
    "legend_fit": ("droite des moindres carrés", "least-squares line"),
    "legend_overall": ("ensemble", "all residents"),
    "legend_overall_mean": ("moyenne de l'ensemble ({value})", "overall mean ({value})"),
    "legend_composite": ("composite médian", "median composite"),
    "fig_scatter": ("Le revenu médian et {label}", "Median income and {label}"),
    "fig_scatter_caption": (
        "Un point par IRIS. Droite des moindres carrés : pente {slope} pour 1\u00a0000 € ; "
        "r de Pearson = {r} ({ci}).",
        "One point per IRIS. Least-squares line: slope {slope} per €1,000; Pearson r = {r} ({ci}).",
    ),
    "fig_deciles": (
        "Exposition moyenne par décile de revenu",
        "Mean exposure by income decile",
    ),
    "fig_deciles_caption": (
        "Moyenne de {label} pondérée par la population, par décile de revenu (D1 : revenus les "
        "plus modestes). Déciles de {basis}. {gap}",
        "Population-weighted mean of {label} per income decile (D1: lowest incomes). Deciles "
        "of {basis}. {gap}",
    ),
    "fig_deciles_caption_unweighted": (
        "Moyenne de {label} des IRIS, non pondérée (pas de population), par décile de revenu "
        "(D1 : revenus les plus modestes). Déciles de {basis}. {gap}",
        "Unweighted mean of {label} over the IRIS (no population) per income decile (D1: "
        "lowest incomes). Deciles of {basis}. {gap}",
    ),
    "deciles_gap": ("Écart D1 − D10 : {gap} ({ci}).", "D1 − D10 gap: {gap} ({ci})."),
    "deciles_gap_empty": (
        "Écart D1 − D10 : non calculé, faute d'IRIS en {ends} (voir sous le tableau).",
        "D1 − D10 gap: not computed, for want of IRIS in {ends} (see under the table).",
    ),
    "deciles_empty": (
        "Les {n} IRIS retenus sont trop peu nombreux pour remplir les dix déciles de revenu : "
        "{empty} n'en comptent aucun.",
        "The {n} IRIS used are too few to fill the ten income deciles: {empty} hold none.",
    ),
    "deciles_empty_one": (
        "Les {n} IRIS retenus sont trop peu nombreux pour remplir les dix déciles de revenu : "
        "{empty} n'en compte aucun.",
        "The {n} IRIS used are too few to fill the ten income deciles: {empty} holds none.",
    ),
    # one IRIS or none: nine or ten deciles empty
    "deciles_empty_iris_one": (
        "Avec {n} IRIS retenu, les dix déciles de revenu ne peuvent pas être remplis : {empty} "
        "n'en comptent aucun.",
        "With {n} IRIS used, the ten income deciles cannot be filled: {empty} hold none.",
    ),
    "deciles_empty_no_gap": (
        "Sans IRIS en {ends}, l'écart D1 − D10 n'est pas calculé ; une zone d'étude plus "
        "grande, avec plus d'IRIS, le donnerait.",
        "With no IRIS in {ends}, the D1 − D10 gap is not computed; a larger study area, with "
        "more IRIS, would give it.",
    ),
    "deciles_ends_both": ("D1 et D10", "D1 and D10"),
    "deciles_basis_population": (
        "population (chacun ~10 % des habitants)",
        "population (each ~10% of residents)",
    ),
    "deciles_basis_zones": ("IRIS (chacun ~10 % des IRIS)", "IRIS (each ~10% of IRIS)"),
    "deciles_few_zones": (
        "D1 et D10 ne comptent que {d1} et {d10} IRIS : leurs moyennes changent sensiblement "
        "avec un seul IRIS de plus ou de moins, et un bootstrap sur si peu de zones tend à "
        "donner un intervalle trop étroit.",
        "D1 and D10 hold only {d1} and {d10} IRIS: their means move noticeably with a single "
        "IRIS more or less, and a bootstrap over so few zones tends to give too narrow an "
        "interval.",
    ),
    "deciles_minus_all": (
        "Barres : écart de chaque décile à la moyenne de l'ensemble ({overall}).",
        "Bars: each decile's difference from the overall mean ({overall}).",
    ),
    "deciles_ci_per_decile": (
        "Barres d'erreur : intervalle de confiance de chaque décile.",
        "Error bars: confidence interval of each decile.",
    ),
    "fig_qpv": ("IRIS en QPV et autres IRIS", "QPV IRIS and other IRIS"),
    "fig_qpv_caption": (
        "Un point par IRIS ; boîtes : quartiles ; losanges : moyennes pondérées par la population.",
        "One point per IRIS; boxes: quartiles; diamonds: population-weighted means.",
    ),
    "fig_qpv_caption_unweighted": (
        "Un point par IRIS ; boîtes : quartiles ; losanges : moyennes des IRIS (non pondérées).",
        "One point per IRIS; boxes: quartiles; diamonds: means of the IRIS (unweighted).",
    ),
    "fig_suhii": ("SUHII par scène", "SUHII per scene"),
    "fig_quality": ("Couverture des données", "Data coverage"),
    "fig_quality_n_clear": ("Observations claires par pixel", "Clear observations per pixel"),
    "fig_quality_n_clear_land": (
        "Observations claires, pixels des IRIS hors eau",
        "Clear observations, IRIS pixels but water",
    ),
    "fig_quality_n_clear_iris": (
        "Observations claires par pixel des IRIS",
        "Clear observations per IRIS pixel",
    ),
    "fig_quality_valid": ("Couverture des IRIS", "Coverage of the IRIS"),
    "fig_quality_threshold": ("seuil {value}", "threshold {value}"),
    "figure_synthetic": (
        "Données synthétiques : aucun lieu réel",
        "Synthetic data: not a real place",
    ),
    # the scenario figures (pipelines.scenarios.figures)
    "scenario_figure_title": ("{name} : ΔLST prédit", "{name}: predicted ΔLST"),
    "scenario_figure_colorbar": (
        "ΔLST, scénario − situation actuelle (K)",
        "ΔLST, scenario − baseline (K)",
    ),
    "scenario_figure_colorbar_short": ("ΔLST (K)", "ΔLST (K)"),
    "scenario_figure_outlines": (
        "QPV en noir, IRIS en gris",
        "QPV outlined in black, IRIS in grey",
    ),
    "scenario_figure_qpv": ("QPV en noir", "QPV outlined in black"),
    "scenario_figure_drawn": (
        "Les pixels convertis sont un tirage au hasard de la part demandée, pas un plan",
        "The converted pixels are one random draw of the share asked for, not a plan",
    ),
    "scenario_figure_delta": (
        "ΔLST = LST prédite (scénario) − LST prédite (situation actuelle)",
        "ΔLST = predicted LST (scenario) − predicted LST (baseline)",
    ),
    "scenario_figure_range": (
        "Barres d'erreur : écart après, du plus bas au plus haut sur les ajustements du modèle "
        "(pas l'erreur du modèle)",
        "Error bars: lowest to highest gap after over the model's fits (not the model's error)",
    ),
    "scenario_figure_gap_before": ("Écart QPV avant", "QPV gap before"),
    "scenario_figure_gap_after": ("Écart QPV après, prédit", "QPV gap after, predicted"),
    "scenario_figure_gap_axis": (
        "QPV − reste, anomalie ΔT des IRIS (K)",
        "QPV − rest, IRIS LST anomaly ΔT (K)",
    ),
    "scenario_figure_gap_title": ("Écart QPV avant et après", "QPV gap before and after"),
    # --- tables ----------------------------------------------------------------------------------
    "col_rank": ("Rang", "Rank"),
    "col_code": ("Code", "Code"),
    "col_name": ("Nom", "Name"),
    "col_anomaly": ("ΔT (K)", "ΔT (K)"),
    "col_lst": ("LST (K)", "LST (K)"),
    "col_ndvi": ("NDVI", "NDVI"),
    "col_income": ("Revenu médian (€)", "Median income (€)"),
    "col_population": ("Population", "Population"),
    "col_in_qpv": ("En QPV", "In QPV"),
    "col_hotter_than": ("Plus chaud que … des autres IRIS", "Hotter than … of the other IRIS"),
    "col_group": ("Groupe", "Group"),
    "col_n_zones": ("IRIS", "IRIS"),
    "col_built": ("Part bâtie", "Built share"),
    "col_scene": ("Scène (UTC)", "Scene (UTC)"),
    "col_platform": ("Satellite", "Platform"),
    "col_suhii": ("SUHII (K)", "SUHII (K)"),
    "col_urban_mean": ("Moyenne urbaine (K)", "Urban mean (K)"),
    "col_rural_mean": ("Référence rurale (K)", "Rural reference (K)"),
    "col_urban_pixels": ("Pixels urbains", "Urban pixels"),
    "col_rural_pixels": ("Pixels ruraux", "Rural pixels"),
    "col_urban_clear": ("Part urbaine dégagée", "Urban share clear"),
    "col_rural_clear": ("Part rurale dégagée", "Rural share clear"),
    "row_composite": ("Composite médian", "Median composite"),
    "hottest_definition": (
        "« Plus chaud que X % des autres IRIS » : X = 100 · #{{j ≠ i : T_j < T_i}} / (N − 1), "
        "calculé sur les N = {n} IRIS qui ont une valeur de {label} ; les ex æquo ne comptent "
        "pas comme plus froids.",
        "“Hotter than X% of the other IRIS”: X = 100 · #{{j ≠ i : T_j < T_i}} / (N − 1), "
        "over the N = {n} IRIS with a value of {label}; ties do not count as cooler.",
    ),
    "hottest_definition_one": (
        "« Plus chaud que X % des autres IRIS » : X = 100 · #{{j ≠ i : T_j < T_i}} / (N − 1), "
        "calculé sur le N = {n} IRIS qui a une valeur de {label} ; les ex æquo ne comptent "
        "pas comme plus froids.",
        "“Hotter than X% of the other IRIS”: X = 100 · #{{j ≠ i : T_j < T_i}} / (N − 1), "
        "over the N = {n} IRIS with a value of {label}; ties do not count as cooler.",
    ),
    "qpv_table_caption": (
        "Moyennes des IRIS pondérées par la population ; un IRIS est en QPV quand au moins "
        "{threshold} de sa surface est dans un QPV.",
        "Population-weighted means of the IRIS; an IRIS is in a QPV when at least {threshold} "
        "of its area lies in a QPV.",
    ),
    "qpv_table_caption_plain": (
        "Moyennes des IRIS pondérées par la population.",
        "Population-weighted means of the IRIS.",
    ),
    "qpv_table_caption_unweighted": (
        "Moyennes des IRIS, non pondérées (pas de population) ; un IRIS est en QPV quand au "
        "moins {threshold} de sa surface est dans un QPV.",
        "Means of the IRIS, unweighted (no population); an IRIS is in a QPV when at least "
        "{threshold} of its area lies in a QPV.",
    ),
    "qpv_table_caption_plain_unweighted": (
        "Moyennes des IRIS, non pondérées (pas de population).",
        "Means of the IRIS, unweighted (no population).",
    ),
    "qpv_table_counts": (
        "Les colonnes IRIS et Population comptent les IRIS qui entrent dans la moyenne de "
        "{label} : ceux qui en ont une valeur et une population.",
        "The IRIS and Population columns count the IRIS that enter the mean of {label}: those "
        "with a value of it and a population.",
    ),
    "qpv_table_counts_unweighted": (
        "La colonne IRIS compte les IRIS qui entrent dans la moyenne de {label} : ceux qui en "
        "ont une valeur.",
        "The IRIS column counts the IRIS that enter the mean of {label}: those with a value of it.",
    ),
    "qpv_table_left_out": (
        "{n} IRIS sans valeur ou sans population n'y entrent pas ({n_in} en QPV, {others}).",
        "{n} IRIS without a value or a population are left out ({n_in} in QPV, {others}).",
    ),
    "qpv_table_left_out_one": (
        "{n} IRIS sans valeur ou sans population n'y entre pas ({n_in} en QPV, {others}).",
        "{n} IRIS without a value or a population is left out ({n_in} in QPV, {others}).",
    ),
    "qpv_table_left_out_unweighted": (
        "{n} IRIS sans valeur n'y entrent pas ({n_in} en QPV, {others}).",
        "{n} IRIS without a value are left out ({n_in} in QPV, {others}).",
    ),
    "qpv_table_left_out_unweighted_one": (
        "{n} IRIS sans valeur n'y entre pas ({n_in} en QPV, {others}).",
        "{n} IRIS without a value is left out ({n_in} in QPV, {others}).",
    ),
    "qpv_table_rows": (
        "L'écart testé plus haut ne compte que les {n} IRIS dont le revenu et la population "
        "sont aussi connus : les lignes « du test » en donnent les moyennes.",
        "The gap tested above counts only the {n} IRIS whose income and population are also "
        "known: the rows “of the test” give their means.",
    ),
    "deciles_table_caption": (
        "Moyenne de {label} par décile de revenu, avec le nombre d'IRIS et les bornes du "
        "revenu médian des IRIS de chaque décile.",
        "Mean of {label} by income decile, with the number of IRIS and the bounds of the "
        "median income of the IRIS in each decile.",
    ),
    "hottest_table_caption": (
        "Les {n} IRIS les plus chauds selon {label}, du plus chaud au moins chaud.",
        "The {n} hottest IRIS by {label}, hottest first.",
    ),
    "hottest_none": (
        "Aucun IRIS n'a de valeur de {label} : il n'y a pas d'IRIS à classer.",
        "No IRIS has a value of {label}: there is no IRIS to rank.",
    ),
    "hottest_table_caption_one": (
        "L'IRIS le plus chaud selon {label}.",
        "The hottest IRIS by {label}.",
    ),
    "suhii_table_caption": (
        "SUHII de chaque scène et des composites, avec les moyennes urbaine et rurale, le "
        "nombre de pixels de chacune et, par scène, la part des pixels de l'empreinte urbaine "
        "et de la référence rurale qui étaient dégagés.",
        "SUHII of each scene and of the composites, with the urban and rural means, the "
        "number of pixels of each and, per scene, the share of the urban footprint's and of "
        "the rural reference's pixels that were clear.",
    ),
    "scenarios_table_caption": (
        "Un scénario par ligne : surface modifiée, effets ΔLST (K) et écart QPV − reste avant "
        "et après.",
        "One scenario per row: area changed, ΔLST effects (K) and QPV − rest gap before and after.",
    ),
    "residents_left_out": (
        "Les IRIS laissés de côté comptent {n} des {total} habitants.",
        "The IRIS left out hold {n} of the {total} residents.",
    ),
    "qpv_polygons_caption": (
        "Les QPV eux-mêmes, statistiques exactes sur leurs contours.",
        "The QPV themselves, exact statistics over their outlines.",
    ),
    # --- quality --------------------------------------------------------------------------------
    "quality_zones": (
        "{with_value} IRIS sur {n} ont une valeur de {label}. Part des terres (l'eau exclue) "
        "couverte par des pixels valides : minimum {vmin}, médiane {vmed}.",
        "{with_value} of {n} IRIS have a value of {label}. Share of the land (water left out) "
        "covered by valid pixels: minimum {vmin}, median {vmed}.",
    ),
    "quality_zones_one": (
        "{with_value} IRIS sur {n} a une valeur de {label}. Part des terres (l'eau exclue) "
        "couverte par des pixels valides : minimum {vmin}, médiane {vmed}.",
        "{with_value} of {n} IRIS has a value of {label}. Share of the land (water left out) "
        "covered by valid pixels: minimum {vmin}, median {vmed}.",
    ),
    "quality_zones_water_kept": (
        "{with_value} IRIS sur {n} ont une valeur de {label}. Part de la surface (l'eau "
        "comprise) couverte par des pixels valides : minimum {vmin}, médiane {vmed}.",
        "{with_value} of {n} IRIS have a value of {label}. Share of the area (water included) "
        "covered by valid pixels: minimum {vmin}, median {vmed}.",
    ),
    "quality_zones_water_kept_one": (
        "{with_value} IRIS sur {n} a une valeur de {label}. Part de la surface (l'eau "
        "comprise) couverte par des pixels valides : minimum {vmin}, médiane {vmed}.",
        "{with_value} of {n} IRIS has a value of {label}. Share of the area (water included) "
        "covered by valid pixels: minimum {vmin}, median {vmed}.",
    ),
    "quality_delta_share": (
        "Sur la même base, {label} (anomaly_valid_frac, des seules scènes ayant une "
        "référence) : minimum {vmin}, médiane {vmed}.",
        "On the same base, {label} (anomaly_valid_frac, from the scenes with a reference "
        "only): minimum {vmin}, median {vmed}.",
    ),
    "quality_below": (
        "{count} IRIS sont sous le seuil de couverture de {threshold} et n'ont pas de valeur.",
        "{count} IRIS are under the coverage threshold of {threshold} and have no value.",
    ),
    "quality_below_one": (
        "{count} IRIS est sous le seuil de couverture de {threshold} et n'a pas de valeur.",
        "{count} IRIS is under the coverage threshold of {threshold} and has no value.",
    ),
    "quality_below_delta": (
        "{count} autres IRIS ont une LST composite, mais une anomalie ΔT sur moins de "
        "{threshold} de leur surface (anomaly_valid_frac : moins de scènes ont une "
        "référence) et n'ont pas de valeur d'anomalie.",
        "{count} other IRIS have a composite LST, but a ΔT anomaly on under {threshold} of "
        "their area (anomaly_valid_frac: fewer scenes have a reference) and have no "
        "anomaly value.",
    ),
    "quality_below_delta_one": (
        "{count} autre IRIS a une LST composite, mais une anomalie ΔT sur moins de "
        "{threshold} de sa surface (anomaly_valid_frac : moins de scènes ont une "
        "référence) et n'a pas de valeur d'anomalie.",
        "{count} other IRIS has a composite LST, but a ΔT anomaly on under {threshold} of its "
        "area (anomaly_valid_frac: fewer scenes have a reference) and has no anomaly "
        "value.",
    ),
    "quality_n_clear": (
        "Observations claires par IRIS (moyenne sur ses pixels hors eau : l'eau est exclue de "
        "la LST) : minimum {vmin}, médiane {vmed}.",
        "Clear observations per IRIS (mean over its pixels but water: water is left out of the "
        "LST): minimum {vmin}, median {vmed}.",
    ),
    # water kept in the LST, or a run before manifest version 4: over all the IRIS's pixels
    "quality_n_clear_all": (
        "Observations claires par IRIS (moyenne sur ses pixels) : minimum {vmin}, médiane {vmed}.",
        "Clear observations per IRIS (mean over its pixels): minimum {vmin}, median {vmed}.",
    ),
    "quality_decimated": (
        "La distribution par pixel est lue sur une vue sous-échantillonnée du raster.",
        "The per-pixel distribution is read from a decimated view of the raster.",
    ),
    "quality_warnings": ("Avertissements du traitement", "Warnings of the run"),
    "quality_warnings_lead": (
        "Messages émis par le traitement, cités en anglais tels qu'ils sont écrits dans "
        "manifest.json.",
        "Messages raised by the run, quoted as written in manifest.json.",
    ),
    "quality_settings": (
        "Réglages qui décident des pixels retenus, changés par rapport aux valeurs par défaut "
        "d'ilots : {items}.",
        "Settings that decide which pixels count, changed from ilots' defaults: {items}.",
    ),
    "quality_setting": (
        "{name} ({setting}) : {value} (défaut {default})",
        "{name} ({setting}): {value} (default {default})",
    ),
    "quality_setting_unlabelled": (
        "{setting} : {value} (défaut {default})",
        "{setting}: {value} (default {default})",
    ),
    # the settings' labels (a config.yaml key each: Messages.setting)
    "setting_inputs.max_cloud_cover": (
        "couverture nuageuse maximale d'une scène, en pourcentage",
        "maximum cloud cover of a scene, in percent",
    ),
    "setting_mask.landsat_preset": (
        "masque des nuages Landsat (bits de QA_PIXEL)",
        "Landsat cloud mask (QA_PIXEL bits)",
    ),
    "setting_mask.sentinel2_preset": (
        "masque des nuages Sentinel-2 (classes SCL)",
        "Sentinel-2 cloud mask (SCL classes)",
    ),
    "setting_mask.st_qa_max_k": (
        "incertitude maximale de la LST d'un pixel (ST_QA), en K",
        "maximum LST uncertainty of a pixel (ST_QA), in K",
    ),
    "setting_mask.cdist_min_km": (
        "distance minimale d'un pixel aux nuages (ST_CDIST), en km",
        "minimum distance of a pixel to clouds (ST_CDIST), in km",
    ),
    "setting_mask.radsat": (
        "pixels saturés écartés (QA_RADSAT)",
        "saturated pixels left out (QA_RADSAT)",
    ),
    "setting_mask.dilate_m": (
        "élargissement des masques de nuages, en mètres",
        "growth of the cloud masks, in metres",
    ),
    "setting_mask.dilate_px": (
        "élargissement des masques de nuages, en pixels (clé dépréciée)",
        "growth of the cloud masks, in pixels (deprecated key)",
    ),
    "setting_mask.lst_keep_water": (
        "pixels d'eau gardés dans la LST",
        "water pixels kept in the LST",
    ),
    "setting_mask.indices_keep_water": (
        "pixels d'eau gardés dans le NDVI et l'albédo",
        "water pixels kept in the NDVI and albedo",
    ),
    "setting_composite.min_clear": (
        "observations claires minimales d'un pixel pour sa LST composite",
        "minimum clear observations of a pixel for its composite LST",
    ),
    "setting_composite.min_clear_area_frac": (
        "part minimale d'une zone assez souvent observée avant de la signaler",
        "minimum share of a zone observed often enough before it is flagged",
    ),
    "setting_zones.min_valid_frac": (
        "part valide minimale d'une zone pour qu'elle ait une LST",
        "minimum valid share of a zone for it to have an LST",
    ),
    "settings_separator": (" ; ", "; "),
    "quality_low_clear": (
        "{count} IRIS sont signalés low_clear_area (colonne de zones.gpkg) : moins de "
        "{threshold} de {of} a une LST composite et une anomalie ΔT composite "
        "(composite.min_clear_area_frac), le reste n'ayant pas assez d'observations claires.",
        "{count} IRIS are flagged low_clear_area (a column of zones.gpkg): under {threshold} "
        "of {of} has a composite LST and a composite anomaly ΔT (composite.min_clear_area_frac), "
        "the rest having too few clear observations.",
    ),
    "quality_low_clear_one": (
        "{count} IRIS est signalé low_clear_area (colonne de zones.gpkg) : moins de "
        "{threshold} de {of} a une LST composite et une anomalie ΔT composite "
        "(composite.min_clear_area_frac), le reste n'ayant pas assez d'observations claires.",
        "{count} IRIS is flagged low_clear_area (a column of zones.gpkg): under {threshold} "
        "of {of} has a composite LST and a composite anomaly ΔT (composite.min_clear_area_frac), "
        "the rest having too few clear observations.",
    ),
    "quality_low_clear_valued": (
        "{count} d'entre eux ont pourtant une valeur, tirée de leur seule partie dégagée : "
        "elle peut mal décrire l'IRIS entier, à lire avec prudence.",
        "{count} of them still have a value, from their clear part only: it may describe the "
        "whole IRIS poorly, to be read with care.",
    ),
    "quality_low_clear_valued_one": (
        "{count} d'entre eux a pourtant une valeur, tirée de sa seule partie dégagée : elle "
        "peut mal décrire l'IRIS entier, à lire avec prudence.",
        "{count} of them still has a value, from its clear part only: it may describe the "
        "whole IRIS poorly, to be read with care.",
    ),
    # the one IRIS flagged has a value
    "quality_low_clear_valued_alone": (
        "Il a pourtant une valeur, tirée de sa seule partie dégagée : elle peut mal décrire "
        "l'IRIS entier, à lire avec prudence.",
        "It still has a value, from its clear part only: it may describe the whole IRIS "
        "poorly, to be read with care.",
    ),
    "quality_low_clear_land": ("leur surface hors eau", "their land"),
    "quality_low_clear_area": ("leur surface", "their area"),
    "quality_low_clear_land_one": ("sa surface hors eau", "its land"),
    "quality_low_clear_area_one": ("sa surface", "its area"),
    "quality_settings_default": (
        "Les masques et les seuils de qualité sont ceux par défaut d'ilots.",
        "The masks and quality thresholds are ilots' defaults.",
    ),
    "quality_no_warnings": (
        "Le traitement n'a émis aucun avertissement.",
        "The run raised no warning.",
    ),
    "warning_kinds_lead": (
        "Chaque type d'avertissement est résumé en français ; suivent, comme détail technique, "
        "les messages d'origine, cités en anglais tels qu'ils sont écrits dans manifest.json.",
        "Each kind of warning is summed up; the original messages follow as technical detail, "
        "quoted as written in manifest.json.",
    ),
    # the kinds of warning (tiles.errors.WarningCode, manifest.json's warning_codes)
    "warning_kind_zone_geometry_repaired": (
        "Géométries de zones invalides, réparées : leurs surfaces peuvent différer un peu des "
        "surfaces publiées",
        "Invalid zone geometries, repaired: their areas may differ slightly from the "
        "published ones",
    ),
    "warning_kind_secret_values": (
        "Valeurs INSEE couvertes par le secret statistique ou absentes : laissées vides, "
        "jamais mises à 0",
        "INSEE values withheld by statistical confidentiality or missing: left empty, never "
        "set to 0",
    ),
    "warning_kind_unmatched_codes": (
        "Codes sans correspondance entre deux tables jointes (des IRIS de la couche absents "
        "d'une table INSEE, ou l'inverse)",
        "Codes without a match between two joined tables (IRIS of the layer missing from an "
        "INSEE table, or the reverse)",
    ),
    "warning_kind_no_clear_pixels": (
        "Scènes sans assez de pixels clairs dans l'emprise urbaine ou la référence rurale "
        "(heat_island.min_reference_pixels, min_reference_frac) : pas de SUHII pour elles, ni "
        "d'anomalie ΔT quand c'est leur référence qui en manque",
        "Scenes without enough clear pixels in the urban footprint or the rural reference "
        "(heat_island.min_reference_pixels, min_reference_frac): no SUHII for them, nor a ΔT "
        "anomaly when their reference is the side short of them",
    ),
    "warning_kind_no_clear_lst": (
        "Aucun IRIS n'a de température de surface : trop peu d'observations claires",
        "No IRIS has a surface temperature: too few clear observations",
    ),
    "warning_kind_few_clear_lst": (
        "Des IRIS sans température de surface ou sans anomalie ΔT : trop peu d'observations "
        "claires sur eux",
        "IRIS without a surface temperature or without an anomaly ΔT: too few clear "
        "observations over them",
    ),
    "warning_kind_skipped_input": (
        "Fichiers ou produits d'entrée laissés de côté (illisibles ou inutilisables)",
        "Input files or products left out (unreadable or unusable)",
    ),
    "warning_kind_deprecated_key": (
        "Clés de configuration dépréciées : le message donne la clé qui les remplace",
        "Deprecated config keys: the message gives the key that replaces each",
    ),
    "warning_kind_damaged_checkpoint": (
        "Points de reprise d'un traitement interrompu illisibles (vides ou tronqués) : "
        "supprimés, leurs tuiles recalculées ; les résultats n'en dépendent pas",
        "Checkpoints of an interrupted run unreadable (empty or truncated): removed, their "
        "tiles computed anew; the results do not depend on it",
    ),
    "warning_kind_discarded_checkpoints": (
        "Points de reprise d'un traitement interrompu faits avec d'autres réglages ou "
        "entrées : écartés, toutes les tuiles recalculées",
        "Checkpoints of an interrupted run made with other settings or inputs: discarded, "
        "every tile computed anew",
    ),
    "warning_kind_partial_coverage": (
        "Les produits Landsat ne couvrent qu'une partie de la zone d'étude : ses IRIS hors de "
        "leur emprise n'ont pas de température",
        "The Landsat products cover only part of the area of interest: its IRIS outside them "
        "have no temperature",
    ),
    "warning_kind_zones_cut_by_area": (
        "Des IRIS coupés par le bord de la zone d'étude : gardés entiers s'ils y sont au "
        "moins pour moitié, laissés de côté sinon",
        "IRIS cut by the edge of the area of interest: kept whole when at least half inside, "
        "left out otherwise",
    ),
    "warning_kind_damaged_input": (
        "Fichiers de bandes endommagés (un bloc illisible) : leurs pixels à cet endroit "
        "laissés de côté, comme des nuages ; à télécharger de nouveau",
        "Damaged band files (a block that cannot be read): their pixels there left out, as "
        "clouds are; download them again",
    ),
    "warning_kind_user_tables_replaced": (
        "Ce qu'un utilisateur avait enregistré dans zones.gpkg et que le traitement, qui "
        "remplace ce fichier en entier, ne peut reporter dans le nouveau (une vue, une table "
        "de tuiles raster, le style d'une couche disparue), et les couches d'un traitement "
        "antérieur qu'il n'écrit plus : perdu",
        "What a user had saved in zones.gpkg that the run, which replaces that file whole, "
        "cannot carry into the new one (a view, a raster tile table, a style of a layer "
        "gone), and the layers of an earlier run it no longer writes: gone",
    ),
    "warning_kind_user_tables_renamed": (
        "Des couches d'un utilisateur dans zones.gpkg portant le nom d'une couche qu'écrit le "
        "traitement : conservées sous un autre nom",
        "A user's layers in zones.gpkg named as a layer the run writes: kept under another name",
    ),
    "warning_kind_layer_metadata_kept": (
        "Métadonnées de couches enregistrées par un utilisateur dans zones.gpkg : conservées, "
        "alors que celles qu'écrit ilots ont changé ; à mettre à jour dans QGIS",
        "Layer metadata a user saved in zones.gpkg: kept, while what ilots writes of it has "
        "changed; update it in QGIS",
    ),
    "warning_kind_qpv_without_iris": (
        "Des QPV qu'aucun IRIS compté « en QPV » ne couvre en majeure partie : leurs IRIS "
        "comptent parmi les autres IRIS dans l'écart QPV ; leurs statistiques propres sont "
        "celles de la couche qpv",
        "QPV that no IRIS counted 'in QPV' mostly covers: their IRIS count among the other "
        "IRIS in the QPV gap; their own statistics are those of the qpv layer",
    ),
    "warning_kind_census_year_mismatch": (
        "Une colonne de revenu nommée pour une autre année Filosofi que celle du fichier : "
        "c'est l'année du fichier qui est lue",
        "An income column named for another Filosofi year than its file's: the file's year is "
        "what is read",
    ),
    "warning_kind_cluster_versions": (
        "Le cluster Dask n'a pas les mêmes versions de bibliothèques que cette machine : "
        "résultats et erreurs peuvent différer",
        "The Dask cluster runs other library versions than this machine: results and failures "
        "may differ",
    ),
    "warning_kind_landcover_fallback": (
        "Produits sans les bandes du MNDWI ou du NDBI : occupation du sol tirée du NDVI, l'eau "
        "des indicateurs de qualité ; sans NDBI, le sol nu est compté comme bâti (parts de sol "
        "nu laissées vides)",
        "Products without the bands of MNDWI or NDBI: land cover from NDVI, water from the "
        "quality flags; without NDBI, bare soil is counted as built (bare-soil shares left "
        "empty)",
    ),
    "warning_kind_empty_composite": (
        "Composite sans valeur, ou sur trop peu de pixels, dans l'emprise urbaine ou la "
        "référence rurale (composite.min_clear scènes claires par pixel ; "
        "heat_island.min_reference_pixels et min_reference_frac) : pas de SUHII pour ce "
        "composite (celui de ΔT, ou aussi celui de la LST), ceux des scènes gardés",
        "A composite without a value, or with one on too few pixels, in the urban footprint or "
        "the rural reference (composite.min_clear clear scenes a pixel; "
        "heat_island.min_reference_pixels and min_reference_frac): no SUHII for that "
        "composite (ΔT's, or the LST's too), the scenes' own kept",
    ),
    "warning_kind_no_sentinel2": (
        "Aucun produit Sentinel-2 dans les périodes et la zone d'étude : NDVI et occupation du "
        "sol tirés des scènes Landsat",
        "No Sentinel-2 product within the periods and area of interest: NDVI and land cover "
        "from the Landsat scenes",
    ),
    "warning_kind_reference_differs": (
        "Deux traitements comparés dont la référence rurale du ΔT diffère : une part de la "
        "variation du ΔT vient de la référence",
        "Two runs compared whose rural reference of ΔT differs: part of ΔT's change is the "
        "reference's",
    ),
    "warning_kind_landcover_source_differs": (
        "Deux traitements comparés dont la source de l'occupation du sol diffère : les parts "
        "des classes varient aussi avec elle",
        "Two runs compared whose land-cover source differs: the class shares change with it too",
    ),
    "warning_kind_min_clear_differs": (
        "Deux traitements comparés dont composite.min_clear diffère : les composites gardent "
        "d'autres pixels",
        "Two runs compared whose composite.min_clear differs: the composites keep other pixels",
    ),
    "warning_kind_zones_differ": (
        "Deux traitements comparés dont les zones diffèrent en partie (identifiants, ou contour "
        "d'un même identifiant) : seules les zones communes sont comparées, celles redessinées "
        "mêlent leur variation à celle du contour",
        "Two runs compared whose zones differ in part (ids, or the shape of one id): only the "
        "zones in both are compared, and those redrawn mix their change with the boundary's",
    ),
    "warning_kind_mask_differs": (
        "Deux traitements comparés dont les masques (section mask) diffèrent : les composites "
        "gardent d'autres pixels",
        "Two runs compared whose masks (mask section) differ: the composites keep other pixels",
    ),
    "warning_kind_qpv_threshold_differs": (
        "Deux traitements comparés dont zones.qpv.iris_share_threshold diffère : d'autres IRIS "
        "comptent en QPV, l'écart des QPV porte sur d'autres groupes",
        "Two runs compared whose zones.qpv.iris_share_threshold differs: other IRIS count as "
        "QPV, so the QPV gap is over other groups",
    ),
    "warning_kind_extent_differs": (
        "Deux traitements comparés dont la zone d'étude (aoi) ou l'emprise de la grille "
        "diffère : la couronne rurale, donc la référence du ΔT, se déplace",
        "Two runs compared whose area of interest (aoi) or grid extent differs: the rural "
        "ring, hence ΔT's reference, moves",
    ),
    "warning_kind_synthetic_run": (
        "Comparaison d'un traitement de données synthétiques (la ville de démonstration)",
        "A comparison of a run of synthetic data (the demo city)",
    ),
    "warning_kind_empty_source": (
        "Une source d'entrée (inputs.landsat ou inputs.sentinel2) n'a donné aucun produit de "
        "son capteur : vérifiez son chemin, son motif ou sa recherche",
        "An input source (inputs.landsat or inputs.sentinel2) gave no product of its sensor: "
        "check its path, pattern or search",
    ),
    "warning_kind_grid_off_sensor_pixels": (
        "Grille dont les bords de pixels ne tombent ni sur ceux de Landsat ni sur ceux de "
        "Sentinel-2 (grid.resolution) : chaque bande est rééchantillonnée à cheval sur ses "
        "pixels, ce qui adoucit les contrastes nets",
        "A grid whose pixel edges fall on neither Landsat's nor Sentinel-2's (grid.resolution): "
        "every band is resampled across its pixels' edges, which blurs sharp contrasts",
    ),
    "warning_kind_zone_layer_edits_kept": (
        "Des couches de zones de zones.gpkg modifiées par un utilisateur depuis le traitement "
        "qui les a écrites : conservées telles quelles (sous un autre nom si le traitement "
        "réécrit la couche), à côté des nouvelles ; modifications à reporter",
        "Zone layers of zones.gpkg a user edited since the run that wrote them: kept as they "
        "were (under another name when the run writes the layer again), beside the new ones; "
        "carry the edits over",
    ),
    "warning_kind_no_anomaly": (
        "Traitement comparé sans ΔT (composite.anomaly: false) : ni sa variation ni celle de "
        "l'écart des QPV ne sont comparées",
        "A run compared without ΔT (composite.anomaly: false): neither its change nor the QPV "
        "gap's is compared",
    ),
    "warning_kind_same_run": (
        "Le même traitement comparé à lui-même : toutes les variations sont nulles",
        "The same run compared with itself: every change is zero",
    ),
    "warning_kind_landcover_map_sampled": (
        "Carte d'occupation du sol externe (landcover.external) aux pixels de moins de la "
        "moitié de ceux de la grille : chaque pixel de la grille prend la classe en son "
        "centre, les parts des classes des zones sont un échantillon de la carte ; la "
        "rééchantillonner à la résolution de la grille (gdalwarp -r mode)",
        "An external land-cover map (landcover.external) whose pixels are under half the "
        "grid's: each grid pixel takes the class at its centre, so the zones' class shares are "
        "a sample of the map's; resample it to the grid's resolution (gdalwarp -r mode)",
    ),
    "warning_kind_landcover_map_maybe_oso": (
        "Carte d'occupation du sol externe lue avec les codes de grille CORINE "
        "(mapping: corine_grid) mais aux seuls codes 1 à 23 et aux pixels de moins de la moitié "
        "des 100 m de CORINE : ce peut être une carte OSO, dont les classes seraient mal lues ; "
        "si c'en est une, indiquer mapping: oso",
        "An external land-cover map read with CORINE's grid codes (mapping: corine_grid) but "
        "with codes 1 to 23 only and pixels under half CORINE's 100 m: it may be an OSO map, "
        "its classes misread; if it is one, set mapping: oso",
    ),
    "warning_kind_zones_gpkg_kept": (
        "zones.gpkg conservé bien que le traitement ne l'écrive plus (outputs.zone_formats "
        "sans gpkg), car il contient vos propres couches, projets ou styles",
        "zones.gpkg kept although the run no longer writes it (outputs.zone_formats without "
        "gpkg), since it holds your own layers, projects or styles",
    ),
    "warning_kind_layer_partial_coverage": (
        "Une carte d'occupation du sol externe (landcover.external) ou un MNT "
        "(heat_island.dem) qui ne couvre qu'une partie de la grille : hors de la carte, les "
        "pixels n'ont pas de classe (parts des classes sur la partie couverte, emprise "
        "urbaine « built » réduite à elle) ou pas d'altitude",
        "An external land-cover map (landcover.external) or DEM (heat_island.dem) covering "
        "only part of the grid: outside the map, pixels have no class (class shares over the "
        "covered part, a 'built' urban footprint cut to it) or no elevation",
    ),
    "warning_kind_unknown_landcover_codes": (
        "Des codes de la carte d'occupation du sol externe absents de sa table de "
        "correspondance : leurs pixels sont sans classe ; à ajouter à landcover.external.mapping",
        "Codes of the external land-cover map missing from its mapping: their pixels have no "
        "class; add them to landcover.external.mapping",
    ),
    "warning_kind_empty_mask": (
        "Emprise urbaine ou référence rurale sans aucun pixel : pas de SUHII ; vérifiez les "
        "zones, les classes bâties de l'occupation du sol ou la couronne rurale",
        "An urban footprint or rural reference without a pixel: no SUHII; check the zones, "
        "the land cover's built classes or the rural ring",
    ),
    # the warnings of no kind the report knows (none, or a later ilots' kind)
    "warning_unclassified": (
        "Avertissements non classés : le rapport n'a pas de résumé en français pour ces "
        "messages, cités ci-dessous tels que le traitement les a écrits",
        "Unclassified warnings: the report has no summary of its own for these messages, "
        "quoted below as the run wrote them",
    ),
    "warning_unclassified_one": (
        "Avertissement non classé : le rapport n'a pas de résumé en français pour ce message, "
        "cité ci-dessous tel que le traitement l'a écrit",
        "Unclassified warning: the report has no summary of its own for this message, quoted "
        "below as the run wrote it",
    ),
    # --- scenarios ------------------------------------------------------------------------------
    # the scenario model's words (model.json's identifiers)
    "model_gradient_boosting": ("à gradient boosting (arbres)", "Gradient-boosting (trees)"),
    "model_ridge": ("ridge quadratique", "Quadratic ridge"),
    "model_lst_anomaly": ("l'anomalie de LST (ΔT)", "the LST anomaly (ΔT)"),
    "model_lst_median": ("la LST médiane", "the median LST"),
    "model_ndvi": ("NDVI", "NDVI"),
    "model_albedo": ("albédo", "albedo"),
    "model_built_share": ("part de bâti alentour", "share of built land around"),
    "model_vegetation_share": ("part de végétation alentour", "share of vegetation around"),
    "model_water_share": ("part d'eau alentour", "share of water around"),
    "model_dist_water_m": ("distance à l'eau", "distance to water"),
    "model_dist_dense_vegetation_m": (
        "distance à la végétation dense",
        "distance to dense vegetation",
    ),
    "model_skill": (
        "Modèle {estimator} de {target} selon {predictors} : R² = {r2}, RMSE = {rmse} K en "
        "validation croisée spatiale par blocs ({folds} plis, blocs de {block} m, {pixels} "
        "pixels). Seuil de R² requis : {threshold}.",
        "{estimator} model of {target} from {predictors}: R² = {r2}, RMSE = {rmse} K by "
        "spatially blocked cross-validation ({folds} folds, {block} m blocks, {pixels} pixels). "
        "Required R²: {threshold}.",
    ),
    "model_forced": (
        "Attention : les scénarios ont été forcés alors que la qualité du modèle est sous le "
        "seuil ; leurs effets sont peu fiables.",
        "Warning: the scenarios were forced although the model's skill is under the threshold; "
        "their effects are unreliable.",
    ),
    "model_refused": (
        "Scénarios refusés : la qualité du modèle est sous le seuil ; aucun effet n'est "
        "calculé (scenario_model.force ou --force les calcule quand même).",
        "Scenarios refused: the model's skill is under the threshold; no effect is computed "
        "(scenario_model.force or --force computes them anyway).",
    ),
    "scenario_effect": (
        "Effet d'un scénario, noté ΔLST = LST prédite (scénario) − LST prédite (situation "
        "actuelle), en K ; à ne pas confondre avec l'anomalie ΔT du traitement (écart à la "
        "référence rurale). Un biais constant "
        "du modèle s'annule, pas son erreur sur la réponse de la température au changement. "
        "Les intervalles de confiance des indicateurs après scénario (inequality.json de chaque "
        "scénario) n'incluent pas l'erreur du modèle. Le modèle décrit comment les pixels "
        "diffèrent aujourd'hui d'un endroit à l'autre de la ville (une association observée "
        "à un instant), non l'effet causal d'un aménagement : les effets ci-dessous sont ce "
        "qu'il prédit pour une surface changée, pas ce qu'un aménagement produirait à coup "
        "sûr. Un autre modèle (scenario_model.estimator) peut les déplacer au-delà des "
        "fourchettes données, qui ne mesurent que la dispersion entre ajustements du même "
        "modèle.",
        "Effect of a scenario, written ΔLST = predicted LST (scenario) − predicted LST "
        "(baseline), in K; not to be confused with the run's anomaly ΔT (the difference to the "
        "rural reference). A constant bias of the "
        "model cancels, not its error on how the temperature responds to the change. The "
        "confidence intervals of the indicators after a scenario (each scenario's "
        "inequality.json) leave out the model's error. The model describes how pixels differ "
        "across the city today (a cross-sectional association), not the causal effect of an "
        "intervention: the effects below are what it predicts for a changed surface, not what "
        "a project would surely bring. Another model (scenario_model.estimator) can move them "
        "beyond the ranges given, which measure only the spread over refits of the same "
        "model.",
    ),
    "scenario_warnings": ("Avertissements des scénarios", "Scenario warnings"),
    "scenario_warnings_lead": (
        "Messages émis par ilots scenarios, cités en anglais tels qu'ils sont écrits dans "
        "manifest.json.",
        "Messages raised by ilots scenarios, quoted as written in manifest.json.",
    ),
    "scenario_best_fits": (
        "Il le fait dans {k} des {n} ajustements du modèle.",
        "It does so in {k} of the model's {n} fits.",
    ),
    "scenario_best_fits_all": (
        "Il le fait dans les {n} ajustements du modèle.",
        "It does so in all {n} of the model's fits.",
    ),
    "scenario_best_tie": (
        "Selon le modèle, les scénarios {names} réduisent le plus l'écart QPV − reste, chacun "
        "dans {k} des {n} ajustements du modèle : de {before} K à respectivement {afters}.",
        "The model predicts that scenarios {names} narrow the QPV − rest gap the most, each in "
        "{k} of the model's {n} fits: from {before} K to {afters} respectively.",
    ),
    "scenario_tie_after": ("{after} K{spread}", "{after} K{spread}"),
    "scenario_best_tie_alike": (
        "Selon le modèle, les scénarios {names} réduisent le plus l'écart QPV − reste, à "
        "égalité : de {before} à {after} K.",
        "The model predicts that scenarios {names} narrow the QPV − rest gap the most, alike: "
        "from {before} to {after} K.",
    ),
    "quoted_name": ("« {name} »", "“{name}”"),
    "and": ("et", "and"),
    "scenario_best": (
        "Selon le modèle, le scénario « {name} » réduit le plus l'écart QPV − reste : de "
        "{before} à {after} K{spread}.",
        "The model predicts that scenario “{name}” narrows the QPV − rest gap the most: from "
        "{before} to {after} K{spread}.",
    ),
    "scenario_best_spread": (
        " (de {low} à {high} K sur les ajustements du modèle)",
        " ({low} to {high} K over the model's fits)",
    ),
    "scenario_gap_unestablished": (
        "Ces données n'établissent pas l'écart de départ (voir l'écart QPV − reste plus "
        "haut), ni donc sa réduction par ce scénario.",
        "These data do not establish the starting gap (see the QPV − rest gap above), nor "
        "therefore its narrowing by this scenario.",
    ),
    "scenario_gap_unestablished_tie": (
        "Ces données n'établissent pas l'écart de départ (voir l'écart QPV − reste plus "
        "haut), ni donc sa réduction par ces scénarios.",
        "These data do not establish the starting gap (see the QPV − rest gap above), nor "
        "therefore its narrowing by these scenarios.",
    ),
    "col_scenario": ("Scénario", "Scenario"),
    "col_description": ("Description", "Description"),
    "col_area_changed": ("Surface modifiée (ha)", "Area changed (ha)"),
    "col_area_predicted": (
        "Surface modifiée avec prédiction (ha)",
        "Area changed with a prediction (ha)",
    ),
    "col_changed_delta": (
        "ΔLST moyen des pixels modifiés avec prédiction (K)",
        "Mean ΔLST of the changed pixels with a prediction (K)",
    ),
    "col_mean_delta": (
        "ΔLST moyen de la zone ciblée, pixels avec anomalie observée (K)",
        "Mean ΔLST over the target area, pixels with an observed anomaly (K)",
    ),
    "col_urban_delta": ("ΔLST moyen, ville (K)", "Mean ΔLST, whole city (K)"),
    "col_delta_per_ha": (
        "ΔLST ville par ha modifié avec prédiction (K/ha)",
        "City ΔLST per ha changed with a prediction (K/ha)",
    ),
    "col_extrapolated": ("Part extrapolée", "Extrapolated share"),
    "col_qpv_delta": ("ΔLST QPV (K)", "ΔLST QPV (K)"),
    "col_rest_delta": ("ΔLST reste (K)", "ΔLST rest (K)"),
    "col_gap_before": ("Écart QPV avant (K)", "QPV gap before (K)"),
    "col_gap_after": ("Écart QPV après (K)", "QPV gap after (K)"),
    "col_ci_before": (
        "Indice de concentration généralisé avant (K)",
        "Generalised concentration index before (K)",
    ),
    "col_ci_after": (
        "Indice de concentration généralisé après (K)",
        "Generalised concentration index after (K)",
    ),
    "scenario_map": (
        "ΔLST prédit par le modèle pour le scénario « {name} »",
        "ΔLST the model predicts for scenario “{name}”",
    ),
    "scenario_area_predicted": (
        "Surface modifiée avec prédiction : la part de la surface modifiée dont les pixels ont "
        "une température observée (assez de dates claires) et des prédicteurs connus ; le ΔLST "
        "moyen des pixels modifiés et le ΔLST ville par hectare reposent sur elle.",
        "Area changed with a prediction: the part of the area changed whose pixels have an "
        "observed temperature (enough clear dates) and known predictors; the mean ΔLST of the "
        "changed pixels and the city ΔLST per hectare rest on it.",
    ),
    "scenario_extrapolated_definition": (
        "Part extrapolée : part des pixels modifiés avec prédiction (ceux dont le scénario "
        "change le NDVI, l'albédo ou la classe, sans leurs voisins) où une variable du modèle "
        "sort, après le scénario, de l'intervalle de valeurs sur lequel le modèle a été "
        "ajusté (la plus grande de ces parts sur les variables).",
        "Extrapolated share: the share of the changed pixels with a prediction (those whose "
        "NDVI, albedo or class the scenario changes, not their neighbours) where a predictor "
        "of the model, after the scenario, lies outside the range of values the model was "
        "fitted on (the largest of these shares over the predictors).",
    ),
    "scenario_extrapolated_definition_predicted": (
        "Part extrapolée : part des pixels prédits (ceux dont une variable du modèle change, "
        "voisins des pixels modifiés compris) où une variable du modèle sort, après le "
        "scénario, de l'intervalle de valeurs sur lequel le modèle a été ajusté (la plus "
        "grande de ces parts sur les variables), telle que l'écrivait une version antérieure "
        "d'ilots ; relancer ilots scenarios pour la part des seuls pixels modifiés.",
        "Extrapolated share: the share of the predicted pixels (those with a predictor that "
        "changes, the changed pixels' neighbours included) where a predictor of the model, "
        "after the scenario, lies outside the range of values the model was fitted on (the "
        "largest of these shares over the predictors), as an earlier version of ilots wrote "
        "it; rerun ilots scenarios for the share of the changed pixels alone.",
    ),
    "scenario_pixels": (
        "des pixels modifiés avec prédiction",
        "of the changed pixels with a prediction",
    ),
    "scenario_pixels_predicted": (
        "des pixels prédits (voisins compris)",
        "of the predicted pixels (neighbours included)",
    ),
    "scenario_extrapolated_held": (
        "Scénario « {name} » : {share} {pixels} sortent de l'intervalle ajusté{detail}. Son "
        "effet est donc surtout extrapolé : au-delà de cet intervalle, le modèle garde la "
        "réponse qu'il a au bord, si bien que l'effet est probablement sous-estimé "
        "(estimation prudente).",
        "Scenario “{name}”: {share} {pixels} lie outside the fitted range{detail}. Its effect "
        "is therefore mostly extrapolated: beyond that range the model holds the response it "
        "has at the edge, so the effect is likely underestimated (conservative).",
    ),
    "scenario_extrapolated_linear": (
        "Scénario « {name} » : {share} {pixels} sortent de l'intervalle ajusté{detail}. Son "
        "effet est donc surtout extrapolé : au-delà de cet intervalle, le modèle ridge (une "
        "surface quadratique des variables : leurs carrés et leurs produits deux à deux) "
        "prolonge sa courbe sans donnée pour la vérifier ; l'effet est peu sûr.",
        "Scenario “{name}”: {share} {pixels} lie outside the fitted range{detail}. Its effect "
        "is therefore mostly extrapolated: beyond that range the ridge model (a quadratic "
        "surface of the predictors: their squares and pairwise products) extends its curve "
        "with no data to check it; the effect is uncertain.",
    ),
    "scenario_extrapolated_detail": (
        " de la variable « {predictor} »",
        " of the predictor “{predictor}”",
    ),
    "scenario_comparison": (
        "Scénarios côte à côte, selon le modèle",
        "Scenarios side by side, as the model predicts them",
    ),
    "scenario_figures_language": (
        "Les figures ci-dessous sont en {drawn} : ilots scenarios les dessine dans la langue "
        "de sa configuration, ici outputs.report_language : {drawn_code} (config.yaml du "
        "dossier). Pour les avoir en {wanted}, relancer ilots scenarios avec "
        "outputs.report_language : {wanted_code}.",
        "The figures below are in {drawn}: ilots scenarios draws them in the language of its "
        "config, here outputs.report_language: {drawn_code} (the folder's config.yaml). To "
        "have them in {wanted}, rerun ilots scenarios with outputs.report_language: "
        "{wanted_code}.",
    ),
    "language_fr": ("français", "French"),
    "language_en": ("anglais", "English"),
    "scenario_spread": (
        "Chaque scénario est chiffré par l'un des {n} ajustements du modèle : celui dont "
        "l'effet moyen sur les pixels modifiés est la médiane. Toutes ses colonnes viennent "
        "de cet ajustement, si bien qu'une colonne peut se trouver au bord de sa propre "
        "fourchette. Entre parenthèses : la valeur la plus basse et la plus haute de la "
        "colonne sur les {n} ajustements (tirages différents des pixels d'apprentissage et "
        "des pixels convertis). Ce n'est pas un intervalle de confiance : c'est la part "
        "aléatoire de l'incertitude du modèle, pas toute son erreur. Les scénarios partagent "
        "ces ajustements : un ajustement qui renforce un effet renforce les autres, si bien "
        "que leur classement varie moins que leurs fourchettes.",
        "Each scenario is given by one of the model's {n} fits: the one whose mean effect on "
        "the changed pixels is the median. All its columns come from that fit, so a column "
        "can sit at the edge of its own range. In brackets: the lowest and highest value of "
        "the column over the {n} fits (other draws of the training pixels and of the pixels "
        "converted). This is not a confidence interval: it is the random part of the model's "
        "uncertainty, not its whole error. The scenarios share these fits: a fit that "
        "strengthens one effect strengthens the others, so their ranking varies less than "
        "their ranges.",
    ),
    "scenario_one_fit": (
        "Chaque scénario est chiffré par un seul ajustement du modèle "
        "(scenario_model.replicates : 1) : aucune fourchette ne dit combien il varierait avec "
        "un autre tirage des pixels ; scenario_model.replicates : 10 la donne.",
        "Each scenario is given by a single fit of the model (scenario_model.replicates: 1): "
        "no range says how much it would vary with another draw of the pixels; "
        "scenario_model.replicates: 10 gives it.",
    ),
    # --- method ---------------------------------------------------------------------------------
    "method_lst": (
        "La température de surface (LST) mesurée par satellite n'est pas la température de "
        "l'air : elle décrit l'échauffement des toits, des sols et de la végétation au passage "
        "du satellite (en fin de matinée), par ciel clair. Elle signale où la chaleur se forme, "
        "pas ce que ressentent les habitants la nuit.",
        "Satellite land surface temperature (LST) is not air temperature: it describes how "
        "warm roofs, ground and vegetation are when the satellite passes (late morning), under "
        "clear skies. It shows where heat builds up, not what residents feel at night.",
    ),
    "method_anomaly": (
        "L'anomalie ΔT est calculée scène par scène (LST du pixel − moyenne de la référence "
        "rurale de la même scène), puis résumée par la médiane des observations claires : les "
        "écarts de météo d'un jour à l'autre s'annulent.",
        "The anomaly ΔT is computed scene by scene (pixel LST − mean of the same scene's rural "
        "reference), then summarised by the median of clear observations, so that day-to-day "
        "weather cancels.",
    ),
    "method_anomaly_one_date": (
        "L'anomalie ΔT est calculée sur la seule scène de la période (LST du pixel − moyenne "
        "de la référence rurale de cette scène) : sans autre date, la médiane des observations "
        "claires est cette scène, et les écarts de météo d'un jour à l'autre ne s'annulent pas.",
        "The anomaly ΔT is computed on the periods' only scene (pixel LST − mean of that "
        "scene's rural reference): with no other date, the median of clear observations is "
        "that scene, and day-to-day weather does not cancel.",
    ),
    "method_zonal": (
        "Les statistiques par IRIS et par QPV sont exactes : chaque pixel compte pour la part "
        "de sa surface couverte par la zone (exactextract).",
        "Per-IRIS and per-QPV statistics are exact: each pixel counts for the share of its area "
        "the zone covers (exactextract).",
    ),
    "method_landcover_ndvi_only": (
        "L'occupation du sol vient du seul NDVI : les produits n'ont pas les bandes du NDBI, "
        "qui sépare le bâti du sol nu. Le sol nu y est compté comme bâti : ses parts par zone "
        "sont vides (inconnues, pas nulles), et là où le bâti est écarté (la référence rurale "
        "du SUHII et des ΔT), le sol nu l'est aussi.",
        "The land cover comes from NDVI alone: the products lack the bands of NDBI, which "
        "tells built from bare soil. Bare soil is counted as built there: its per-zone shares "
        "are empty (unknown, not zero), and where built pixels are left out (the rural "
        "reference of the SUHII and ΔT), bare soil is too.",
    ),
    "method_ci_moran": (
        "Les intervalles de confiance supposent des IRIS indépendants. Or les IRIS voisins se "
        "ressemblent (I de Moran = {value}, {p}) : ces intervalles sont optimistes, "
        "l'incertitude réelle est plus grande.",
        "The confidence intervals assume independent IRIS. Neighbouring IRIS are alike "
        "(Moran's I = {value}, {p}): these intervals are optimistic, the real uncertainty "
        "is larger.",
    ),
    "method_ci_moran_unclear": (
        "Les intervalles de confiance supposent des IRIS indépendants. Ces données n'établissent "
        "pas que les IRIS voisins se ressemblent (I de Moran = {value}, {p}) ; s'ils se "
        "ressemblent, ces intervalles sont optimistes.",
        "The confidence intervals assume independent IRIS. These data do not establish that "
        "neighbouring IRIS are alike (Moran's I = {value}, {p}); where they are, these "
        "intervals are optimistic.",
    ),
    "method_ci": (
        "Les intervalles de confiance supposent des IRIS indépendants ; avec l'autocorrélation "
        "spatiale habituelle des IRIS voisins, ils sont optimistes.",
        "The confidence intervals assume independent IRIS; with the usual spatial "
        "autocorrelation of neighbouring IRIS they are optimistic.",
    ),
    "method_ci_few_iris": (
        "Ces indicateurs reposent sur {n} IRIS, moins d'une centaine : les intervalles de "
        "confiance bootstrap des indices de concentration y sont un peu trop étroits (en "
        "simulation, un intervalle à 95 % contenait la vraie valeur dans environ 92 % des cas "
        "avec 60 IRIS).",
        "These statistics rest on {n} IRIS, fewer than about 100: the bootstrap confidence "
        "intervals of the concentration indices are somewhat too narrow there (in simulation, "
        "a 95% interval held the true value about 92% of the time with 60 IRIS).",
    ),
    "method_ci_very_few_iris": (
        "Ces indicateurs reposent sur {n} IRIS, moins de {least} : sur si peu de zones, même un "
        "test exact ne peut rien établir au seuil de {alpha}, et les intervalles de confiance "
        "bootstrap sont trop étroits. Le rapport ne donne donc le sens d'aucun écart ni "
        "d'aucun indice.",
        "These statistics rest on {n} IRIS, fewer than {least}: on so few zones not even an "
        "exact test can establish anything at the {alpha} level, and the bootstrap confidence "
        "intervals are too narrow. The report therefore states the direction of no gap or "
        "index.",
    ),
    "method_causal": (
        "Le lien entre revenu et chaleur est une association, pas une causalité (densité, "
        "hauteur du bâti, distance au centre, eau et relief jouent aussi).",
        "The link between income and heat is an association, not causation (density, building "
        "height, distance to the centre, water and relief play a part too).",
    ),
    "method_income": (
        "Revenu : revenu disponible médian par unité de consommation (INSEE Filosofi) ; les "
        "valeurs secrétisées restent manquantes, jamais mises à 0.",
        "Income: median disposable income per consumption unit (INSEE Filosofi); suppressed "
        "values stay missing, never set to 0.",
    ),
    "method_units": (
        "Les températures sont en kelvins (K) : une température en °C est la valeur en K moins "
        "273,15 (306,15 K = 33 °C) ; un écart de 1 K est un écart de 1 °C.",
        "Temperatures are in kelvin (K): a temperature in °C is the value in K minus 273.15 "
        "(306.15 K = 33 °C); a difference of 1 K is a difference of 1 °C.",
    ),
    "method_synthetic": (
        "Ce traitement porte sur des données synthétiques (ville de démonstration) : il montre la "
        "méthode et ses sorties, pas un territoire.",
        "This run processes synthetic data (the demo city): it shows the method and its "
        "outputs, not a place.",
    ),
    # --- about ----------------------------------------------------------------------------------
    "about_area": (
        "Zone d'étude : {description} ; {km2} km² (sur l'ellipsoïde WGS 84){iris} ; longitudes "
        "de {west} à {east} et latitudes de {south} à {north} (degrés, WGS 84).",
        "Area of interest: {description}; {km2} km² (on the WGS 84 ellipsoid){iris}; "
        "longitudes {west} to {east} and latitudes {south} to {north} (degrees, WGS 84).",
    ),
    "about_grid": (
        "Grille d'analyse : {crs}, pixels de {resolution} m, {width} × {height} pixels.",
        "Analysis grid: {crs}, {resolution} m pixels, {width} × {height} pixels.",
    ),
    "about_landsat": (
        "Température de surface : {n} scènes Landsat 8/9 ({dates}).",
        "Land surface temperature: {n} Landsat 8/9 scenes ({dates}).",
    ),
    "about_landsat_one": (
        "Température de surface : {n} scène Landsat 8/9 ({dates}).",
        "Land surface temperature: {n} Landsat 8/9 scene ({dates}).",
    ),
    "about_sentinel2_one": (
        "NDVI et occupation du sol : {n} scène Sentinel-2 ({dates}).",
        "NDVI and land cover: {n} Sentinel-2 scene ({dates}).",
    ),
    "about_sentinel2": (
        "NDVI et occupation du sol : {n} scènes Sentinel-2 ({dates}).",
        "NDVI and land cover: {n} Sentinel-2 scenes ({dates}).",
    ),
    "about_sentinel2_ndvi": (
        "NDVI : {n} scènes Sentinel-2 ({dates}).",
        "NDVI: {n} Sentinel-2 scenes ({dates}).",
    ),
    "about_sentinel2_ndvi_one": (
        "NDVI : {n} scène Sentinel-2 ({dates}).",
        "NDVI: {n} Sentinel-2 scene ({dates}).",
    ),
    "about_landcover_map": (
        "Occupation du sol : carte {name}, recodée en classes ilots (correspondance "
        "{mapping}), chaque pixel de la grille prenant la classe de la carte en son centre.",
        "Land cover: map {name}, recoded to ilots classes (mapping {mapping}), each grid "
        "pixel taking the map's class at its centre.",
    ),
    "about_landcover_map_table": ("de la configuration", "of the config"),
    "about_landcover_credit": ("Mention : {attribution}.", "Credit: {attribution}."),
    "about_landsat_landcover": (
        "NDVI et occupation du sol : réflectance de surface des mêmes scènes Landsat.",
        "NDVI and land cover: surface reflectance of the same Landsat scenes.",
    ),
    "about_landsat_ndvi": (
        "NDVI : réflectance de surface des mêmes scènes Landsat.",
        "NDVI: surface reflectance of the same Landsat scenes.",
    ),
    "about_landcover_ndvi_only": (
        "Occupation du sol tirée du NDVI seul (les produits n'ont pas les bandes du NDBI) : "
        "bâti et sol nu non séparés, le sol nu compté comme bâti ; les parts de sol nu sont "
        "vides.",
        "Land cover from NDVI alone (the products lack the bands of NDBI): built and bare "
        "soil not separated, bare soil counted as built; the bare-soil shares are empty.",
    ),
    "about_census": ("Données socio-économiques : {tables}.", "Census data: {tables}."),
    "about_census_filosofi": ("revenus INSEE Filosofi {year}", "income INSEE Filosofi {year}"),
    "about_census_population": (
        "population du recensement {year}",
        "population from the {year} census",
    ),
    "about_duration": ("Durée du traitement : {seconds} s.", "Run time: {seconds} s."),
    "about_duration_report": (
        "Durée du traitement jusqu'à ce rapport : {seconds} s (celle du traitement entier est "
        "dans manifest.json).",
        "Run time up to this report: {seconds} s (the whole run's is in manifest.json).",
    ),
    "about_inputs": (
        "{n} fichiers d'entrée (voir manifest.json).",
        "{n} input files (see manifest.json).",
    ),
    "about_inputs_one": (
        "{n} fichier d'entrée (voir manifest.json).",
        "{n} input file (see manifest.json).",
    ),
    "about_files": ("Fichiers : {files}.", "Files: {files}."),
    "about_qgis": ("à ouvrir dans QGIS", "open it in QGIS"),
}

#: ``MESSAGES[key][lang]``: the text of message ``key`` in language ``lang``.
MESSAGES = MappingProxyType(
    {
        key: MappingProxyType(dict(zip(LANGUAGES, texts, strict=True)))
        for key, texts in _TABLE.items()
    }
)
