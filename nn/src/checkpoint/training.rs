//! The settings of a run that decide its trajectory besides the seed and
//! the optimizer ([`TrainingSettings`]): their `training.` metadata keys,
//! written and read back (floats in Rust's shortest round-trip form, so
//! bitwise), and the comparison [`Trainer::restore`] makes.
//!
//! [`Trainer::restore`]: crate::Trainer::restore

use crate::data::BatchOrder;
use crate::{Loss, SettingDifference, TrainConfig};
use autodiff::Reduction;
use optim::{Decay, Schedule};
use std::collections::HashMap;

/// The prefix of every key of this module.
const PREFIX: &str = "training.";
const BATCH_SIZE: &str = "training.batch_size";
const ORDER: &str = "training.order";
const DROP_LAST: &str = "training.drop_last";
const LOSS: &str = "training.loss";
const REDUCTION: &str = "training.loss.reduction";
const LABEL_SMOOTHING: &str = "training.loss.label_smoothing";
const SCHEDULE: &str = "training.schedule";
const LR: &str = "training.schedule.lr";
const WARMUP: &str = "training.schedule.warmup";
const EVERY: &str = "training.schedule.every";
const GAMMA: &str = "training.schedule.gamma";
const TOTAL: &str = "training.schedule.total";
const MIN_LR: &str = "training.schedule.min_lr";
const CLIP: &str = "training.clip_grad_norm";
const DROPOUT: &str = "training.dropout";

/// The parameters of a schedule, each one's key.
const SCHEDULE_PARAMETERS: [&str; 6] = [LR, WARMUP, EVERY, GAMMA, TOTAL, MIN_LR];

const ORDERS: [(&str, BatchOrder); 3] = [
    ("reshuffled", BatchOrder::Reshuffled),
    ("cyclic", BatchOrder::Cyclic),
    ("with_replacement", BatchOrder::WithReplacement),
];
const REDUCTIONS: [(&str, Reduction); 2] = [("mean", Reduction::Mean), ("sum", Reduction::Sum)];
const BOOLS: [(&str, bool); 2] = [("false", false), ("true", true)];

/// The settings of a [`TrainConfig`] that decide a run's trajectory besides
/// its seed (in the [`Progress`](super::Progress)) and its optimizer (in
/// the optimizer's state): a run resumed from a checkpoint continues
/// bitwise as if never stopped only with the same ones, which
/// [`Trainer::restore`](crate::Trainer::restore) checks.
///
/// Not among them: `epochs` (resuming to train longer is legitimate; a
/// schedule's length, though, is counted in steps and is part of the
/// schedule) and `early_stopping` (its state lives in one call of `fit`,
/// see [`EarlyStopping`](crate::EarlyStopping)).
///
/// ```
/// use nn::checkpoint::TrainingSettings;
/// use nn::TrainConfig;
/// let config = TrainConfig { batch_size: 64, clip_grad_norm: Some(1.0), ..Default::default() };
/// let settings = TrainingSettings::of(&config);
/// assert_eq!((settings.batch_size, settings.clip_grad_norm), (64, Some(1.0)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainingSettings {
    /// [`TrainConfig::batch_size`].
    pub batch_size: usize,
    /// [`TrainConfig::order`].
    pub order: BatchOrder,
    /// [`TrainConfig::drop_last`].
    pub drop_last: bool,
    /// [`TrainConfig::loss`]: its kind and its reduction.
    pub loss: Loss,
    /// [`TrainConfig::schedule`], with all its parameters.
    pub schedule: Option<Schedule>,
    /// [`TrainConfig::clip_grad_norm`].
    pub clip_grad_norm: Option<f64>,
    /// [`TrainConfig::dropout`].
    pub dropout: Option<f64>,
}

/// One setting: its name (the field's), its metadata entries and its value
/// as `{:?}` prints it.
type Setting = (&'static str, Vec<(&'static str, String)>, String);

