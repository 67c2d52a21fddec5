//! [`ParamGroups`]' state: the groups' settings and buffers, prefixed
//! `group{k}.`, written and read back.

use super::ParamGroups;
use crate::{Error, Float, Optimizer, OptimizerState, Result};

impl<T: Float> ParamGroups<T> {
    /// [`Optimizer::state`]: see the type's documentation, "State".
    pub(super) fn export(&self) -> OptimizerState<T> {
        let mut settings = vec![("groups".to_string(), self.groups.len() as f64)];
        // The length fixed by a step: kept even where no group keeps a
        // buffer (stateless methods), so that a resumed run refuses another.
        if let Some(n) = self.len {
            settings.push(("params".to_string(), n as f64));
        }
        let mut buffers = Vec::new();
        for (k, g) in self.groups.iter().enumerate() {
            let s = g.optimizer.state();
            let p = format!("group{k}.");
            settings.push((format!("{p}start"), g.range.start as f64));
            settings.push((format!("{p}end"), g.range.end as f64));
            settings.push((format!("{p}lr_scale"), g.lr_scale));
            settings.push((format!("{p}method.{}", s.optimizer), 1.0));
            settings.push((format!("{p}learning_rate"), s.learning_rate));
            settings.extend(s.settings.into_iter().map(|(n, v)| (format!("{p}{n}"), v)));
            for (name, b) in s.buffers {
                let full = match (b.is_empty(), self.len) {
                    (false, Some(n)) => {
                        let mut full = vec![T::ZERO; n];
                        full[g.range.clone()].copy_from_slice(&b);
                        full
                    }
                    _ => b,
                };
                buffers.push((format!("{p}{name}"), full));
            }
        }
        OptimizerState {
            optimizer: Self::NAME.into(),
            steps: self.steps(),
            learning_rate: self.learning_rate(),
            settings,
            buffers,
        }
    }

