//! The learning-rate schedule of a run: `--schedule` and `--warmup` as
//! written, resolved against the run's length, recorded in a checkpoint
//! and checked on `--load`.

use crate::args::Args;
use crate::resume::resume_one;
use optim::{Decay, Schedule};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The metadata keys (`Checkpoint::extra`) of the schedule: the decay
/// (resolved, see [`ScheduleArg::resolve`]), the warm-up, and the peak
/// rate (only for a scheduled run, see [`Plan::is_scheduled`]).
pub const KEY_SCHEDULE: &str = "schedule";
pub const KEY_WARMUP: &str = "warmup";
pub const KEY_LR: &str = "lr";

/// What `--schedule` accepts, for the messages.
const SYNTAX: &str = "constant, step:EVERY:GAMMA, exponential:GAMMA, cosine, cosine:STEPS, \
                      cosine:STEPS:MIN_LR or cosine::MIN_LR";

/// A `--schedule`: the decay of the learning rate after the warm-up, by
/// optimizer step (mini-batch), as `optim::Decay`, except that a cosine's
/// length may be left to the run ([`ScheduleArg::resolve`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScheduleArg {
    /// `constant`.
    Constant,
    /// `step:EVERY:GAMMA`: times `GAMMA` every `EVERY` steps.
    Step { every: u64, gamma: f64 },
    /// `exponential:GAMMA`: times `GAMMA` every step.
    Exponential { gamma: f64 },
    /// `cosine[:STEPS[:MIN_LR]]`: annealed to `MIN_LR` (default 0) over
    /// `STEPS` steps, by default (`None`) every step of the run left after
    /// the warm-up.
    Cosine { total: Option<u64>, min_lr: f64 },
}

impl FromStr for ScheduleArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let bad = |what: &str| format!("{what} in {text:?}; use {SYNTAX}");
        let float = |s: &str, what: &str| s.parse::<f64>().map_err(|_| bad(what));
        let count = |s: &str, what: &str| s.parse::<u64>().map_err(|_| bad(what));
        Ok(match parts.as_slice() {
            ["constant"] => Self::Constant,
            ["step", every, gamma] => Self::Step {
                every: count(every, "EVERY is not a whole number of steps")?,
                gamma: float(gamma, "GAMMA is not a number")?,
            },
            ["exponential", gamma] => Self::Exponential {
                gamma: float(gamma, "GAMMA is not a number")?,
            },
            ["cosine", rest @ ..] if rest.len() <= 2 => {
                let total = match rest.first() {
                    None | Some(&"") => None,
                    Some(s) => Some(count(s, "STEPS is not a whole number of steps")?),
                };
                let min_lr = match rest.get(1) {
                    None => 0.0,
                    Some(s) => float(s, "MIN_LR is not a number")?,
                };
                Self::Cosine { total, min_lr }
            }
            _ => return Err(bad("unknown schedule")),
        })
    }
}

impl fmt::Display for ScheduleArg {
    /// The syntax it was parsed from, numbers in their shortest round-trip
    /// form (so that a recorded schedule reads back exactly).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Constant => write!(f, "constant"),
            Self::Step { every, gamma } => write!(f, "step:{every}:{gamma:?}"),
            Self::Exponential { gamma } => write!(f, "exponential:{gamma:?}"),
            Self::Cosine {
                total: None,
                min_lr: 0.0,
            } => write!(f, "cosine"),
            Self::Cosine { total, min_lr } => match total {
                Some(t) => write!(f, "cosine:{t}:{min_lr:?}"),
                None => write!(f, "cosine::{min_lr:?}"),
            },
        }
    }
}

impl ScheduleArg {
    /// With a cosine's length fixed: by default the `run_steps` of the run
    /// minus the `warmup` (at least 1). A resolved schedule does not depend
    /// on `--epochs`, so a resumed run, which may train to another epoch,
    /// keeps it.
    pub fn resolve(self, run_steps: u64, warmup: u64) -> Self {
        match self {
            Self::Cosine {
                total: None,
                min_lr,
            } => Self::Cosine {
                total: Some(run_steps.saturating_sub(warmup).max(1)),
                min_lr,
            },
            other => other,
        }
    }
}

/// The learning rate of a run: the peak rate `lr`, the resolved decay and
/// the warm-up steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub lr: f64,
    pub schedule: ScheduleArg,
    pub warmup: u64,
}

impl Plan {
    /// Whether the rate changes during the run (a decay, or a warm-up);
    /// otherwise the trainer runs without a schedule, as before schedules
    /// existed, and `--lr` may replace a checkpoint's rate on `--load`.
    pub fn is_scheduled(&self) -> bool {
        self.schedule != ScheduleArg::Constant || self.warmup > 0
    }