impl TrainingSettings {
    /// The settings of `config`.
    pub fn of(config: &TrainConfig) -> Self {
        TrainingSettings {
            batch_size: config.batch_size,
            order: config.order,
            drop_last: config.drop_last,
            loss: config.loss,
            schedule: config.schedule,
            clip_grad_norm: config.clip_grad_norm,
            dropout: config.dropout,
        }
    }

    /// Each setting, in the order of the fields.
    fn each(&self) -> [Setting; 7] {
        let loss = match self.loss {
            Loss::CrossEntropy(_) | Loss::SmoothedCrossEntropy { .. } => "cross_entropy",
            Loss::LeastSquares(_) => "least_squares",
        };
        let reduction = self.loss.reduction();
        let mut loss_entries = vec![
            (LOSS, loss.to_string()),
            (REDUCTION, name_of(&REDUCTIONS, reduction).to_string()),
        ];
        // (0 and -0 alike: both are the plain loss.)
        if let Some(eps) = self.loss.label_smoothing() {
            let eps = if eps == 0.0 { 0.0 } else { eps };
            loss_entries.push((LABEL_SMOOTHING, format!("{eps:?}")));
        }
        let optional = |v: Option<f64>| match v {
            Some(v) => format!("{v:?}"),
            None => "none".to_string(),
        };
        [
            (
                "batch_size",
                vec![(BATCH_SIZE, self.batch_size.to_string())],
                format!("{:?}", self.batch_size),
            ),
            (
                "order",
                vec![(ORDER, name_of(&ORDERS, self.order).to_string())],
                format!("{:?}", self.order),
            ),
            (
                "drop_last",
                vec![(DROP_LAST, self.drop_last.to_string())],
                format!("{:?}", self.drop_last),
            ),
            ("loss", loss_entries, format!("{:?}", self.loss)),
            (
                "schedule",
                schedule_entries(self.schedule),
                format!("{:?}", self.schedule),
            ),
            (
                "clip_grad_norm",
                vec![(CLIP, optional(self.clip_grad_norm))],
                format!("{:?}", self.clip_grad_norm),
            ),
            (
                "dropout",
                vec![(DROPOUT, optional(self.dropout))],
                format!("{:?}", self.dropout),
            ),
        ]
    }

    /// The metadata entries that record them.
    pub(super) fn encode(&self) -> Vec<(&'static str, String)> {
        self.each()
            .into_iter()
            .flat_map(|(_, entries, _)| entries)
            .collect()
    }

    /// The first setting out of the range a trainer runs with (the checks
    /// of [`Trainer::fit`](crate::Trainer::fit) and [`Batcher::new`]): its
    /// key, its value and the range in words. A NaN or an infinity is never
    /// in range.
    ///
    /// [`Batcher::new`]: crate::data::Batcher::new
    pub(super) fn out_of_range(&self) -> Option<(&'static str, String, &'static str)> {
        if self.batch_size == 0 {
            return Some((BATCH_SIZE, "0".into(), ">= 1"));
        }
        if let Some(c) = self.clip_grad_norm.filter(|c| !(c.is_finite() && *c > 0.0)) {
            return Some((CLIP, format!("{c:?}"), "a finite number > 0, or none"));
        }
        if let Some(eps) = self
            .loss
            .label_smoothing()
            .filter(|&eps| autodiff::mat::check_label_smoothing(eps).is_err())
        {
            return Some((LABEL_SMOOTHING, format!("{eps:?}"), "in [0, 1]"));
        }
        if let Some(p) = self
            .dropout
            .filter(|&p| autodiff::mat::check_drop_probability(p).is_err())
        {
            return Some((
                DROPOUT,
                format!("{p:?}"),
                "a drop probability in [0, 1), or none",
            ));
        }
        None
    }

    /// The settings that `self` and `other` record differently, in the
    /// order of the fields (floats compared bitwise, through their shortest
    /// round-trip form), with both values as `{:?}` prints them, `self`'s
    /// as the checkpoint's; empty when they record the same.
    pub(crate) fn differences(&self, other: &Self) -> Vec<SettingDifference> {
        self.each()
            .into_iter()
            .zip(other.each())
            .filter(|(a, b)| a.1 != b.1)
            .map(
                |((setting, _, checkpoint), (_, _, trainer))| SettingDifference {
                    setting,
                    checkpoint,
                    trainer,
                },
            )
            .collect()
    }
}

