//! longitudinal.csv end to end (SPEC §12): the product's rows on a small generated export
//! against lme4/lmerTest, the planted slopes recovered on a larger one, and the table's
//! header, keys and suppression on the bundled sample.

use crate::util::{self, assert_covered, Row, Table, WorkDir};
use iop_outcomes::assert_close;
use iop_outcomes::stats::prec::{Tol, LMM_DF, LMM_FIXED, LMM_P, LMM_VARIANCE};
use iop_outcomes::synth::model;
use std::path::Path;

fn run(input: &Path, out: &Path, extra: &[&str]) {
    util::run(input, out, extra).success();
}

/// REML criterion: ours may not be higher than R's by more than this (SPEC L4; lower is a
/// better optimum: reported for review, not failed).
const REML_ABS: f64 = 1e-6;
/// t = slope / se: what LMM_FIXED on both implies.
const T: Tol = Tol::rel_abs(2e-5, 0.0);
/// CI bounds (slope's and change_at_horizon's), relative to the half-width: what the
/// fixed-effect and df tolerances imply (qt moves far less than df).
const CI_REL: f64 = 1e-3;
/// `[longitudinal] horizon_weeks` by default.
const HORIZON: f64 = 8.0;

/// One row of longitudinal.csv as R computed it (tests/r/longitudinal_reference.R).
struct Ref {
    instrument: &'static str,
    track: &'static str,
    modality: &'static str,
    n_episodes: u64,
    n_assessments: u64,
    n_without_followup: u64,
    slope: f64,
    se: f64,
    df: f64,
    t: f64,
    p: f64,
    ci: (f64, f64),
    random: &'static str,
    sd_intercept: f64,
    sd_slope: Option<f64>,
    corr: Option<f64>,
    sigma: f64,
    reml: f64,
    singular: bool,
}

