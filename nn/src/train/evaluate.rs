//! Evaluation without gradients, and the checks that a data set fits a
//! network.

use crate::data::{Dataset, Targets};
use crate::{BatchTargets, Error, Loss, Mlp, Result};
use autodiff::Shape;

use super::Scalar;

/// The loss (with the configured reduction) and, for classification, the
/// accuracy of `mlp` on a whole data set.
///
/// # Errors
/// [`Error::EmptyData`] for a data set of no sample (its loss and accuracy
/// would be NaN); [`Error::InputWidth`] unless its samples have the
/// network's input width; [`Error::Targets`] unless its targets fit the
/// network's output width (as [`Trainer::fit`](super::Trainer::fit)); label errors.
/// Outputs holding a NaN give a NaN loss and no accuracy (no class is the
/// largest), not an error: the trainer reports the loss.
pub fn evaluate<T: Scalar>(
    mlp: &Mlp<T>,
    loss: Loss,
    data: &Dataset<T>,
) -> Result<(f64, Option<f64>)> {
    if data.is_empty() {
        return Err(Error::EmptyData { what: "evaluation" });
    }
    check_fits(mlp, loss, data, "evaluation")?;
    let x = data.features().as_slice();
    let out = mlp.predict(x)?;
    match data.targets() {
        Targets::Classes { labels, .. } => {
            let l = loss.value(out.as_slice(), out.cols(), BatchTargets::Classes(labels))?;
            // From the same outputs: one forward pass for both.
            let accuracy = crate::mlp::argmax_rows(&out)
                .ok()
                .map(|pred| crate::mlp::fraction_right(&pred, labels));
            Ok((l, accuracy))
        }
        Targets::Values(v) => Ok((
            loss.value(
                out.as_slice(),
                out.cols(),
                BatchTargets::Values(v.as_slice()),
            )?,
            None,
        )),
    }
}

/// `data` (the `what` set) must fit the network and the loss: its samples
/// have the input width, its targets are of the loss's kind, and they fit
/// the output width: one output per target value (regression), at least
/// one per class (classification); otherwise every batch would fail, or
/// only those that hold a high label, with a message about a batch's
/// length.
pub(super) fn check_fits<T: Scalar>(
    mlp: &Mlp<T>,
    loss: Loss,
    data: &Dataset<T>,
    what: &str,
) -> Result<()> {
    if data.n_features() != mlp.widths()[0] {
        return Err(Error::InputWidth {
            expected: mlp.widths()[0],
            got: Shape::new(data.len(), data.n_features()),
        });
    }
    let wrong_kind = match (loss.takes_classes(), data.targets()) {
        (true, Targets::Values(_)) => Some(format!(
            "cross-entropy needs class labels, the {what} set has real target vectors"
        )),
        (false, Targets::Classes { .. }) => Some(format!(
            "least squares needs real target vectors, the {what} set has class labels"
        )),
        _ => None,
    };
    if let Some(message) = wrong_kind {
        return Err(Error::Targets(message));
    }
    let outputs = *mlp.widths().last().expect("a network has layers");
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let (fits, theirs) = match data.targets() {
        Targets::Classes { .. } => {
            let classes = data.n_classes().unwrap_or(0);
            (
                classes <= outputs,
                format!(
                    "{} (one output per class)",
                    plural(classes, "class", "classes")
                ),
            )
        }
        Targets::Values(_) => {
            let n = data.n_outputs();
            (
                n == outputs,
                format!("{} per sample", plural(n, "target value", "target values")),
            )
        }
    };
    if fits {
        return Ok(());
    }
    Err(Error::Targets(format!(
        "the network has {}, the {what} set {theirs}",
        plural(outputs, "output", "outputs")
    )))
}