/// The text of `value` among `options`.
fn name_of<V: PartialEq>(options: &[(&'static str, V)], value: V) -> &'static str {
    options
        .iter()
        .find(|(_, v)| *v == value)
        .map(|(name, _)| *name)
        .expect("every value has a name")
}

/// The entries of a schedule: its decay's name (`none` without one), and
/// with one its peak rate, warm-up and the decay's parameters.
fn schedule_entries(schedule: Option<Schedule>) -> Vec<(&'static str, String)> {
    let Some(s) = schedule else {
        return vec![(SCHEDULE, "none".to_string())];
    };
    let (name, params) = match s.decay() {
        Decay::Constant => ("constant", vec![]),
        Decay::Step { every, gamma } => (
            "step",
            vec![(EVERY, every.to_string()), (GAMMA, format!("{gamma:?}"))],
        ),
        Decay::Exponential { gamma } => ("exponential", vec![(GAMMA, format!("{gamma:?}"))]),
        Decay::Cosine { total, min_lr } => (
            "cosine",
            vec![(TOTAL, total.to_string()), (MIN_LR, format!("{min_lr:?}"))],
        ),
    };
    let mut entries = vec![
        (SCHEDULE, name.to_string()),
        (LR, format!("{:?}", s.lr())),
        (WARMUP, s.warmup().to_string()),
    ];
    entries.extend(params);
    entries
}

/// The value among `options` that `text`, the value of `key`, names.
fn choose<V: Copy>(key: &str, text: &str, options: &[(&str, V)]) -> Result<V, String> {
    options
        .iter()
        .find(|(name, _)| *name == text)
        .map(|&(_, v)| v)
        .ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
            format!(
                "metadata {key} = {text:?} is not one of {}",
                names.join(", ")
            )
        })
}

/// `text`, the value of `key`, parsed as `what`.
fn number<V: std::str::FromStr>(key: &str, text: &str, what: &str) -> Result<V, String> {
    text.parse()
        .map_err(|_| format!("metadata {key} = {text:?} is not {what}"))
}

/// The settings recorded in `meta`, if any: a file written before they were
/// recorded has no `training.` key. One that has some must have them all,
/// each well-formed, and a schedule's keys must be those of its decay;
/// only `training.dropout`, recorded since dropout exists, may be missing
/// (no dropout).
pub(super) fn decode(meta: &HashMap<String, String>) -> Result<Option<TrainingSettings>, String> {
    let Some(first) = meta.keys().filter(|k| k.starts_with(PREFIX)).min() else {
        return Ok(None);
    };
    let get = |key: &str| meta.get(key).map(String::as_str);
    let require = |key: &str| {
        get(key).ok_or_else(|| {
            format!(
                "metadata {key} is missing (the file records the training settings: it has {first})"
            )
        })
    };
    let kind = require(LOSS)?;
    if !matches!(kind, "cross_entropy" | "least_squares") {
        return Err(format!(
            "metadata {LOSS} = {kind:?} is not one of cross_entropy, least_squares"
        ));
    }
    let reduction = choose(REDUCTION, require(REDUCTION)?, &REDUCTIONS)?;
    // Recorded for a cross-entropy since label smoothing exists: a file
    // without it was written before, by a run without smoothing.
    let smoothing = match get(LABEL_SMOOTHING) {
        Some(_) if kind == "least_squares" => {
            return Err(format!(
                "metadata {LABEL_SMOOTHING} is given for {LOSS} = \"least_squares\", \
                 which has no label smoothing"
            ))
        }
        Some(text) => number(LABEL_SMOOTHING, text, "a number")?,
        None => 0.0,
    };
    let loss = match kind {
        "least_squares" => Loss::LeastSquares(reduction),
        _ if smoothing == 0.0 => Loss::CrossEntropy(reduction),
        _ => Loss::SmoothedCrossEntropy {
            reduction,
            label_smoothing: smoothing,
        },
    };
    let optional = |key: &str| match require(key)? {
        "none" => Ok(None),
        text => number(key, text, "a number or none").map(Some),
    };
    let settings = TrainingSettings {
        batch_size: number(BATCH_SIZE, require(BATCH_SIZE)?, "an unsigned integer")?,
        order: choose(ORDER, require(ORDER)?, &ORDERS)?,
        drop_last: choose(DROP_LAST, require(DROP_LAST)?, &BOOLS)?,
        loss,
        schedule: decode_schedule(require(SCHEDULE)?, &get, &require)?,
        clip_grad_norm: optional(CLIP)?,
        // Recorded since dropout exists: a file that records the other
        // settings without it was written before, by a run without dropout.
        dropout: match get(DROPOUT) {
            Some(_) => optional(DROPOUT)?,
            None => None,
        },
    };
    // A value no run trains with (a NaN bound, a dropout of 2) is a
    // corrupt file, not settings to compare against a trainer's.
    if let Some((key, _, expected)) = settings.out_of_range() {
        return Err(format!(
            "metadata {key} = {:?} is out of range: expected {expected}",
            get(key).unwrap_or_default()
        ));
    }
    Ok(Some(settings))
}

/// The schedule whose decay is named `name`, its parameters read with
/// `get` and `require`.
fn decode_schedule<'m>(
    name: &str,
    get: &dyn Fn(&str) -> Option<&'m str>,
    require: &dyn Fn(&str) -> Result<&'m str, String>,
) -> Result<Option<Schedule>, String> {
    let takes: &[&str] = match name {
        "none" => &[],
        "constant" => &[LR, WARMUP],
        "step" => &[LR, WARMUP, EVERY, GAMMA],
        "exponential" => &[LR, WARMUP, GAMMA],
        "cosine" => &[LR, WARMUP, TOTAL, MIN_LR],
        other => {
            return Err(format!(
                "metadata {SCHEDULE} = {other:?} is not one of none, constant, step, \
                 exponential, cosine"
            ))
        }
    };
    if let Some(key) = SCHEDULE_PARAMETERS
        .iter()
        .find(|k| !takes.contains(k) && get(k).is_some())
    {
        return Err(format!(
            "metadata {key} is present but {SCHEDULE} = {name:?} takes no such parameter"
        ));
    }
    if name == "none" {
        return Ok(None);
    }
    let float = |key: &str| number::<f64>(key, require(key)?, "a number");
    let count = |key: &str| number::<u64>(key, require(key)?, "an unsigned integer");
    let decay = match name {
        "constant" => Decay::Constant,
        "step" => Decay::Step {
            every: count(EVERY)?,
            gamma: float(GAMMA)?,
        },
        "exponential" => Decay::Exponential {
            gamma: float(GAMMA)?,
        },
        _ => Decay::Cosine {
            total: count(TOTAL)?,
            min_lr: float(MIN_LR)?,
        },
    };
    let (lr, warmup) = (float(LR)?, count(WARMUP)?);
    let schedule = Schedule::new(lr, decay)
        .map_err(|e| format!("metadata {SCHEDULE} = {name:?} is not a valid schedule: {e}"))?;
    Ok(Some(schedule.with_warmup(warmup)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(entries: &[(&str, String)]) -> HashMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn round_trip(s: &TrainingSettings) -> TrainingSettings {
        decode(&meta(&s.encode())).unwrap().unwrap()
    }

    /// Every variant of every setting, each in at least one of them.
    fn variety() -> Vec<TrainingSettings> {
        let base = TrainingSettings::of(&TrainConfig::default());
        let schedules = [
            None,
            Some(Schedule::constant(0.1 + 0.2).unwrap()),
            Some(Schedule::constant(1e-3).unwrap().with_warmup(u64::MAX)),
            Some(Schedule::step(2e-3, 30, 0.1).unwrap().with_warmup(5)),
            Some(Schedule::exponential(1e-2, 0.999).unwrap()),
            Some(Schedule::cosine(1e-2, 1305, 1e-5).unwrap().with_warmup(100)),
            Some(Schedule::cosine(1e-2, 1, 0.0).unwrap()),
        ];
        let losses = [
            Loss::CrossEntropy(Reduction::Mean),
            Loss::CrossEntropy(Reduction::Sum),
            Loss::LeastSquares(Reduction::Mean),
            Loss::LeastSquares(Reduction::Sum),
            Loss::SmoothedCrossEntropy {
                reduction: Reduction::Mean,
                label_smoothing: 0.1 + 0.2,
            },
            Loss::SmoothedCrossEntropy {
                reduction: Reduction::Sum,
                label_smoothing: 1.0,
            },
        ];
        let clips = [
            None,
            Some(1.0),
            Some(0.1 + 0.7),
            Some(f64::MIN_POSITIVE / 3.0),
        ];
        let mut all = Vec::new();
        for (k, schedule) in schedules.into_iter().enumerate() {
            all.push(TrainingSettings {
                batch_size: [1, 32, usize::MAX][k % 3],
                order: ORDERS[k % 3].1,
                drop_last: k % 2 == 1,
                loss: losses[k % 6],
                schedule,
                clip_grad_norm: clips[k % 4],
                dropout: [None, Some(0.5), Some(0.1 + 0.2)][k % 3],
            });
        }
        all.push(base);
        all
    }

    #[test]
    fn every_setting_round_trips_through_its_metadata_bitwise() {
        for s in variety() {
            let back = round_trip(&s);
            assert_eq!(back, s);
            assert_eq!(back.differences(&s), [], "{s:?}");
            assert_eq!(
                back.clip_grad_norm.map(f64::to_bits),
                s.clip_grad_norm.map(f64::to_bits)
            );
            assert_eq!(back.dropout.map(f64::to_bits), s.dropout.map(f64::to_bits));
            assert_eq!(
                back.schedule.map(|x| x.lr().to_bits()),
                s.schedule.map(|x| x.lr().to_bits())
            );
        }
    }

    #[test]
    fn the_metadata_of_a_cosine_run_reads_as_documented() {
        let s = TrainingSettings {
            batch_size: 64,
            order: BatchOrder::WithReplacement,
            drop_last: true,
            loss: Loss::LeastSquares(Reduction::Sum),
            schedule: Some(
                Schedule::cosine(0.1 + 0.2, 90, 0.0)
                    .unwrap()
                    .with_warmup(10),
            ),
            clip_grad_norm: Some(0.5),
            dropout: Some(0.25),
        };
        let mut entries = s.encode();
        entries.sort();
        let want = [
            ("training.batch_size", "64"),
            ("training.clip_grad_norm", "0.5"),
            ("training.drop_last", "true"),
            ("training.dropout", "0.25"),
            ("training.loss", "least_squares"),
            ("training.loss.reduction", "sum"),
            ("training.order", "with_replacement"),
            ("training.schedule", "cosine"),
            ("training.schedule.lr", "0.30000000000000004"),
            ("training.schedule.min_lr", "0.0"),
            ("training.schedule.total", "90"),
            ("training.schedule.warmup", "10"),
        ];
        let got: Vec<(&str, &str)> = entries.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(got, want);
        let plain = TrainingSettings::of(&TrainConfig::default()).encode();
        assert!(plain.contains(&(LABEL_SMOOTHING, "0.0".to_string())));
        assert!(plain.contains(&(SCHEDULE, "none".to_string())));
        assert!(plain.contains(&(CLIP, "none".to_string())));
        assert!(!plain
            .iter()
            .any(|(k, _)| k.starts_with("training.schedule.")));
    }

    #[test]
    fn settings_written_before_dropout_was_recorded_read_as_without_dropout() {
        // As the version before dropout wrote them: every key but
        // training.dropout. Such a file loaded with an error (its model
        // too), when it was trained without dropout.
        for dropout in [None, Some(0.5)] {
            let s = TrainingSettings {
                dropout,
                ..TrainingSettings::of(&TrainConfig::default())
            };
            let mut m = meta(&s.encode());
            assert!(m.remove(DROPOUT).is_some());
            let back = decode(&m).unwrap().unwrap();
            assert_eq!(back.dropout, None);
            assert_eq!(back, TrainingSettings { dropout: None, ..s });
        }
    }

    #[test]
    fn settings_written_before_label_smoothing_was_recorded_read_as_without_it() {
        for reduction in [Reduction::Mean, Reduction::Sum] {
            let s = TrainingSettings {
                loss: Loss::CrossEntropy(reduction),
                ..TrainingSettings::of(&TrainConfig::default())
            };
            let mut m = meta(&s.encode());
            assert_eq!(m.remove(LABEL_SMOOTHING).as_deref(), Some("0.0"));
            assert_eq!(decode(&m).unwrap().unwrap(), s);
        }
    }

    #[test]
    fn a_smoothing_of_zero_is_the_plain_cross_entropy_and_any_other_differs() {
        let a = TrainingSettings::of(&TrainConfig::default());
        let smoothed = |label_smoothing| TrainingSettings {
            loss: Loss::SmoothedCrossEntropy {
                reduction: Reduction::Mean,
                label_smoothing,
            },
            ..a
        };
        // Both compute the same loss bitwise, so a resumed run continues.
        assert_eq!(a.differences(&smoothed(0.0)), []);
        assert_eq!(a.differences(&smoothed(-0.0)), []);
        assert_eq!(round_trip(&smoothed(0.0)), a);
        assert_eq!(
            a.differences(&smoothed(0.1)),
            [SettingDifference {
                setting: "loss",
                checkpoint: "CrossEntropy(Mean)".into(),
                trainer: "SmoothedCrossEntropy { reduction: Mean, label_smoothing: 0.1 }".into(),
            }]
        );
        // Bitwise: the next float differs.
        let next = f64::from_bits(0.1f64.to_bits() + 1);
        assert_eq!(smoothed(0.1).differences(&smoothed(0.1)), []);
        assert_eq!(
            smoothed(0.1).differences(&smoothed(next))[0].setting,
            "loss"
        );
    }

    #[test]
    fn a_file_without_training_keys_records_no_settings() {
        let other = meta(&[("progress.seed", "3".to_string())]);
        assert_eq!(decode(&other).unwrap(), None);
    }

    #[test]
    fn the_differences_name_every_differing_setting_and_both_values() {
        let a = TrainingSettings::of(&TrainConfig::default());
        let b = TrainingSettings {
            loss: Loss::CrossEntropy(Reduction::Sum),
            clip_grad_norm: Some(1.0),
            ..a
        };
        let named = |setting, checkpoint: &str, trainer: &str| SettingDifference {
            setting,
            checkpoint: checkpoint.into(),
            trainer: trainer.into(),
        };
        assert_eq!(
            a.differences(&b),
            [
                named("loss", "CrossEntropy(Mean)", "CrossEntropy(Sum)"),
                named("clip_grad_norm", "None", "Some(1.0)"),
            ]
        );
        // Floats bitwise: -0.0 is not 0.0.
        let zero = |min_lr| TrainingSettings {
            schedule: Some(Schedule::cosine(1.0, 10, min_lr).unwrap()),
            ..a
        };
        assert_eq!(zero(0.0).differences(&zero(0.0)), []);
        assert_eq!(zero(0.0).differences(&zero(-0.0))[0].setting, "schedule");
    }

    #[test]
    fn malformed_or_incomplete_settings_are_named_by_their_key() {
        let good = TrainingSettings {
            schedule: Some(Schedule::step(0.1, 10, 0.5).unwrap()),
            ..TrainingSettings::of(&TrainConfig::default())
        }
        .encode();
        let with = |key: &str, value: Option<&str>| {
            let mut m = meta(&good);
            match value {
                Some(v) => m.insert(key.to_string(), v.to_string()),
                None => m.remove(key),
            };
            decode(&m).unwrap_err()
        };
        let cases = [
            (BATCH_SIZE, Some("-1"), "metadata training.batch_size = \"-1\" is not an unsigned integer"),
            (ORDER, Some("random"), "metadata training.order = \"random\" is not one of reshuffled, cyclic, with_replacement"),
            (DROP_LAST, Some("yes"), "metadata training.drop_last = \"yes\" is not one of false, true"),
            (LOSS, Some("hinge"), "metadata training.loss = \"hinge\" is not one of cross_entropy, least_squares"),
            (REDUCTION, Some("max"), "metadata training.loss.reduction = \"max\" is not one of mean, sum"),
            (SCHEDULE, Some("linear"), "metadata training.schedule = \"linear\" is not one of none, constant, step, exponential, cosine"),
            (GAMMA, Some("x"), "metadata training.schedule.gamma = \"x\" is not a number"),
            (EVERY, Some("1.5"), "metadata training.schedule.every = \"1.5\" is not an unsigned integer"),
            (GAMMA, Some("1.5"), "metadata training.schedule = \"step\" is not a valid schedule: "),
            (TOTAL, Some("10"), "metadata training.schedule.total is present but training.schedule = \"step\" takes no such parameter"),
            (CLIP, Some("big"), "metadata training.clip_grad_norm = \"big\" is not a number or none"),
            (DROPOUT, Some("half"), "metadata training.dropout = \"half\" is not a number or none"),
            (LABEL_SMOOTHING, Some("some"), "metadata training.loss.label_smoothing = \"some\" is not a number"),
            (ORDER, None, "metadata training.order is missing (the file records the training settings: it has training.batch_size)"),
            (GAMMA, None, "metadata training.schedule.gamma is missing (the file records the training settings: it has training.batch_size)"),
            (BATCH_SIZE, None, "metadata training.batch_size is missing (the file records the training settings: it has training.clip_grad_norm)"),
        ];
        for (key, value, want) in cases {
            let e = with(key, value);
            assert!(e.starts_with(want), "{key} = {value:?}: {e}");
        }
        let ranges = [
            (BATCH_SIZE, "0", "metadata training.batch_size = \"0\" is out of range: expected >= 1"),
            (CLIP, "NaN", "metadata training.clip_grad_norm = \"NaN\" is out of range: expected a finite number > 0, or none"),
            (CLIP, "inf", "metadata training.clip_grad_norm = \"inf\" is out of range: expected a finite number > 0, or none"),
            (CLIP, "0", "metadata training.clip_grad_norm = \"0\" is out of range: expected a finite number > 0, or none"),
            (DROPOUT, "1", "metadata training.dropout = \"1\" is out of range: expected a drop probability in [0, 1), or none"),
            (DROPOUT, "NaN", "metadata training.dropout = \"NaN\" is out of range: expected a drop probability in [0, 1), or none"),
            (DROPOUT, "-0.5", "metadata training.dropout = \"-0.5\" is out of range: expected a drop probability in [0, 1), or none"),
            (LABEL_SMOOTHING, "1.5", "metadata training.loss.label_smoothing = \"1.5\" is out of range: expected in [0, 1]"),
            (LABEL_SMOOTHING, "NaN", "metadata training.loss.label_smoothing = \"NaN\" is out of range: expected in [0, 1]"),
        ];
        for (key, value, want) in ranges {
            assert_eq!(with(key, Some(value)), want);
        }
        let mut squares = meta(
            &TrainingSettings {
                loss: Loss::LeastSquares(Reduction::Mean),
                ..TrainingSettings::of(&TrainConfig::default())
            }
            .encode(),
        );
        squares.insert(LABEL_SMOOTHING.to_string(), "0.0".to_string());
        assert_eq!(
            decode(&squares).unwrap_err(),
            "metadata training.loss.label_smoothing is given for training.loss = \"least_squares\", which has no label smoothing"
        );
        let none = meta(&TrainingSettings::of(&TrainConfig::default()).encode());
        let mut stray = none.clone();
        stray.insert(LR.to_string(), "0.1".to_string());
        assert_eq!(
            decode(&stray).unwrap_err(),
            "metadata training.schedule.lr is present but training.schedule = \"none\" takes no such parameter"
        );
    }
}