    /// The trainer's schedule, `None` when [`Plan::is_scheduled`] is false.
    ///
    /// # Errors
    /// `optim::Schedule`'s, e.g. a `GAMMA` outside `(0, 1]`, naming the
    /// flag.
    pub fn schedule(&self) -> Result<Option<Schedule>, String> {
        if !self.is_scheduled() {
            return Ok(None);
        }
        let decay = match self.schedule {
            ScheduleArg::Constant => Decay::Constant,
            ScheduleArg::Step { every, gamma } => Decay::Step { every, gamma },
            ScheduleArg::Exponential { gamma } => Decay::Exponential { gamma },
            ScheduleArg::Cosine { total, min_lr } => Decay::Cosine {
                total: total.expect("resolved by Plan::settle"),
                min_lr,
            },
        };
        let schedule = Schedule::new(self.lr, decay)
            .map_err(|e| format!("--schedule {}: {e}", self.schedule))?;
        Ok(Some(schedule.with_warmup(self.warmup)))
    }

    /// The metadata entries that record it: the schedule and the warm-up,
    /// and the peak rate when scheduled (a constant rate is the optimizer
    /// state's).
    pub fn extra(&self) -> Vec<(&'static str, String)> {
        let mut entries = vec![
            (KEY_SCHEDULE, self.schedule.to_string()),
            (KEY_WARMUP, self.warmup.to_string()),
        ];
        if self.is_scheduled() {
            entries.push((KEY_LR, format!("{:?}", self.lr)));
        }
        entries
    }

    /// The plan of a run of `run_steps` optimizer steps in all, with
    /// `default_lr` when `--lr` is not given. With a checkpoint's metadata
    /// `saved = (file, extra)`: the checkpoint's schedule, warm-up and (if
    /// scheduled) peak rate, refusing different ones given on the command
    /// line (`given(id)`). Also returns the flags the checkpoint does not
    /// record.
    pub fn settle(
        args: &Args,
        default_lr: f64,
        run_steps: u64,
        saved: Option<(&str, &BTreeMap<String, String>)>,
        given: &dyn Fn(&str) -> bool,
    ) -> Result<(Plan, Vec<&'static str>), String> {
        let ours = Plan {
            lr: args.lr.unwrap_or(default_lr),
            schedule: args.schedule.resolve(run_steps, args.warmup),
            warmup: args.warmup,
        };
        let mut unchecked = Vec::new();
        let Some((file, extra)) = saved else {
            return Ok((ours, unchecked));
        };
        let get = |k: &str| extra.get(k).map(String::as_str);
        // A cosine whose length is left to the run: the run is the one the
        // checkpoint was first written by, whose length it records (this
        // one's --epochs is the epoch to resume up to).
        let recorded = get(KEY_SCHEDULE).and_then(|t| t.parse::<ScheduleArg>().ok());
        let given_schedule = match (args.schedule, recorded) {
            (
                ScheduleArg::Cosine {
                    total: None,
                    min_lr,
                },
                Some(ScheduleArg::Cosine { total, .. }),
            ) => ScheduleArg::Cosine { total, min_lr },
            _ => ours.schedule,
        };
        let mut plan = Plan {
            schedule: resume_one(
                file,
                "--schedule",
                given_schedule,
                get(KEY_SCHEDULE),
                given("schedule"),
                &mut unchecked,
            )?,
            warmup: resume_one(
                file,
                "--warmup",
                ours.warmup,
                get(KEY_WARMUP),
                given("warmup"),
                &mut unchecked,
            )?,
            ..ours
        };
        if let ScheduleArg::Cosine { total: None, .. } = plan.schedule {
            return Err(format!(
                "{file}: the recorded --schedule {} has no length",
                plan.schedule
            ));
        }
        // The peak rate of a schedule is part of it; a constant one is the
        // optimizer state's, which --lr replaces. (A checkpoint that records
        // no schedule, from an older version, records no rate either.)
        if plan.is_scheduled() && extra.contains_key(KEY_SCHEDULE) {
            let mut no_lr = Vec::new();
            plan.lr = resume_one(file, "--lr", plan.lr, get(KEY_LR), given("lr"), &mut no_lr)?;
            if !no_lr.is_empty() {
                return Err(format!(
                    "{file} records a schedule but not its peak rate (metadata extra.{KEY_LR})"
                ));
            }
        }
        Ok((plan, unchecked))
    }
}