// `iop-outcomes synth --episodes 300 --seed 15` (clean), then
// `Rscript tests/r/longitudinal_reference.R DIR` (lme4 1.1-31, lmerTest 3.1-3, R 4.2.2):
const REFERENCE: &[Ref] = &[
    // R: GAD7 x co_occurring: 160 rows, 53 episodes
    //   score ~ 0 + m1 + m1_t + m2 + m2_t + m3 + m3_t + m4 + m4_t + (1 + t | episode_id)
    //   score ~ 1 + t + (1 + t | episode_id)
    //   REMLcrit by optimizer: bobyqa_0.2 830.26684327886676, bobyqa_1 830.26684327886653, Nelder_Mead 830.26684327967109, nloptwrap 830.26684327886665
    Ref {
        instrument: "GAD7",
        track: "co_occurring",
        modality: "CBT",
        n_episodes: 9,
        n_assessments: 37,
        n_without_followup: 1,
        // summary(as_lmerModLmerTest(fit))$coefficients["m1_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.54744263182499153,
        se: 0.11827502128316514,
        df: 18.429548842314265,
        t: -4.6285566122566628,
        p: 0.0001971553082837738,
        ci: (-0.79551473927430894, -0.29937052437567413),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 2.4007531937352233,
        sd_slope: Some(0.15985799757864513),
        corr: Some(0.74410784061679436),
        sigma: 2.5516083497126631,
        reml: 830.26684327886653,
        singular: false,
    },
    Ref {
        instrument: "GAD7",
        track: "co_occurring",
        modality: "CRA",
        n_episodes: 16,
        n_assessments: 48,
        n_without_followup: 3,
        // summary(as_lmerModLmerTest(fit))$coefficients["m2_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.51276433627655238,
        se: 0.096329435358976673,
        df: 19.173158431282058,
        t: -5.3230285671841564,
        p: 3.7702147910692245e-05,
        ci: (-0.71426098962650297, -0.31126768292660179),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 2.4007531937352233,
        sd_slope: Some(0.15985799757864513),
        corr: Some(0.74410784061679436),
        sigma: 2.5516083497126631,
        reml: 830.26684327886653,
        singular: false,
    },
    Ref {
        instrument: "GAD7",
        track: "co_occurring",
        modality: "DBT",
        n_episodes: 15,
        n_assessments: 43,
        n_without_followup: 6,
        // summary(as_lmerModLmerTest(fit))$coefficients["m3_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.59019213804705251,
        se: 0.12896837273797335,
        df: 26.410420039481842,
        t: -4.5762548252520272,
        p: 9.9559015041514868e-05,
        ci: (-0.85509006647628505, -0.32529420961781996),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 2.4007531937352233,
        sd_slope: Some(0.15985799757864513),
        corr: Some(0.74410784061679436),
        sigma: 2.5516083497126631,
        reml: 830.26684327886653,
        singular: false,
    },
    Ref {
        instrument: "GAD7",
        track: "co_occurring",
        modality: "MI",
        n_episodes: 13,
        n_assessments: 32,
        n_without_followup: 5,
        // summary(as_lmerModLmerTest(fit))$coefficients["m4_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.28057671538318102,
        se: 0.13874086605143293,
        df: 27.514292252732364,
        t: -2.0223076543227561,
        p: 0.052964235683402215,
        ci: (-0.56500068831490724, 0.0038472575485451466),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 2.4007531937352233,
        sd_slope: Some(0.15985799757864513),
        corr: Some(0.74410784061679436),
        sigma: 2.5516083497126631,
        reml: 830.26684327886653,
        singular: false,
    },
    //   REMLcrit by optimizer: bobyqa_0.2 839.38294255875462, bobyqa_1 839.38294255875451, Nelder_Mead 839.38294256091365, nloptwrap 839.38294255875462
    Ref {
        instrument: "GAD7",
        track: "co_occurring",
        modality: "All",
        n_episodes: 53,
        n_assessments: 160,
        n_without_followup: 15,
        // summary(as_lmerModLmerTest(fit))$coefficients["t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.49322846788786079,
        se: 0.060404773285895809,
        df: 25.921485019897588,
        t: -8.1653889429136726,
        p: 1.2303218320058496e-08,
        ci: (-0.61741056424066931, -0.36904637153505226),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 2.4863426748752988,
        sd_slope: Some(0.1827725499824111),
        corr: Some(0.84428011654476465),
        sigma: 2.5294168595690811,
        reml: 839.38294255875451,
        singular: false,
    },
    // R: GAD7 x All: 492 rows, 169 episodes
    //   score ~ 0 + m1 + m1_t + m2 + m2_t + m3 + m3_t + m4 + m4_t + m5 + m5_t + (1 + t | episode_id)
    //   score ~ 1 + t + (1 + t | episode_id)
    //   REMLcrit by optimizer: bobyqa_0.2 2548.2937378898973, bobyqa_1 2548.2937378898969, Nelder_Mead 2548.2937379039245, nloptwrap 2548.2937378898969
    Ref {
        instrument: "GAD7",
        track: "All",
        modality: "CBT",
        n_episodes: 68,
        n_assessments: 217,
        n_without_followup: 18,
        // summary(as_lmerModLmerTest(fit))$coefficients["m1_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.59128205716559379,
        se: 0.052052246349134509,
        df: 87.733176857100091,
        t: -11.359395581117418,
        p: 6.4013349741525004e-19,
        ci: (-0.69472934372507544, -0.48783477060611213),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 2.4156603458672694,
        sd_slope: Some(0.18180900858265722),
        corr: Some(0.67561275668550891),
        sigma: 2.4337699476076082,
        reml: 2548.2937378898969,
        singular: false,
    },
    Ref {
        instrument: "GAD7",
        track: "All",
        modality: "CRA",
        n_episodes: 16,
        n_assessments: 48,
        n_without_followup: 3,
        // summary(as_lmerModLmerTest(fit))$coefficients["m2_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.51167053731801337,
        se: 0.097016538709528824,
        df: 62.160621731184179,
        t: -5.2740547552410035,
        p: 1.7882935133757395e-06,
        ci: (-0.70559386710004623, -0.31774720753598051),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 2.4156603458672694,
        sd_slope: Some(0.18180900858265722),
        corr: Some(0.67561275668550891),
        sigma: 2.4337699476076082,
        reml: 2548.2937378898969,
        singular: false,
    },
    Ref {
        instrument: "GAD7",
        track: "All",
        modality: "DBT",
        n_episodes: 61,
        n_assessments: 169,
        n_without_followup: 26,
        // summary(as_lmerModLmerTest(fit))$coefficients["m3_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.57516426872091531,
        se: 0.060092471763700646,
        df: 90.012630834835448,
        t: -9.5713198648677995,
        p: 2.2219640424222869e-15,
        ci: (-0.69454822423141027, -0.45578031321042034),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 2.4156603458672694,
        sd_slope: Some(0.18180900858265722),
        corr: Some(0.67561275668550891),
        sigma: 2.4337699476076082,
        reml: 2548.2937378898969,
        singular: false,
    },
    Ref {
        instrument: "GAD7",
        track: "All",
        modality: "MI",
        n_episodes: 13,
        n_assessments: 32,
        n_without_followup: 5,
        // summary(as_lmerModLmerTest(fit))$coefficients["m4_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.28396021630919294,
        se: 0.13854542586880647,
        df: 90.413468378953638,
        t: -2.0495820380102971,
        p: 0.043302309519233535,
        ci: (-0.55918773911966646, -0.0087326934987194127),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 2.4156603458672694,
        sd_slope: Some(0.18180900858265722),
        corr: Some(0.67561275668550891),
        sigma: 2.4337699476076082,
        reml: 2548.2937378898969,
        singular: false,
    },
    Ref {
        instrument: "GAD7",
        track: "All",
        modality: "family",
        n_episodes: 11,
        n_assessments: 26,
        n_without_followup: 6,
        // summary(as_lmerModLmerTest(fit))$coefficients["m5_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.63040722430428819,
        se: 0.14427836416027687,
        df: 82.699257855124571,
        t: -4.3693815630178436,
        p: 3.5920702381492691e-05,
        ci: (-0.91738652177914159, -0.34342792682943479),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 2.4156603458672694,
        sd_slope: Some(0.18180900858265722),
        corr: Some(0.67561275668550891),
        sigma: 2.4337699476076082,
        reml: 2548.2937378898969,
        singular: false,
    },
    //   REMLcrit by optimizer: bobyqa_0.2 2555.5219761096814, bobyqa_1 2555.5219761096828, Nelder_Mead 2555.5219761150388, nloptwrap 2555.5219761096814
    Ref {
        instrument: "GAD7",
        track: "All",
        modality: "All",
        n_episodes: 169,
        n_assessments: 492,
        n_without_followup: 58,
        // summary(as_lmerModLmerTest(fit))$coefficients["t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.56133328101025559,
        se: 0.034312227105262931,
        df: 89.056227270025815,
        t: -16.359569994923362,
        p: 1.4215672791223355e-28,
        ci: (-0.62951035229058183, -0.4931562097299293),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 2.4410537209962833,
        sd_slope: Some(0.18363283003631498),
        corr: Some(0.74681245337111679),
        sigma: 2.4330110463561434,
        reml: 2555.5219761096814,
        singular: false,
    },
    // R: PHQ9 x mental_health: 279 rows, 89 episodes
    //   score ~ 0 + m1 + m1_t + m2 + m2_t + (1 + t | episode_id)
    //   score ~ 1 + t + (1 + t | episode_id)
    //   REMLcrit by optimizer: bobyqa_0.2 1565.1624166847903, bobyqa_1 1565.1624166847903, Nelder_Mead 1565.1624166859103, nloptwrap 1565.1624166847901
    Ref {
        instrument: "PHQ9",
        track: "mental_health",
        modality: "CBT",
        n_episodes: 50,
        n_assessments: 156,
        n_without_followup: 14,
        // summary(as_lmerModLmerTest(fit))$coefficients["m1_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.84792776656853319,
        se: 0.066410444312960448,
        df: 102.81061603376358,
        t: -12.767988158197797,
        p: 6.1688914109755656e-23,
        ci: (-0.97964010316359418, -0.71621542997347221),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 3.3649300993028035,
        sd_slope: Some(0.16175363260053008),
        corr: Some(0.99999999999998557),
        sigma: 2.9850578726979573,
        reml: 1565.1624166847901,
        singular: true,
    },
    Ref {
        instrument: "PHQ9",
        track: "mental_health",
        modality: "DBT",
        n_episodes: 39,
        n_assessments: 123,
        n_without_followup: 11,
        // summary(as_lmerModLmerTest(fit))$coefficients["m2_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.71878180795275981,
        se: 0.077636576204583446,
        df: 103.78635483334865,
        t: -9.258288336397877,
        p: 3.1012594644530886e-15,
        ci: (-0.87274178203200692, -0.5648218338735127),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 3.3649300993028035,
        sd_slope: Some(0.16175363260053008),
        corr: Some(0.99999999999998557),
        sigma: 2.9850578726979573,
        reml: 1565.1624166847901,
        singular: true,
    },
    //   REMLcrit by optimizer: bobyqa_0.2 1566.1390023695635, bobyqa_1 1566.1390023695633, Nelder_Mead 1566.1390023724307, nloptwrap 1566.1390023695633
    Ref {
        instrument: "PHQ9",
        track: "mental_health",
        modality: "All",
        n_episodes: 89,
        n_assessments: 279,
        n_without_followup: 25,
        // summary(as_lmerModLmerTest(fit))$coefficients["t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.79338991247387114,
        se: 0.050628453962951188,
        df: 102.71107207626655,
        t: -15.670830340868335,
        p: 5.4253607108311631e-29,
        ci: (-0.89380286697356137, -0.69297695797418091),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept+slope",
        sd_intercept: 3.3585107413485087,
        sd_slope: Some(0.16504808336447829),
        corr: Some(0.99999999999999478),
        sigma: 2.9840949176003457,
        reml: 1566.1390023695633,
        singular: true,
    },
    // R: DAYS_USED x substance_use: 134 rows, 72 episodes
    //   score ~ 0 + m1 + m1_t + m2 + m2_t + m3 + m3_t + m4 + m4_t + (1 | episode_id)
    //   score ~ 1 + t + (1 | episode_id)
    //   REMLcrit by optimizer: bobyqa_0.2 911.18621645180122, bobyqa_1 911.18621645180122, Nelder_Mead 911.18621645197641, nloptwrap 911.18621645180122
    Ref {
        instrument: "DAYS_USED",
        track: "substance_use",
        modality: "CBT",
        n_episodes: 23,
        n_assessments: 45,
        n_without_followup: 8,
        // summary(as_lmerModLmerTest(fit))$coefficients["m1_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.72624944431231497,
        se: 0.20161384822007525,
        df: 89.490714405242443,
        t: -3.6021803597516984,
        p: 0.00051783539966754116,
        ci: (-1.1268216008187038, -0.3256772878059262),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept",
        sd_intercept: 3.6280437204910552,
        sd_slope: None,
        corr: None,
        sigma: 6.9219973503759746,
        reml: 911.18621645180122,
        singular: false,
    },
    Ref {
        instrument: "DAYS_USED",
        track: "substance_use",
        modality: "CRA",
        n_episodes: 8,
        n_assessments: 13,
        n_without_followup: 3,
        // summary(as_lmerModLmerTest(fit))$coefficients["m2_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.57993997930539742,
        se: 0.46162827759623087,
        df: 86.895636780595964,
        t: -1.2562921455445357,
        p: 0.21237708154088314,
        ci: (-1.497491704881313, 0.33761174627051804),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept",
        sd_intercept: 3.6280437204910552,
        sd_slope: None,
        corr: None,
        sigma: 6.9219973503759746,
        reml: 911.18621645180122,
        singular: false,
    },
    Ref {
        instrument: "DAYS_USED",
        track: "substance_use",
        modality: "MI",
        n_episodes: 9,
        n_assessments: 15,
        n_without_followup: 4,
        // summary(as_lmerModLmerTest(fit))$coefficients["m3_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -1.159846685712262,
        se: 0.42905889473302294,
        df: 95.140797873297942,
        t: -2.7032342178431321,
        p: 0.0081338771893512216,
        ci: (-2.0116200287045856, -0.30807334271993858),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept",
        sd_intercept: 3.6280437204910552,
        sd_slope: None,
        corr: None,
        sigma: 6.9219973503759746,
        reml: 911.18621645180122,
        singular: false,
    },
    Ref {
        instrument: "DAYS_USED",
        track: "substance_use",
        modality: "TSF",
        n_episodes: 32,
        n_assessments: 61,
        n_without_followup: 14,
        // summary(as_lmerModLmerTest(fit))$coefficients["m4_t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.67841310616757111,
        se: 0.17270769079575296,
        df: 84.332477382074302,
        t: -3.9281001502699375,
        p: 0.00017451250424492634,
        ci: (-1.021841507802169, -0.33498470453297335),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept",
        sd_intercept: 3.6280437204910552,
        sd_slope: None,
        corr: None,
        sigma: 6.9219973503759746,
        reml: 911.18621645180122,
        singular: false,
    },
    //   REMLcrit by optimizer: bobyqa_0.2 926.80120738905964, bobyqa_1 926.80120738905964, Nelder_Mead 926.80120738906851, nloptwrap 926.80120738905964
    Ref {
        instrument: "DAYS_USED",
        track: "substance_use",
        modality: "All",
        n_episodes: 72,
        n_assessments: 134,
        n_without_followup: 29,
        // summary(as_lmerModLmerTest(fit))$coefficients["t", ]; Estimate -/+ qt(0.975, df) * SE
        slope: -0.72712865106865598,
        se: 0.11932726901273018,
        df: 93.293700519459861,
        t: -6.0935665173991689,
        p: 2.4564786170069009e-08,
        ci: (-0.96407912759434966, -0.49017817454296225),
        // as.data.frame(VarCorr(fit))$sdcor; sigma(fit); REMLcrit(fit); isSingular(fit, tol = 1e-4)
        random: "intercept",
        sd_intercept: 3.8609285310089927,
        sd_slope: None,
        corr: None,
        sigma: 6.8164350365546786,
        reml: 926.80120738905964,
        singular: false,
    },
];

