//! The loss and accuracy curves of a run, drawn with `--plot`.

use crate::plot;

/// At most this many points of the mini-batch loss are plotted (means of
/// consecutive steps beyond).
const MAX_BATCH_POINTS: usize = 1000;

/// The loss and accuracy curves of the epochs in `history`, and the
/// mini-batch losses, into the SVG file `path`.
pub fn write_plot(
    path: &std::path::Path,
    history: &nn::History,
    batch_losses: &[(f64, f64)],
) -> Result<(), String> {
    let curve = |f: &dyn Fn(&nn::EpochReport) -> Option<f64>| -> Vec<(f64, f64)> {
        history
            .epochs
            .iter()
            .filter_map(|r| f(r).map(|v| ((r.epoch + 1) as f64, v)))
            .collect()
    };
    let series = |label: &str, points: Vec<(f64, f64)>| plot::Series {
        label: label.into(),
        points,
        faint: false,
    };
    let per = batch_losses.len().div_ceil(MAX_BATCH_POINTS).max(1);
    let batches = batch_losses
        .chunks(per)
        .map(|c| {
            let mean = c.iter().map(|p| p.1).sum::<f64>() / c.len() as f64;
            (c[c.len() - 1].0, mean)
        })
        .collect();
    let losses = vec![
        series("train", curve(&|r| Some(r.train_loss))),
        series("test", curve(&|r| r.test_loss)),
        plot::Series {
            label: "mini-batch".into(),
            points: batches,
            faint: true,
        },
    ];
    let accuracy = vec![
        series("train", curve(&|r| r.train_accuracy.map(|a| 100.0 * a))),
        series("test", curve(&|r| r.test_accuracy.map(|a| 100.0 * a))),
    ];
    plot::svg(
        path,
        &[
            ("cross-entropy loss", "epoch", "loss", losses, true),
            ("accuracy", "epoch", "accuracy (%)", accuracy, false),
        ],
    )
}
