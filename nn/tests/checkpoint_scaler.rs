//! The feature scaler in a checkpoint: two tensors PyTorch reads, read back
//! bitwise, and refused when they cannot be the scaler of the network.

use nn::checkpoint::{load_checkpoint, load_into, save_checkpoint, Checkpoint, StoredDtype};
use nn::data::{digits, Standardizer};
use nn::Mlp;
use safetensors::{Dtype, SafeTensors};
use std::path::Path;

mod common;
use common::{reason, write_f32_safetensors, TempDir};

fn bits<T: Into<f64> + Copy>(v: &[T]) -> Vec<u64> {
    v.iter().map(|&x| x.into().to_bits()).collect()
}

#[test]
fn the_digits_scaler_round_trips_bitwise_as_two_tensors_of_the_input_width() {
    let dir = TempDir::new("scaler");
    let path = dir.path("m.safetensors");
    let (train, _) = digits::<f32>().unwrap().split(0.2, 0).unwrap();
    let scaler = Standardizer::fit_dataset(&train).unwrap();
    assert!(scaler.std.contains(&0.0), "digits has constant pixels");
    let mlp = Mlp::<f32>::builder(&[64, 16, 10]).build().unwrap();
    save_checkpoint(&path, &Checkpoint::new(&mlp).scaler(&scaler)).unwrap();

    // What PyTorch sees: two 1-D F32 tensors beside the parameters.
    let bytes = std::fs::read(&path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    for (name, values) in [("scaler.mean", &scaler.mean), ("scaler.std", &scaler.std)] {
        let t = file.tensor(name).unwrap();
        assert_eq!((t.dtype(), t.shape()), (Dtype::F32, &[64][..]), "{name}");
        let stored: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(bits(&stored), bits(values), "{name}");
    }

    let back = load_checkpoint::<f32>(&path).unwrap().state.scaler.unwrap();
    assert_eq!(bits(&back.mean), bits(&scaler.mean));
    assert_eq!(bits(&back.std), bits(&scaler.std));
    // An f32 file read as f64 widens exactly.
    let wide = load_checkpoint::<f64>(&path).unwrap().state;
    assert_eq!(wide.dtype, StoredDtype::F32);
    assert_eq!(bits(&wide.scaler.unwrap().std), bits(&scaler.std));
}

#[test]
fn an_f64_scaler_round_trips_bitwise_and_a_checkpoint_without_one_has_none() {
    let dir = TempDir::new("scaler64");
    let path = dir.path("m.safetensors");
    let scaler = Standardizer::new(vec![0.1 + 0.2, -3.5], vec![1e-300, 0.0]).unwrap();
    let mlp = Mlp::<f64>::builder(&[2, 3, 1]).build().unwrap();
    save_checkpoint(&path, &Checkpoint::new(&mlp).scaler(&scaler)).unwrap();
    let back = load_checkpoint::<f64>(&path).unwrap().state.scaler.unwrap();
    assert_eq!(bits(&back.mean), bits(&scaler.mean));
    assert_eq!(bits(&back.std), bits(&scaler.std));
    save_checkpoint(&path, &Checkpoint::new(&mlp)).unwrap();
    assert_eq!(load_checkpoint::<f64>(&path).unwrap().state.scaler, None);
}

#[test]
fn a_scaler_that_does_not_fit_the_network_is_not_written() {
    let dir = TempDir::new("scaler-write");
    let path = dir.path("m.safetensors");
    let mlp = Mlp::<f32>::builder(&[2, 3, 1]).build().unwrap();
    let three = Standardizer::new(vec![0.0; 3], vec![1.0; 3]).unwrap();
    let e = reason(
        save_checkpoint(&path, &Checkpoint::new(&mlp).scaler(&three)).unwrap_err(),
        &path,
    );
    assert_eq!(
        e,
        "the feature scaler has 3 features but the network's input width is 2"
    );
    let negative = Standardizer {
        mean: vec![0.0; 2],
        std: vec![1.0, -1.0],
    };
    let e = reason(
        save_checkpoint(&path, &Checkpoint::new(&mlp).scaler(&negative)).unwrap_err(),
        &path,
    );
    assert_eq!(
        e,
        "the feature scaler cannot be stored: Standardizer: std: -1 is outside the allowed \
         range finite and >= 0"
    );
    assert!(!path.exists());
}

/// Named 1-D tensors.
type Tensors<'a> = &'a [(&'a str, Vec<f32>)];

/// A [2, 3, 1] network of zeros with its architecture, plus `extra`
/// F32 tensors: what another program could write.
fn write_with(path: &Path, extra: Tensors) {
    let zeros = |n: usize| vec![0u8; 4 * n];
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = vec![
        ("layers.0.weight".into(), vec![3, 2], zeros(6)),
        ("layers.0.bias".into(), vec![3], zeros(3)),
        ("layers.2.weight".into(), vec![1, 3], zeros(3)),
        ("layers.2.bias".into(), vec![1], zeros(1)),
    ];
    for (name, values) in extra {
        let le = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((name.to_string(), vec![values.len()], le));
    }
    write_f32_safetensors(
        path,
        &tensors,
        &[("widths", "2,3,1"), ("activations", "relu,identity")],
    );
}

#[test]
fn half_a_scaler_a_wrong_shape_or_a_negative_std_is_refused_and_the_model_kept() {
    let dir = TempDir::new("scaler-read");
    let path = dir.path("m.safetensors");
    let cases: [(Tensors, &str); 4] = [
        (
            &[("scaler.mean", vec![0.0, 1.0])],
            "a feature scaler is stored as both tensors scaler.mean and scaler.std; the file \
             has only scaler.mean",
        ),
        (
            &[("scaler.mean", vec![0.0; 3]), ("scaler.std", vec![1.0; 3])],
            "tensor scaler.mean has shape [3] in the file but the model's input width implies [2]",
        ),
        (
            &[
                ("scaler.mean", vec![0.0; 2]),
                ("scaler.std", vec![1.0, -2.0]),
            ],
            "tensors scaler.mean and scaler.std are not a feature scaler: Standardizer: std: -2 \
             is outside the allowed range finite and >= 0",
        ),
        (
            &[
                ("scaler.mean", vec![f32::NAN, 0.0]),
                ("scaler.std", vec![1.0; 2]),
            ],
            "tensors scaler.mean and scaler.std are not a feature scaler: Standardizer: mean: NaN \
             is outside the allowed range finite",
        ),
    ];
    for (extra, want) in cases {
        write_with(&path, extra);
        let mut mlp = Mlp::<f32>::builder(&[2, 3, 1]).seed(6).build().unwrap();
        let before = mlp.clone();
        assert_eq!(reason(load_into(&path, &mut mlp).unwrap_err(), &path), want);
        assert_eq!(mlp, before, "a failed load leaves the model unchanged");
    }
    write_with(
        &path,
        &[
            ("scaler.mean", vec![0.5, 0.0]),
            ("scaler.std", vec![2.0, 0.0]),
        ],
    );
    let s = load_checkpoint::<f32>(&path).unwrap().state.scaler.unwrap();
    assert_eq!((s.mean, s.std), (vec![0.5, 0.0], vec![2.0, 0.0]));
}