/// The largest relative error seen per quantity (printed with `--nocapture`).
#[derive(Default)]
struct Worst(std::collections::BTreeMap<&'static str, f64>);

impl Worst {
    /// Checks `got` against `want` under `tol` and records |got − want| / |want|.
    fn check(&mut self, what: &'static str, got: f64, want: f64, tol: Tol, name: &str) {
        assert_close!(got, want, tol, "{name} {what}");
        self.see(what, (got - want).abs() / want.abs());
    }

    fn see(&mut self, what: &'static str, e: f64) {
        let w = self.0.entry(what).or_insert(0.0);
        *w = w.max(e);
    }
}

/// A CI bound within CI_REL of the half-width of R's interval.
fn ci_close(got: f64, want: (f64, f64), bound: f64, what: &str) -> f64 {
    let half = (want.1 - want.0) / 2.0;
    assert_close!(
        got,
        bound,
        Tol::rel_abs(CI_REL * half / bound.abs(), 0.0),
        "{what}"
    );
    (got - bound).abs() / half
}

fn check_row(r: &Row, want: &Ref, worst: &mut Worst) {
    let name = format!("{}/{}/{}", want.instrument, want.track, want.modality);
    assert_eq!(
        r.cells(&[
            "status",
            "n_episodes",
            "n_assessments",
            "n_without_followup",
            "random_part"
        ]),
        [
            "ok",
            &want.n_episodes.to_string(),
            &want.n_assessments.to_string(),
            &want.n_without_followup.to_string(),
            want.random
        ],
        "{name}: counts"
    );
    let num = |c: &str| r.num(c).unwrap_or_else(|| panic!("{name}: {c} empty"));
    let reml = num("reml_criterion");
    eprintln!("{name}: REML ours {reml:.17e}, R {:.17e}", want.reml);
    assert!(
        reml <= want.reml + REML_ABS,
        "{name}: REML above R's optimum"
    );
    worst.see("reml (absolute)", (reml - want.reml).abs());
    if reml < want.reml - REML_ABS {
        eprintln!(
            "{name}: a better optimum than R's by {:e}: review",
            want.reml - reml
        );
        return;
    }
    assert_eq!(
        r.get("singular"),
        want.singular.to_string(),
        "{name}: singular"
    );
    worst.check("sigma", num("sd_residual"), want.sigma, LMM_VARIANCE, &name);
    if !want.singular {
        worst.check(
            "sd_intercept",
            num("sd_intercept"),
            want.sd_intercept,
            LMM_VARIANCE,
            &name,
        );
        match (r.num("sd_slope"), want.sd_slope) {
            (Some(g), Some(w)) => worst.check("sd_slope", g, w, LMM_VARIANCE, &name),
            (g, w) => assert_eq!(g, w, "{name}: sd_slope"),
        }
        match (r.num("corr"), want.corr) {
            (Some(g), Some(w)) => worst.check("corr", g, w, LMM_VARIANCE, &name),
            (g, w) => assert_eq!(g, w, "{name}: corr"),
        }
    }
    worst.check("slope", num("slope"), want.slope, LMM_FIXED, &name);
    worst.check("slope_se", num("slope_se"), want.se, LMM_FIXED, &name);
    worst.check("df", num("df"), want.df, LMM_DF, &name);
    worst.check("t", num("t"), want.t, T, &name);
    worst.check("p", num("p"), want.p, LMM_P, &name);
    let change = want.slope * HORIZON;
    worst.check(
        "change_at_horizon",
        num("change_at_horizon"),
        change,
        LMM_FIXED,
        &name,
    );
    for (col, bound, scale) in [
        ("slope_ci_low", want.ci.0, 1.0),
        ("slope_ci_high", want.ci.1, 1.0),
        ("change_ci_low", want.ci.0, HORIZON),
        ("change_ci_high", want.ci.1, HORIZON),
    ] {
        let ci = (want.ci.0 * scale, want.ci.1 * scale);
        worst.see(
            "CI bounds (of the half-width)",
            ci_close(num(col), ci, bound * scale, &format!("{name} {col}")),
        );
    }
}

#[test]
fn a_generated_exports_models_equal_lme4_and_lmertest() {
    let w = WorkDir::new();
    let input = w.synth("s", 300, 15, 0.0);
    run(&input, &w.join("out"), &["--no-suppress"]);
    let t = Table::read(&w.join("out/all/longitudinal.csv"));
    let mut worst = Worst::default();
    for want in REFERENCE {
        let r = t.find(&[
            ("instrument", want.instrument),
            ("track", want.track),
            ("modality", want.modality),
        ]);
        check_row(&r, want, &mut worst);
    }
    eprintln!("worst relative errors against R: {:?}", worst.0);
}

#[test]
fn planted_slopes_lie_in_the_models_intervals() {
    // The LMM-clean instruments (data/README.md: clamping at the scale ends is negligible), on
    // the export data/README.md checks with R (seed 2026): every modality row, per track and
    // pooled over tracks, against the planted mean slope (no site effect: model::mean_slope
    // is the planted slope).
    let w = WorkDir::new();
    let input = w.synth("s", 20_000, 2026, 0.0);
    run(&input, &w.join("out"), &["--no-suppress"]);
    let t = Table::read(&w.join("out/all/longitudinal.csv"));
    let mut zs = Vec::new();
    eprintln!("instrument track modality: planted, estimate [95% CI], z");
    for r in t.iter() {
        let (inst, track, modality) = (r.get("instrument"), r.get("track"), r.get("modality"));
        let clean = model::SCORE_MODELS
            .iter()
            .any(|m| m.id == inst && m.lmm_clean);
        if !clean || modality == "All" {
            continue;
        }
        assert_eq!(r.get("status"), "ok", "{inst}/{track}/{modality}");
        let planted = model::mean_slope(inst, modality, &[]).unwrap();
        let (slope, se) = (r.num("slope").unwrap(), r.num("slope_se").unwrap());
        let (lo, hi) = (
            r.num("slope_ci_low").unwrap(),
            r.num("slope_ci_high").unwrap(),
        );
        let z = (slope - planted) / se;
        eprintln!("{inst} {track} {modality}: {planted:.4}, {slope:.4} [{lo:.4}, {hi:.4}], {z:.2}");
        zs.push((format!("{inst}/{track}/{modality}"), z));
    }
    // PCL-5 (mental health: CBT, DBT), EDE-Q and DERS (three modalities each), per track and
    // for all tracks pooled.
    assert_eq!(zs.len(), 16, "{zs:?}");
    assert_covered(&zs);
}

#[test]
fn the_table_has_its_columns_keys_and_suppression_on_the_sample() {
    let w = WorkDir::new();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    // The whole sample (protection of a one-quarter export with every table is minutes on a
    // small export): the run passes the disclosure audit (exit 0), and cells whose
    // n_without_followup would reveal outcomes.csv's withheld n_paired are blank.
    run(&sample, &w.join("out"), &[]);
    let t = Table::read(&w.join("out/all/longitudinal.csv"));
    assert_eq!(
        t.header,
        "period,followup,instrument,track,modality,status,n_episodes,n_assessments,n_without_followup,slope,slope_se,df,t,p,slope_ci_low,slope_ci_high,change_at_horizon,change_ci_low,change_ci_high,random_part,sd_intercept,sd_slope,corr,sd_residual,reml_criterion,singular,suppressed"
            .split(',')
            .collect::<Vec<_>>()
    );
    assert!(t.rows.len() > 50, "{} rows", t.rows.len());
    let stats = [
        "slope",
        "slope_se",
        "df",
        "t",
        "p",
        "slope_ci_low",
        "slope_ci_high",
        "change_at_horizon",
        "change_ci_low",
        "change_ci_high",
        "sd_intercept",
        "sd_slope",
        "corr",
        "sd_residual",
        "reml_criterion",
        "singular",
    ];
    let (mut small_rows, mut blank_parts) = (0, 0);
    for r in t.iter() {
        assert_eq!(r.cells(&["period", "followup"]), ["all", "discharge"]);
        // Every instrument x track has its All margin; each is a fitted or a named status,
        // or empty where its count is withheld.
        let withheld = r.get("n_episodes").is_empty();
        if withheld {
            assert_eq!(r.get("status"), "");
        } else {
            assert!(["ok", "too_few", "unidentified", "degenerate"].contains(&r.get("status")));
        }
        if withheld || r.get("n_assessments").is_empty() {
            assert_eq!(r.get("random_part"), "");
        } else {
            assert!(["intercept+slope", "intercept"].contains(&r.get("random_part")));
        }
        for c in ["n_episodes", "n_assessments", "n_without_followup"] {
            if let Some(n) = r.num(c) {
                assert!(n == 0.0 || n >= 11.0, "{c} = {n} published");
            }
        }
        let any_blank = ["n_episodes", "n_assessments", "n_without_followup"]
            .iter()
            .any(|c| r.get(c).is_empty());
        assert_eq!(r.get("suppressed") == "true", any_blank);
        if r.get("n_episodes").is_empty() {
            small_rows += 1;
            for c in stats {
                assert_eq!(r.get(c), "", "{c} of a small row");
            }
        } else if any_blank {
            blank_parts += 1;
        }
    }
    assert!(small_rows + blank_parts > 0, "{small_rows} {blank_parts}");
    // Margins: every instrument x track has an All row.
    for r in t.iter().filter(|r| r.get("modality") != "All") {
        t.find(&[
            ("instrument", r.get("instrument")),
            ("track", r.get("track")),
            ("modality", "All"),
        ]);
    }
}