impl Plan {
    /// What to tell when the warm-up is as long as a run of `run_steps`
    /// steps or longer: the rate then reaches `--lr` at the last step at
    /// best, and any decay after the warm-up never starts; `None` otherwise.
    pub fn warmup_past_the_run(&self, run_steps: u64) -> Option<String> {
        let w = self.warmup;
        if w == 0 || w < run_steps {
            return None;
        }
        let decay = if self.schedule == ScheduleArg::Constant {
            String::new()
        } else {
            format!(
                ", and the --schedule {} after it never starts",
                self.schedule
            )
        };
        Some(if w == run_steps {
            format!(
                "the --warmup of {w} steps spans the whole run ({run_steps} steps): the rate \
                 reaches --lr {} only at the last step{decay}",
                self.lr
            )
        } else {
            format!(
                "the --warmup of {w} steps is longer than the run ({run_steps} steps): the \
                 rate ends at {:.2e}, below --lr {}{decay}",
                self.lr * run_steps as f64 / w as f64,
                self.lr
            )
        })
    }

    /// On resuming at step `done` of a run of `run_steps` steps in all:
    /// what to tell when the run goes past the end of a cosine decay (whose
    /// length was fixed by the run's first `--epochs`), after which the
    /// rate stays at `MIN_LR`; `None` otherwise.
    pub fn past_its_end(&self, done: u64, run_steps: u64) -> Option<String> {
        let ScheduleArg::Cosine {
            total: Some(total),
            min_lr,
        } = self.schedule
        else {
            return None;
        };
        let end = self.warmup.saturating_add(total);
        if run_steps <= end {
            return None;
        }
        let still = if min_lr == 0.0 {
            " (start a new run to anneal over more steps)"
        } else {
            ""
        };
        Some(if done >= end {
            format!(
                "the --schedule {} of the checkpoint (its length fixed when the run started) \
                 ended at step {end}: all {} steps left run at its MIN_LR {min_lr}{}{still}",
                self.schedule,
                run_steps - done,
                if min_lr == 0.0 {
                    ", so the network will not change"
                } else {
                    ""
                },
            )
        } else {
            format!(
                "the --schedule {} of the checkpoint (its length fixed when the run started) \
                 ends at step {end}: the {} steps after it run at its MIN_LR {min_lr}{still}",
                self.schedule,
                run_steps - end,
            )
        })
    }
}