    /// [`Optimizer::load_state`]: the groups' layout and methods checked
    /// here, each group's own state by its optimizer; on error every group
    /// is put back.
    pub(super) fn import(&mut self, state: &OptimizerState<T>) -> Result<()> {
        if state.optimizer != Self::NAME {
            return Err(Error::WrongOptimizer {
                expected: Self::NAME,
                got: state.optimizer.clone(),
            });
        }
        let count = self.groups.len() as f64;
        match state.setting("groups") {
            None => {
                return Err(Error::MissingGroupSetting {
                    setting: "groups".into(),
                })
            }
            Some(got) if got != count => {
                return Err(Error::SettingMismatch {
                    optimizer: Self::NAME,
                    setting: "groups".into(),
                    expected: count,
                    got,
                })
            }
            Some(_) => {}
        }
        // Every other entry belongs to a group.
        // Only as `state` writes the index: `group01.` or `group+1.` is no
        // group's (its entries would be ignored).
        let group_of = |name: &str| -> Option<usize> {
            let (k, _) = name.strip_prefix("group")?.split_once('.')?;
            let g: usize = k.parse().ok().filter(|&g| g < self.groups.len())?;
            (g.to_string() == k).then_some(g)
        };
        if let Some((name, _)) = state
            .settings
            .iter()
            .find(|(n, _)| n != "groups" && n != "params" && group_of(n).is_none())
        {
            return Err(Error::UnexpectedSetting {
                optimizer: Self::NAME,
                setting: name.clone(),
            });
        }
        // A buffer under a group's own setting names would be dropped.
        let reserved = |name: &str| {
            name.split_once('.')
                .is_some_and(|(_, rest)| is_group_setting(rest))
        };
        if let Some((name, _)) = state
            .buffers
            .iter()
            .find(|(n, _)| group_of(n).is_none() || reserved(n))
        {
            return Err(Error::UnexpectedState {
                optimizer: Self::NAME,
                entry: name.clone(),
            });
        }
        for k in 0..self.groups.len() {
            let p = format!("group{k}.");
            let method = format!("{p}method.");
            let mut methods = state
                .settings
                .iter()
                .filter_map(|(n, _)| Some((n, n.strip_prefix(&method)?)));
            let got = methods.next().map(|(_, m)| m);
            if let Some((second, _)) = methods.next() {
                return Err(Error::UnexpectedSetting {
                    optimizer: Self::NAME,
                    setting: second.clone(),
                });
            }
            let name = self.groups[k].optimizer.name();
            match got {
                None => {
                    return Err(Error::MissingGroupSetting {
                        setting: format!("{method}{name}"),
                    })
                }
                Some(got) if got != name => {
                    let e = Error::WrongOptimizer {
                        expected: name,
                        got: got.to_string(),
                    };
                    return Err(self.in_group(k, e));
                }
                Some(_) => {}
            }
            let g = &self.groups[k];
            let layout = [
                ("start", Some(g.range.start as f64)),
                ("end", Some(g.range.end as f64)),
                ("lr_scale", Some(g.lr_scale)),
                // State, restored: not compared.
                ("learning_rate", None),
            ];
            for (key, ours) in layout {
                let setting = format!("{p}{key}");
                let Some(got) = state.setting(&setting) else {
                    return Err(Error::MissingGroupSetting { setting });
                };
                if let Some(expected) = ours.filter(|&e| got != e) {
                    return Err(Error::SettingMismatch {
                        optimizer: Self::NAME,
                        setting,
                        expected,
                        got,
                    });
                }
            }
        }
        // Buffers: one entry per parameter, of one length, the recorded
        // one if any.
        let recorded = match state.setting("params") {
            // (Whole and within 2^53, where f64 holds every integer.)
            Some(v) if v >= 0.0 && v.fract() == 0.0 && v <= (1u64 << 53) as f64 => Some(v as usize),
            Some(value) => {
                return Err(Error::InvalidState {
                    optimizer: Self::NAME,
                    entry: "params".into(),
                    index: 0,
                    value,
                    expected: "a whole number of parameters",
                })
            }
            None => None,
        };
        let len = recorded.or_else(|| state.buffers.iter().map(|(_, b)| b.len()).find(|&n| n != 0));
        if let Some((name, b)) = state
            .buffers
            .iter()
            .find(|(_, b)| !b.is_empty() && Some(b.len()) != len)
        {
            return Err(Error::LengthMismatch {
                optimizer: Self::NAME,
                what: format!("state buffer {name:?}"),
                expected: len.unwrap_or(0),
                got: b.len(),
            });
        }
        if let Some(n) = len {
            self.fits(n)?;
        }
        // Each group's own state, from its prefixed entries.
        let inner: Vec<OptimizerState<T>> = (0..self.groups.len())
            .map(|k| self.inner_state(k, state))
            .collect();
        let saved: Vec<OptimizerState<T>> =
            self.groups.iter().map(|g| g.optimizer.state()).collect();
        for (k, state) in inner.iter().enumerate() {
            if let Err(e) = self.groups[k].optimizer.load_state(state) {
                // Undo: each saved state is one the group held.
                for (g, s) in self.groups[..k].iter_mut().zip(&saved) {
                    let _ = g.optimizer.load_state(s);
                }
                return Err(self.in_group(k, e));
            }
        }
        self.len = len;
        Ok(())
    }
    /// Every group's range fits in `len` parameters.
    pub(super) fn fits(&self, len: usize) -> Result<()> {
        match self
            .groups
            .iter()
            .enumerate()
            .find(|(_, g)| g.range.end > len)
        {
            Some((group, g)) => Err(Error::GroupOutOfRange {
                group,
                start: g.range.start,
                end: g.range.end,
                len,
            }),
            None => Ok(()),
        }
    }

    /// Group `k`'s own state within `state`: its settings and buffers
    /// without the prefix `group{k}.`, its buffers cut to its range.
    fn inner_state(&self, k: usize, state: &OptimizerState<T>) -> OptimizerState<T> {
        let g = &self.groups[k];
        let p = format!("group{k}.");
        let own = |n: &str| -> Option<String> {
            let rest = n.strip_prefix(&p)?;
            (!is_group_setting(rest)).then(|| rest.to_string())
        };
        OptimizerState {
            optimizer: g.optimizer.name().to_string(),
            steps: state.steps,
            learning_rate: state
                .setting(&format!("{p}learning_rate"))
                .unwrap_or(f64::NAN),
            settings: state
                .settings
                .iter()
                .filter_map(|(n, v)| Some((own(n)?, *v)))
                .collect(),
            buffers: state
                .buffers
                .iter()
                .filter_map(|(n, b)| {
                    let b = if b.is_empty() {
                        Vec::new()
                    } else {
                        b[g.range.clone()].to_vec()
                    };
                    Some((own(n)?, b))
                })
                .collect(),
        }
    }
}

/// `group{k}.{name}` is one of the group's own settings, not its
/// optimizer's.
fn is_group_setting(name: &str) -> bool {
    matches!(name, "start" | "end" | "lr_scale" | "learning_rate") || name.starts_with("method.")
}