impl fmt::Display for Plan {
    /// E.g. `lr 0.002, schedule cosine:90:0.0, warmup 5 steps`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lr {}, schedule {}", self.lr, self.schedule)?;
        if self.warmup > 0 {
            write!(f, ", warmup {} steps", self.warmup)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schedule_syntax_parses_and_prints_back_to_itself() {
        for text in [
            "constant",
            "step:30:0.5",
            "exponential:0.999",
            "cosine",
            "cosine:90:0.0",
            "cosine:90:1e-5",
            "cosine::0.001",
        ] {
            let s: ScheduleArg = text.parse().unwrap();
            assert_eq!(s.to_string(), text);
        }
        assert_eq!(
            "cosine:90".parse::<ScheduleArg>().unwrap(),
            ScheduleArg::Cosine {
                total: Some(90),
                min_lr: 0.0
            }
        );
    }

    #[test]
    fn malformed_schedules_are_refused_with_the_syntax() {
        for text in [
            "linear",
            "step:10",
            "step:x:0.5",
            "exponential",
            "cosine:1:2:3",
        ] {
            let e = text.parse::<ScheduleArg>().unwrap_err();
            assert!(e.contains(text) && e.contains("step:EVERY:GAMMA"), "{e}");
        }
    }

    #[test]
    fn a_cosine_without_length_spans_the_run_after_the_warmup() {
        let cosine: ScheduleArg = "cosine".parse().unwrap();
        let resolved = cosine.resolve(100, 10);
        assert_eq!(resolved.to_string(), "cosine:90:0.0");
        // Already resolved: kept whatever the run's length.
        assert_eq!(resolved.resolve(500, 0), resolved);
        let step: ScheduleArg = "step:5:0.5".parse().unwrap();
        assert_eq!(step.resolve(100, 10), step);
    }

    #[test]
    fn a_constant_rate_without_warmup_runs_unscheduled_and_out_of_range_factors_are_refused() {
        let plan = |schedule: &str, warmup| Plan {
            lr: 0.1,
            schedule: schedule.parse::<ScheduleArg>().unwrap().resolve(10, warmup),
            warmup,
        };
        assert_eq!(plan("constant", 0).schedule().unwrap(), None);
        assert!(!plan("constant", 0)
            .extra()
            .iter()
            .any(|(k, _)| *k == KEY_LR));
        let warm = plan("constant", 4).schedule().unwrap().unwrap();
        assert_eq!(warm.learning_rate(0), 0.025);
        let e = plan("exponential:1.5", 0).schedule().unwrap_err();
        assert!(
            e.starts_with("--schedule exponential:1.5: schedule: gamma"),
            "{e}"
        );
    }

    #[test]
    fn a_cosine_left_to_the_run_given_again_on_load_takes_the_recorded_length() {
        use clap::Parser;
        // First run: 1 epoch of 45 steps, the cosine's length left to it.
        let first = Args::parse_from(["digits", "--schedule", "cosine", "--warmup", "5"]);
        let (plan, _) = Plan::settle(&first, 0.05, 45, None, &|_| false).unwrap();
        assert_eq!(plan.schedule.to_string(), "cosine:40:0.0");
        let extra: BTreeMap<String, String> = plan
            .extra()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        // The same command line resumed to a later epoch: the length was
        // fixed by the first run, so the schedule given is the same one.
        let given = |id: &str| id == "schedule" || id == "warmup";
        let (resumed, _) = Plan::settle(&first, 0.05, 90, Some(("m.st", &extra)), &given).unwrap();
        assert_eq!(resumed, plan);
        // Another MIN_LR, or an explicit other length, is still refused.
        for other in ["cosine::0.001", "cosine:90"] {
            let args = Args::parse_from(["digits", "--schedule", other, "--warmup", "5"]);
            let e = Plan::settle(&args, 0.05, 90, Some(("m.st", &extra)), &given).unwrap_err();
            assert!(
                e.contains("was trained with --schedule cosine:40:0.0"),
                "{other}: {e}"
            );
        }
    }

    #[test]
    fn a_warmup_as_long_as_the_run_or_longer_is_told_the_rate_it_reaches() {
        let plan = |schedule: &str, warmup| Plan {
            lr: 2e-3,
            schedule: schedule
                .parse::<ScheduleArg>()
                .unwrap()
                .resolve(100, warmup),
            warmup,
        };
        assert_eq!(plan("cosine", 99).warmup_past_the_run(100), None);
        assert_eq!(plan("constant", 0).warmup_past_the_run(100), None);
        assert_eq!(
            plan("constant", 100).warmup_past_the_run(100).unwrap(),
            "the --warmup of 100 steps spans the whole run (100 steps): the rate reaches \
             --lr 0.002 only at the last step"
        );
        assert_eq!(
            plan("cosine", 400).warmup_past_the_run(100).unwrap(),
            "the --warmup of 400 steps is longer than the run (100 steps): the rate ends at \
             5.00e-4, below --lr 0.002, and the --schedule cosine:1:0.0 after it never starts"
        );
    }

    #[test]
    fn a_resumed_run_past_the_end_of_its_cosine_is_told_it_trains_at_min_lr() {
        // `--epochs 3 --schedule cosine --warmup 20` of 45 steps an epoch,
        // resumed at step 135 to epoch 8 (360 steps).
        let plan = Plan {
            lr: 2e-3,
            schedule: "cosine".parse::<ScheduleArg>().unwrap().resolve(135, 20),
            warmup: 20,
        };
        let note = plan.past_its_end(135, 360).unwrap();
        assert_eq!(
            note,
            "the --schedule cosine:115:0.0 of the checkpoint (its length fixed when the run \
             started) ended at step 135: all 225 steps left run at its MIN_LR 0, so the \
             network will not change (start a new run to anneal over more steps)"
        );
        // Resumed before the end: told how many steps run at MIN_LR.
        let note = plan.past_its_end(90, 360).unwrap();
        assert!(
            note.contains("ends at step 135: the 225 steps after it run at its MIN_LR 0"),
            "{note}"
        );
        // Within the schedule, or another decay: nothing to say.
        assert_eq!(plan.past_its_end(90, 135), None);
        let step = Plan {
            schedule: "step:10:0.5".parse().unwrap(),
            ..plan
        };
        assert_eq!(step.past_its_end(135, 360), None);
    }

    #[test]
    fn a_checkpoint_without_a_schedule_resumes_with_the_command_lines_noting_it_unchecked() {
        use clap::Parser;
        let args = Args::parse_from(["digits", "--schedule", "exponential:0.5", "--lr", "0.1"]);
        let (plan, unchecked) = Plan::settle(
            &args,
            0.05,
            100,
            Some(("old.st", &BTreeMap::new())),
            &|_| true,
        )
        .unwrap();
        assert_eq!(unchecked, ["--schedule", "--warmup"]);
        assert_eq!(plan.schedule.to_string(), "exponential:0.5");
        assert_eq!(plan.lr, 0.1);
        // One that records a schedule but lost its peak rate is refused.
        let extra: BTreeMap<String, String> =
            [(KEY_SCHEDULE, "exponential:0.5"), (KEY_WARMUP, "0")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let e = Plan::settle(&args, 0.05, 100, Some(("old.st", &extra)), &|_| false).unwrap_err();
        assert!(e.contains("extra.lr"), "{e}");
    }
}
